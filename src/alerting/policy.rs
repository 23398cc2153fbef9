//! What happens to a notice between the engine and the outbox: inhibition (an alert that
//! explains others holds them back), routes (which channels, by severity, cluster and the
//! rule's labels; first match wins, the rule's own channels are the default) and mute windows
//! (times a route sends nothing). Pure; `now` is a parameter.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::definition::{DefinitionError, RuleKind, Severity, matches_pattern};
use super::message::Subject;
use crate::domain::Millis;

/// While an alert of kind `source` fires, alerts of the `targets` kinds that share the `equal`
/// labels with it are held back (shown as inhibited) and end silently if they clear meanwhile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRule {
    pub source: RuleKind,
    /// Empty: every kind but the source's.
    #[serde(default)]
    pub targets: Vec<RuleKind>,
    /// `cluster`, and `broker`: the target is about that broker, or about a topic (or a group
    /// reading a topic) with a replica on it.
    #[serde(default = "cluster_label")]
    pub equal: Vec<String>,
}

fn cluster_label() -> Vec<String> {
    vec!["cluster".to_owned()]
}

/// A cluster that cannot be read explains every other alert on it; a broker that is gone
/// explains its partitions' replication, its metrics and the lag of groups reading them.
pub fn default_inhibit_rules() -> Vec<InhibitRule> {
    vec![
        InhibitRule { source: RuleKind::ClusterDown, targets: Vec::new(), equal: cluster_label() },
        InhibitRule {
            source: RuleKind::BrokerDown,
            targets: vec![
                RuleKind::UnderReplicated,
                RuleKind::OfflinePartitions,
                RuleKind::BrokerMetric,
                RuleKind::ConsumerLag,
                RuleKind::ConsumerLagSeconds,
                RuleKind::ConsumerStatus,
            ],
            equal: vec!["cluster".to_owned(), "broker".to_owned()],
        },
    ]
}

impl InhibitRule {
    pub fn validate(&self) -> Result<(), DefinitionError> {
        for label in &self.equal {
            if !matches!(label.as_str(), "cluster" | "broker") {
                return Err(DefinitionError {
                    field: "equal".into(),
                    message: format!("an inhibit rule compares cluster and broker, not {label:?}"),
                });
            }
        }
        Ok(())
    }

    fn applies_to(&self, target: RuleKind) -> bool {
        target != self.source && (self.targets.is_empty() || self.targets.contains(&target))
    }
}

/// An alert firing now that may inhibit others.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub rule: String,
    pub kind: RuleKind,
    pub subject: Subject,
}

/// What inhibits an alert of `kind` about `subject`, as `rule on subject`; `touches` says
/// whether a subject involves a broker (its topic has a replica there).
pub fn inhibited_by(
    rules: &[InhibitRule],
    firing: &[Firing],
    kind: RuleKind,
    subject: &Subject,
    touches: impl Fn(&Subject, i32) -> bool,
) -> Option<String> {
    for rule in rules.iter().filter(|r| r.applies_to(kind)) {
        for source in firing.iter().filter(|f| f.kind == rule.source) {
            let shares = rule.equal.iter().all(|label| match label.as_str() {
                "cluster" => source.subject.cluster == subject.cluster,
                "broker" => source.subject.broker.is_some_and(|broker| {
                    subject.broker == Some(broker) || touches(subject, broker)
                }),
                _ => false,
            });
            if shares {
                return Some(format!("{} ({})", source.rule, source.subject.describe()));
            }
        }
    }
    None
}

/// Channels by what a notice is about. Every condition given must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Severities this route takes (empty: any).
    #[serde(default)]
    pub severity: Vec<Severity>,
    /// Cluster name or pattern (`prod-*`); absent: any.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Rule name or pattern; absent: any.
    #[serde(default)]
    pub rule: Option<String>,
    /// Labels the rule must carry with these values.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub channels: Vec<String>,
    /// Mute windows (by name) in which this route sends nothing.
    #[serde(default)]
    pub mute: Vec<String>,
}

/// What a route is asked about.
#[derive(Debug, Clone, Copy)]
pub struct Routed<'a> {
    pub rule: &'a str,
    pub severity: Severity,
    pub cluster: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    /// The rule's own channels: where a notice goes when no route matches.
    pub channels: &'a [String],
}

/// Where a notice goes: the first matching route's channels, or the rule's own; empty while a
/// mute window of that route holds at `now` (the second value names it).
pub fn route<'a>(
    routes: &'a [Route],
    windows: &[MuteWindow],
    notice: Routed<'a>,
    now: Millis,
) -> (&'a [String], Option<&'a str>) {
    let Some(route) = routes.iter().find(|r| r.matches(&notice)) else {
        return (notice.channels, None);
    };
    let muted =
        route.mute.iter().find(|name| windows.iter().any(|w| &w.name == *name && w.holds(now)));
    match muted {
        Some(name) => (&[], Some(name.as_str())),
        None => (&route.channels, None),
    }
}

impl Route {
    fn matches(&self, notice: &Routed) -> bool {
        (self.severity.is_empty() || self.severity.contains(&notice.severity))
            && self.cluster.as_deref().is_none_or(|p| matches_pattern(p, notice.cluster))
            && self.rule.as_deref().is_none_or(|p| matches_pattern(p, notice.rule))
            && self.labels.iter().all(|(k, v)| notice.labels.get(k) == Some(v))
    }

    pub fn validate(
        &self,
        channel_exists: impl Fn(&str) -> bool,
        window_exists: impl Fn(&str) -> bool,
    ) -> Result<(), DefinitionError> {
        let error = |field: &str, message: String| DefinitionError { field: field.into(), message };
        if let Some(missing) = self.channels.iter().find(|c| !channel_exists(c)) {
            return Err(error("channels", format!("there is no channel {missing:?}")));
        }
        if let Some(missing) = self.mute.iter().find(|w| !window_exists(w)) {
            return Err(error("mute", format!("there is no mute window {missing:?}")));
        }
        Ok(())
    }
}

/// Times in which routes that name this window send nothing: on `weekdays` (`mon`…`sun`, or
/// ranges such as `mon-fri`; empty: every day) within `times` (`HH:MM-HH:MM`, wrapping past
/// midnight when the end is earlier; empty: all day), at `utc_offset` (`+08:00`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuteWindow {
    pub name: String,
    #[serde(default)]
    pub weekdays: Vec<String>,
    #[serde(default)]
    pub times: Vec<String>,
    #[serde(default)]
    pub utc_offset: Option<String>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(name: &str) -> Option<usize> {
    DAYS.iter().position(|d| name.trim().eq_ignore_ascii_case(d))
}

fn minutes(text: &str) -> Option<i64> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..=24).contains(&h) && (0..60).contains(&m) && h * 60 + m <= 1440).then_some(h * 60 + m)
}

fn offset_minutes(text: &str) -> Option<i64> {
    let text = text.trim();
    let (sign, rest) = match text.chars().next()? {
        '+' => (1, &text[1..]),
        '-' => (-1, &text[1..]),
        _ => return None,
    };
    let minutes = minutes(rest)?;
    (minutes <= 14 * 60).then_some(sign * minutes)
}

impl MuteWindow {
    /// The weekdays it covers, Monday first.
    fn days(&self) -> Option<[bool; 7]> {
        if self.weekdays.is_empty() {
            return Some([true; 7]);
        }
        let mut days = [false; 7];
        for item in &self.weekdays {
            match item.split_once('-') {
                Some((from, to)) => {
                    let (from, to) = (day_index(from)?, day_index(to)?);
                    let mut d = from;
                    loop {
                        days[d] = true;
                        if d == to {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => days[day_index(item)?] = true,
            }
        }
        Some(days)
    }

    fn ranges(&self) -> Option<Vec<(i64, i64)>> {
        self.times
            .iter()
            .map(|t| {
                let (from, to) = t.split_once('-')?;
                Some((minutes(from)?, minutes(to)?))
            })
            .collect()
    }

    pub fn validate(&self) -> Result<(), DefinitionError> {
        let error = |field: &str, message: &str| DefinitionError {
            field: field.into(),
            message: format!("mute window {:?}: {message}", self.name),
        };
        self.days().ok_or_else(|| error("weekdays", "days are mon…sun or ranges like mon-fri"))?;
        self.ranges().ok_or_else(|| error("times", "times are HH:MM-HH:MM, e.g. 18:00-09:00"))?;
        if let Some(offset) = &self.utc_offset {
            offset_minutes(offset).ok_or_else(|| error("utc_offset", "an offset like +08:00"))?;
        }
        Ok(())
    }

    /// Whether the window holds at `now`. A range past midnight (`18:00-09:00`) belongs to the
    /// day it starts on: Friday's evening runs into Saturday morning.
    pub fn holds(&self, now: Millis) -> bool {
        let (Some(days), Some(ranges)) = (self.days(), self.ranges()) else { return false };
        let offset = self.utc_offset.as_deref().and_then(offset_minutes).unwrap_or(0);
        let local = now.div_euclid(60_000) + offset;
        let day_number = local.div_euclid(1440);
        // 1970-01-01 was a Thursday (index 3).
        let weekday = |day: i64| usize::try_from((day + 3).rem_euclid(7)).unwrap_or(0);
        let minute = local.rem_euclid(1440);
        if ranges.is_empty() {
            return days[weekday(day_number)];
        }
        ranges.iter().any(|&(from, to)| {
            if from <= to {
                days[weekday(day_number)] && (from..to).contains(&minute)
            } else {
                (days[weekday(day_number)] && minute >= from)
                    || (days[weekday(day_number - 1)] && minute < to)
            }
        })
    }
}

#[cfg(test)]
mod tests;
