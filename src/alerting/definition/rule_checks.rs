//! What makes a rule definition usable: a valid name and patterns, the keys its kind reads and
//! none of the others', channels that exist, labels and grouping that make sense.

use std::time::Duration;

use super::*;
use crate::duration_text::format;

impl RuleDef {
    /// A span key (`horizon`, `window`): within `range` where the kind reads it (`applies`),
    /// absent where it does not.
    fn check_span(
        &self,
        field: &str,
        value: Option<Duration>,
        applies: bool,
        (least, most): (Duration, Duration),
    ) -> Result<(), DefinitionError> {
        match (applies, value) {
            (true, Some(span)) if span < least || span > most => Err(invalid(
                field,
                format!("must be between {} and {}", format(least), format(most)),
            )),
            (true, _) | (_, None) => Ok(()),
            (false, Some(_)) => {
                Err(invalid(field, format!("does not apply to {} rules", self.kind.as_str())))
            }
        }
    }

    /// Checks the rule on its own; `channel_exists` answers for the channels it names.
    pub fn validate(&self, channel_exists: impl Fn(&str) -> bool) -> Result<(), DefinitionError> {
        if !is_valid_name(&self.name) {
            return Err(invalid("name", "use 1-64 letters, digits, '.', '_' or '-'"));
        }
        for (field, pattern) in [
            ("cluster", Some(&self.cluster)),
            ("group", self.group.as_ref()),
            ("topic", self.topic.as_ref()),
        ] {
            if pattern.is_some_and(|p| p.trim().is_empty() || p.len() > 1000) {
                return Err(invalid(field, "must be a name or pattern (1-1000 characters)"));
            }
        }
        if self.group.is_some() && !self.kind.is_about_groups() {
            return Err(invalid(
                "group",
                format!("does not apply to {} rules", self.kind.as_str()),
            ));
        }
        for (field, value) in [("vhost", &self.vhost), ("queue", &self.queue)] {
            if value.is_some() && !self.kind.is_about_queues() {
                return Err(invalid(
                    field,
                    format!("does not apply to {} rules", self.kind.as_str()),
                ));
            }
        }
        match (self.kind.has_threshold(), self.threshold) {
            (true, None)
                if !matches!(
                    self.kind,
                    RuleKind::UnderReplicated | RuleKind::OfflinePartitions | RuleKind::CanaryLoss
                ) =>
            {
                return Err(invalid(
                    "threshold",
                    format!("{} rules need a threshold", self.kind.as_str()),
                ));
            }
            (true, Some(t)) if !t.is_finite() || t < 0.0 => {
                return Err(invalid("threshold", "must be a number of at least 0"));
            }
            (true, Some(t)) if self.kind == RuleKind::RetentionRisk && t >= 100.0 => {
                return Err(invalid("threshold", "is a percentage of the retention, below 100"));
            }
            (false, Some(_)) => {
                return Err(invalid(
                    "threshold",
                    format!("does not apply to {} rules", self.kind.as_str()),
                ));
            }
            _ => {}
        }
        let day = Duration::from_secs(86_400);
        let lag_forecast = self.kind == RuleKind::LagForecast;
        self.check_span("horizon", self.horizon, lag_forecast, (Duration::from_secs(60), 7 * day))?;
        let minute = Duration::from_secs(60);
        self.check_span("window", self.window, self.kind.has_window(), (minute, 60 * minute))?;
        match (self.kind, self.status) {
            (RuleKind::ConsumerStatus, None) => {
                return Err(invalid(
                    "status",
                    "consumer_status rules need a status: WARN, STALL or STOP",
                ));
            }
            (RuleKind::ConsumerStatus, Some(PartitionStatus::Ok | PartitionStatus::Notfound)) => {
                return Err(invalid("status", "must be WARN, REWIND, STALL or STOP"));
            }
            (RuleKind::ConsumerStatus, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(invalid(
                    "status",
                    format!("does not apply to {} rules", self.kind.as_str()),
                ));
            }
        }
        match (self.kind, self.metric) {
            (RuleKind::BrokerMetric, None) => {
                return Err(invalid(
                    "metric",
                    "broker_metric rules need a metric, e.g. request_handler_idle_percent",
                ));
            }
            (RuleKind::BrokerMetric, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(invalid(
                    "metric",
                    format!("does not apply to {} rules", self.kind.as_str()),
                ));
            }
        }
        if self.below && self.kind != RuleKind::BrokerMetric {
            return Err(invalid("below", "applies to broker_metric rules only"));
        }
        if self.repeat_interval.is_some_and(|r| r < Duration::from_secs(60)) {
            return Err(invalid("repeat_interval", "must be at least 1m"));
        }
        if self.channels.is_empty() {
            return Err(invalid("channels", "name at least one channel"));
        }
        if let Some(unknown) = self.channels.iter().find(|c| !channel_exists(c)) {
            return Err(invalid("channels", format!("there is no channel {unknown:?}")));
        }
        let labels = GROUP_LABELS;
        if let Some(bad) = self
            .group_by
            .iter()
            .flatten()
            .find(|l| !labels.contains(&l.as_str()) && l.as_str() != "subject")
        {
            let known = labels.join(", ");
            return Err(invalid(
                "group_by",
                format!("{bad:?} is not a label to group by ({known}, or subject)"),
            ));
        }
        if self.group_interval.is_some_and(|i| i > Duration::from_secs(24 * 3600))
            || self.group_wait.is_some_and(|w| w > Duration::from_secs(3600))
        {
            return Err(invalid("group_wait", "group_wait is at most 1h, group_interval 24h"));
        }
        if let Some((bad, _)) = self
            .labels
            .iter()
            .find(|(k, v)| !is_valid_name(k) || v.len() > 128 || v.chars().any(char::is_control))
        {
            return Err(invalid("labels", format!("{bad:?}: a label is a name = a short text")));
        }
        Ok(())
    }
}
