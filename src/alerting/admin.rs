//! What operators do with alerting — read incidents (firing ones with what their rule measures
//! now) and their deliveries, create, edit, enable and delete rules and channels, test a
//! channel, silence — shared by the pages and the API, so both check the same things.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::definition::{ChannelDef, DefinitionError, RuleDef};
use super::engine::AlertState;
use super::rules;
use super::service::Alerting;
use crate::domain::Millis;
use crate::poller::ClusterState;
use crate::store::{Attempt, Delivery, Incident, Store, StoreError, Stored, StoredSilence};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("there is no {what} {}", crate::domain::clipped(.name))]
    NotFound { what: &'static str, name: String },
    #[error("a {what} named {} exists already", crate::domain::clipped(.name))]
    Exists { what: &'static str, name: String },
    #[error("{0}")]
    Invalid(#[from] DefinitionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &str, message: impl Into<String>) -> AdminError {
    AdminError::Invalid(DefinitionError { field: field.into(), message: message.into() })
}

/// A delivery with every attempt, as the history shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    #[serde(flatten)]
    pub delivery: Delivery,
    pub attempt_log: Vec<Attempt>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    #[serde(flatten)]
    pub incident: Incident,
    pub deliveries: Vec<DeliveryView>,
    /// Firing incidents of [`overview`]: what the rule measures now, in the unit of the notice's
    /// value (`12,345`, `5m 12s`, `STALL`); `None` when the cluster cannot be read now, the
    /// subject is gone or the rule changed its kind, and for other incidents.
    pub current: Option<String>,
    /// The same as a number.
    pub current_value: Option<f64>,
}

impl IncidentView {
    pub fn is_open(&self) -> bool {
        self.incident.resolved_at.is_none()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertsOverview {
    pub firing: Vec<IncidentView>,
    /// Alerts firing but not told: silenced, or inhibited by another alert.
    pub held: Vec<HeldAlert>,
    pub history: Vec<IncidentView>,
    pub pending_deliveries: i64,
}

/// An alert firing while a silence or an inhibition holds its notice back.
#[derive(Debug, Clone, Serialize)]
pub struct HeldAlert {
    pub rule: String,
    pub subject: String,
    pub since: Millis,
    /// What inhibits it; `None`: a silence.
    pub inhibited_by: Option<String>,
}

async fn held_alerts(store: &Store) -> Result<Vec<HeldAlert>, StoreError> {
    let mut held = Vec::new();
    for (rule, subjects) in store.alert_states().await? {
        for (subject, state) in subjects {
            if let AlertState::Firing { since, notified_at: None, inhibited_by, .. } = state {
                held.push(HeldAlert { rule: rule.clone(), subject, since, inhibited_by });
            }
        }
    }
    held.sort_by_key(|h| std::cmp::Reverse(h.since));
    Ok(held)
}

async fn with_deliveries(
    store: &Store,
    incidents: Vec<Incident>,
) -> Result<Vec<IncidentView>, StoreError> {
    // A grouped notice is queued under its group's id: an incident's deliveries are its own
    // and its group's.
    let mut ids: Vec<String> = incidents.iter().map(|i| i.id.clone()).collect();
    ids.extend(incidents.iter().filter_map(|i| i.group_id.clone()));
    ids.sort();
    ids.dedup();
    let deliveries = store.deliveries_of(&ids).await?;
    let delivery_ids: Vec<String> = deliveries.iter().map(|d| d.id.clone()).collect();
    let attempts = store.attempts_of(&delivery_ids).await?;
    Ok(incidents
        .into_iter()
        .map(|incident| {
            let deliveries = deliveries
                .iter()
                .filter(|d| {
                    d.incident == incident.id || incident.group_id.as_ref() == Some(&d.incident)
                })
                .map(|d| DeliveryView {
                    delivery: d.clone(),
                    attempt_log: attempts.iter().filter(|a| a.delivery == d.id).cloned().collect(),
                })
                .collect();
            IncidentView { incident, deliveries, current: None, current_value: None }
        })
        .collect())
}

/// Incidents firing now, each with what its rule measures now in `clusters` (their latest
/// states), and the latest `history` incidents; each with its deliveries.
pub async fn overview(
    store: &Store,
    clusters: &[Arc<ClusterState>],
    history: i64,
) -> Result<AlertsOverview, StoreError> {
    let mut firing = with_deliveries(store, store.incidents(true, 500).await?).await?;
    let definitions: Vec<RuleDef> =
        store.alert_rules().await?.into_iter().map(|s| s.definition).collect();
    fill_current(&mut firing, &definitions, clusters);
    let recent = store.incidents(false, history).await?;
    let history = with_deliveries(store, recent).await?;
    Ok(AlertsOverview {
        firing,
        held: held_alerts(store).await?,
        history,
        pending_deliveries: store.pending_delivery_count().await?,
    })
}

/// Sets each view's `current` to what its rule (by name, if still of the incident's kind)
/// measures now for the incident's subject in `clusters`. Pure; each rule is evaluated once.
pub fn fill_current(
    views: &mut [IncidentView],
    definitions: &[RuleDef],
    clusters: &[Arc<ClusterState>],
) {
    let mut measured: HashMap<&str, HashMap<String, f64>> = HashMap::new();
    for view in views {
        let message = &view.incident.message;
        let rule = definitions
            .iter()
            .find(|r| r.name == view.incident.rule && r.kind == message.rule_kind);
        let value = rule.and_then(|rule| {
            let values = measured
                .entry(rule.name.as_str())
                .or_insert_with(|| rules::current_values(rule, clusters));
            values.get(&message.subject.key()).copied()
        });
        let text = value.map(|v| message.measure(v));
        view.current_value = value;
        view.current = text;
    }
}

pub async fn incident(store: &Store, id: &str) -> Result<IncidentView, AdminError> {
    let incident = store
        .incident(id)
        .await?
        .ok_or_else(|| AdminError::NotFound { what: "incident", name: id.to_owned() })?;
    let mut views = with_deliveries(store, vec![incident]).await?;
    Ok(views.remove(0))
}

/// Creates (`replacing` is `None`) or replaces a rule, after checking it.
pub async fn save_rule(
    store: &Store,
    rule: RuleDef,
    replacing: Option<&str>,
    now: Millis,
) -> Result<(), AdminError> {
    let channels = store.alert_channels().await?;
    rule.validate(|c| channels.iter().any(|s| s.definition.name == c))?;
    match replacing {
        Some(name) if name != rule.name => return Err(invalid("name", "a rule cannot be renamed")),
        Some(name) => {
            self::rule(store, name).await?;
        }
        None if store.alert_rule(&rule.name).await?.is_some() => {
            return Err(AdminError::Exists { what: "rule", name: rule.name });
        }
        None => {}
    }
    store.put_alert_rule(&rule, now).await?;
    tracing::info!(rule = %rule.name, "alert rule saved");
    Ok(())
}

pub async fn rule(store: &Store, name: &str) -> Result<Stored<RuleDef>, AdminError> {
    store
        .alert_rule(name)
        .await?
        .ok_or_else(|| AdminError::NotFound { what: "rule", name: name.to_owned() })
}

pub async fn set_rule_enabled(
    store: &Store,
    name: &str,
    enabled: bool,
    now: Millis,
) -> Result<(), AdminError> {
    let mut stored = rule(store, name).await?.definition;
    stored.enabled = enabled;
    store.put_alert_rule(&stored, now).await?;
    tracing::info!(rule = %name, enabled, "alert rule switched");
    Ok(())
}

pub async fn delete_rule(store: &Store, name: &str) -> Result<(), AdminError> {
    if !store.delete_alert_rule(name).await? {
        return Err(AdminError::NotFound { what: "rule", name: name.to_owned() });
    }
    tracing::info!(rule = %name, "alert rule deleted");
    Ok(())
}

pub async fn channel(store: &Store, name: &str) -> Result<Stored<ChannelDef>, AdminError> {
    store
        .alert_channel(name)
        .await?
        .ok_or_else(|| AdminError::NotFound { what: "channel", name: name.to_owned() })
}

/// Creates or replaces a channel. A password or secret left empty (or as shown, redacted)
/// keeps the stored one.
/// Saves a channel made or edited in the UI or the API. It may read as `${NAME}` only the
/// variables in `env_allowlist`, and those the stored channel already read (a channel from the
/// config file keeps its own): otherwise an admin could mail themselves any of the process's.
pub async fn save_channel(
    store: &Store,
    mut channel: ChannelDef,
    replacing: Option<&str>,
    env_allowlist: &[String],
    now: Millis,
) -> Result<(), AdminError> {
    let mut allowed: Vec<String> = env_allowlist.to_vec();
    let mut stored_ca_file = None;
    match replacing {
        Some(name) if name != channel.name => {
            return Err(invalid("name", "a channel cannot be renamed"));
        }
        Some(name) => {
            let stored = self::channel(store, name).await?.definition;
            allowed.extend(stored.env_references().into_iter().map(|(_, name)| name));
            channel.keep_secrets_from(&stored);
            stored_ca_file = stored.tls_ca_file;
        }
        None if store.alert_channel(&channel.name).await?.is_some() => {
            return Err(AdminError::Exists { what: "channel", name: channel.name });
        }
        None => {}
    }
    if let Some((key, name)) =
        channel.env_references().into_iter().find(|(_, name)| !allowed.contains(name))
    {
        return Err(invalid(
            &key,
            format!(
                "${{{name}}} is not in alerts.env_allowlist: channels made here may read only the \
                 environment variables the config file allows"
            ),
        ));
    }
    // A file path read at each delivery is the config file's to name, not a web form's.
    if channel.tls_ca_file.is_some() && channel.tls_ca_file != stored_ca_file {
        return Err(invalid(
            "tls_ca_file",
            "a trusted CA file can be named only in the config file's [[alerts.channels]]",
        ));
    }
    channel.validate()?;
    super::templates::check_channel(&channel)?;
    store.put_alert_channel(&channel, now).await?;
    tracing::info!(channel = %channel.name, "alert channel saved");
    Ok(())
}

/// Deletes a channel no rule uses.
pub async fn delete_channel(store: &Store, name: &str) -> Result<(), AdminError> {
    let users: Vec<String> = store
        .alert_rules()
        .await?
        .into_iter()
        .filter(|r| r.definition.channels.iter().any(|c| c == name))
        .map(|r| r.definition.name)
        .collect();
    if !users.is_empty() {
        return Err(invalid("name", format!("rules {} still use this channel", users.join(", "))));
    }
    if !store.delete_alert_channel(name).await? {
        return Err(AdminError::NotFound { what: "channel", name: name.to_owned() });
    }
    tracing::info!(channel = %name, "alert channel deleted");
    Ok(())
}

/// The outcome of "send test": `Ok` or the channel's exact error.
pub async fn test_channel(
    alerting: &Alerting,
    name: &str,
) -> Result<Result<(), String>, AdminError> {
    let channel = channel(&alerting.store, name).await?.definition;
    let outcome = alerting.send_test(&channel).await.map_err(|e| e.to_string());
    match &outcome {
        Ok(()) => tracing::info!(channel = %name, "test message sent"),
        Err(e) => tracing::warn!(channel = %name, error = %e, "test message failed"),
    }
    Ok(outcome)
}

/// What a new silence needs.
#[derive(Debug, Clone)]
pub struct SilenceRequest {
    pub rule: String,
    pub subject: Option<String>,
    pub duration: Duration,
    pub note: String,
}

pub async fn add_silence(
    store: &Store,
    request: SilenceRequest,
    now: Millis,
) -> Result<StoredSilence, AdminError> {
    rule(store, &request.rule).await?;
    if request.duration.is_zero() || request.duration > Duration::from_secs(90 * 86_400) {
        return Err(invalid("duration", "must be between 1s and 90d"));
    }
    let until = now + i64::try_from(request.duration.as_millis()).unwrap_or(i64::MAX);
    let silence = StoredSilence {
        id: silence_id(&request.rule, now),
        rule: request.rule,
        subject: request.subject.filter(|s| !s.trim().is_empty()),
        until,
        note: request.note,
        created_at: now,
    };
    store.add_silence(&silence).await?;
    tracing::info!(rule = %silence.rule, subject = ?silence.subject, until, "silence added");
    Ok(silence)
}

fn silence_id(rule: &str, now: Millis) -> String {
    use sha2::Digest;
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_i64(now);
    let digest = sha2::Sha256::digest(format!("{rule}\0{now}\0{}", hasher.finish()));
    hex::encode(&digest[..8])
}

pub async fn end_silence(store: &Store, id: &str) -> Result<(), AdminError> {
    if !store.delete_silence(id).await? {
        return Err(AdminError::NotFound { what: "silence", name: id.to_owned() });
    }
    tracing::info!(silence = %id, "silence ended");
    Ok(())
}

/// What an operator says acknowledging an incident.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    #[serde(default)]
    pub comment: String,
    /// How long the acknowledgement holds (`4h`); absent: until the incident ends.
    #[serde(default, with = "crate::duration_text::option")]
    pub expires_in: Option<std::time::Duration>,
}

/// Acknowledges an open incident for `by`: its reminders stop (until `expires_in`), and its
/// rule's channels are told (PagerDuty and Opsgenie acknowledge their incident).
pub async fn acknowledge(
    alerting: &Alerting,
    id: &str,
    by: &str,
    request: AckRequest,
    now: Millis,
) -> Result<crate::store::Acknowledgement, AdminError> {
    if request.comment.chars().count() > 1000 {
        return Err(invalid("comment", "at most 1,000 characters"));
    }
    if request.comment.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid("comment", "a comment is text: no control characters"));
    }
    if request
        .expires_in
        .is_some_and(|e| e.is_zero() || e > std::time::Duration::from_secs(30 * 86_400))
    {
        return Err(invalid("expires_in", "between 1s and 30d"));
    }
    let until = request
        .expires_in
        .map(|e| now.saturating_add(i64::try_from(e.as_millis()).unwrap_or(i64::MAX)));
    let ack = crate::store::Acknowledgement {
        by: by.to_owned(),
        at: now,
        comment: request.comment.trim().to_owned(),
        until,
    };
    let store = &alerting.store;
    if !store.acknowledge(id, &ack).await? {
        return Err(AdminError::NotFound { what: "open incident", name: id.to_owned() });
    }
    tracing::info!(incident = %id, by = %by, until = ?until, "incident acknowledged");
    if let Some(incident) = store.incident(id).await? {
        queue_acknowledgement(alerting, &incident, &ack, now).await?;
    }
    Ok(ack)
}

/// Queues the notice that `incident` was acknowledged to the channels its rule's notices go to
/// now: only once its firing was told (an acknowledgement must not overtake it), and to
/// PagerDuty and Opsgenie only when it is alone in its group (their incident is the group's:
/// acknowledging one alert must not silence the others there).
async fn queue_acknowledgement(
    alerting: &Alerting,
    incident: &Incident,
    ack: &crate::store::Acknowledgement,
    now: Millis,
) -> Result<(), StoreError> {
    let store = &alerting.store;
    let Some(rule) = store.alert_rule(&incident.rule).await? else { return Ok(()) };
    let rule = rule.definition;
    let groups = store.alert_groups().await?;
    let Some(group) = groups
        .values()
        .find(|g| incident.group_id.as_ref() == Some(&g.id) && g.announced.contains(&incident.id))
    else {
        return Ok(());
    };
    let alone = group.announced.len() == 1;
    let mut message = incident.message.clone();
    message.kind = super::message::MessageKind::Acknowledged;
    message.at = now;
    message.acknowledged = Some(ack.describe());
    message.batch = Some(super::message::Batch {
        id: group.id.clone(),
        seq: 0,
        labels: group.labels.clone(),
        alerts: vec![super::message::AlertLine::of(&message)],
        unlisted: 0,
        firing_after: group.announced.len(),
    });
    let cluster = message.subject.cluster.clone();
    if super::service::muted(&alerting.settings, &rule, &cluster, now).is_some() {
        return Ok(());
    }
    let (channels, _) = super::service::routed(&alerting.settings, &rule, &cluster, now);
    let mut deliveries = Vec::new();
    for channel in channels {
        let on_call = match store.alert_channel(channel).await? {
            Some(c) => matches!(
                c.definition.format,
                Some(
                    super::definition::WebhookFormat::Pagerduty
                        | super::definition::WebhookFormat::Opsgenie
                )
            ),
            None => false,
        };
        if alone || !on_call {
            deliveries.push(crate::store::NewDelivery {
                channel: channel.clone(),
                message: message.clone(),
            });
        }
    }
    let write = crate::store::RoundWrite { deliveries, ..Default::default() };
    store.write_round(&write, now).await?;
    alerting.outbox.notify_one();
    Ok(())
}

/// Takes an acknowledgement back: reminders resume on their schedule.
pub async fn unacknowledge(store: &Store, id: &str) -> Result<(), AdminError> {
    if !store.unacknowledge(id).await? {
        return Err(AdminError::NotFound { what: "acknowledged incident", name: id.to_owned() });
    }
    tracing::info!(incident = %id, "incident acknowledgement taken back");
    Ok(())
}

pub async fn retry_delivery(alerting: &Alerting, id: &str, now: Millis) -> Result<(), AdminError> {
    if !alerting.store.retry_delivery(id, now).await? {
        return Err(AdminError::NotFound { what: "unsent delivery", name: id.to_owned() });
    }
    alerting.outbox.notify_one();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::message::{AlertMessage, MessageKind, Subject};
    use crate::alerting::rules::tests::{cluster, group, rule};
    use crate::evaluator::PartitionStatus;

    fn firing(rule: &RuleDef, group: &str, value: f64) -> IncidentView {
        let subject =
            Subject { cluster: "prod".into(), group: Some(group.into()), ..Subject::default() };
        let message = AlertMessage {
            kind: MessageKind::Firing,
            incident: format!("incident-{group}"),
            rule: rule.name.clone(),
            rule_kind: rule.kind,
            severity: rule.severity,
            subject: subject.clone(),
            value: Some(value),
            threshold: rule.threshold_or_default(),
            since: 1,
            at: 2,
            link: None,
            metric: None,
            below: false,
            group_facts: None,
            batch: None,
            acknowledged: None,
        };
        IncidentView {
            incident: Incident {
                id: message.incident.clone(),
                rule: rule.name.clone(),
                subject: subject.key(),
                cluster: "prod".into(),
                severity: rule.severity.as_str().into(),
                summary: message.summary(),
                message,
                started_at: 1,
                fired_at: 2,
                resolved_at: None,
                value: Some(value),
                threshold: Some(rule.threshold_or_default()),
                group_id: None,
                ack: None,
            },
            deliveries: vec![],
            current: None,
            current_value: None,
        }
    }

    #[test]
    fn firing_incidents_show_what_their_rule_measures_now_in_its_unit() {
        let lag = rule("kind = \"consumer_lag_seconds\"\nthreshold = 60");
        let clusters = [cluster("prod", vec![group("billing", 3_120, PartitionStatus::Stall)])];
        let mut views = [firing(&lag, "billing", 100.0), firing(&lag, "deleted", 100.0)];
        fill_current(&mut views, std::slice::from_ref(&lag), &clusters);
        assert_eq!(views[0].current.as_deref(), Some("5m 12s"), "3,120 messages at 10/s");
        assert_eq!(views[0].current_value, Some(312.0));
        assert_eq!(views[1].current, None, "the group is gone");

        let status = RuleDef {
            kind: crate::alerting::definition::RuleKind::ConsumerStatus,
            threshold: None,
            status: Some(PartitionStatus::Warn),
            ..lag.clone()
        };
        let mut views = [firing(&status, "billing", 5.0)];
        fill_current(&mut views, std::slice::from_ref(&status), &clusters);
        assert_eq!(views[0].current.as_deref(), Some("STALL"));
        fill_current(&mut views, std::slice::from_ref(&lag), &clusters);
        assert_eq!(views[0].current, None, "the rule is of another kind now");
    }

    #[test]
    fn an_unreadable_cluster_or_a_deleted_rule_shows_no_current_value() {
        let lag = rule("kind = \"consumer_lag\"\nthreshold = 10");
        let mut down = (*cluster("prod", vec![group("billing", 500, PartitionStatus::Ok)])).clone();
        down.consecutive_failures = 1;
        let mut views = [firing(&lag, "billing", 500.0)];
        fill_current(&mut views, std::slice::from_ref(&lag), &[Arc::new(down)]);
        assert_eq!(views[0].current, None);
        let up = [cluster("prod", vec![group("billing", 12_345, PartitionStatus::Ok)])];
        fill_current(&mut views, std::slice::from_ref(&lag), &up);
        assert_eq!(views[0].current.as_deref(), Some("12,345"));
        fill_current(&mut views, &[], &up);
        assert_eq!(views[0].current, None);
    }
}
