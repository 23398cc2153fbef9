//! Alerting tables: rules, channels and silences; the engine's state; incidents; and the
//! delivery outbox with one row per attempt. A round of decisions is written in one transaction.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError};
use crate::alerting::definition::{ChannelDef, RuleDef};
use crate::alerting::engine::{AlertState, Silence};
use crate::alerting::message::AlertMessage;
use crate::domain::Millis;

/// Where a rule or channel comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The config file (re-applied when its definition there changes).
    Config,
    /// Created in the UI or the API.
    Ui,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::Ui => "ui",
        }
    }

    fn parse(text: &str) -> Source {
        if text == "config" { Source::Config } else { Source::Ui }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Stored<T> {
    #[serde(flatten)]
    pub definition: T,
    pub source: Source,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredSilence {
    pub id: String,
    pub rule: String,
    pub subject: Option<String>,
    pub until: Millis,
    pub note: String,
    pub created_at: Millis,
}

impl StoredSilence {
    pub fn silence(&self) -> Silence {
        Silence { rule: self.rule.clone(), subject: self.subject.clone(), until: self.until }
    }
}

/// An incident as the Alerts page lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: String,
    pub rule: String,
    pub subject: String,
    pub cluster: String,
    pub severity: String,
    pub summary: String,
    pub message: AlertMessage,
    pub started_at: Millis,
    pub fired_at: Millis,
    pub resolved_at: Option<Millis>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not accepted yet; retried until `alerts.give_up_after`.
    Pending,
    /// The channel accepted it.
    Sent,
    /// Given up after failing for `alerts.give_up_after`.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> DeliveryStatus {
        match text {
            "sent" => DeliveryStatus::Sent,
            "failed" => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        }
    }
}

/// One notice to one channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub id: String,
    pub incident: String,
    pub channel: String,
    pub kind: String,
    pub notice_at: Millis,
    pub message: AlertMessage,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub done_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    pub delivery: String,
    pub attempt: i64,
    pub at: Millis,
    pub ok: bool,
    pub error: Option<String>,
    pub millis: i64,
}

/// What one evaluation round decided, written atomically.
#[derive(Debug, Default)]
pub struct RoundWrite {
    /// States that changed (`None`: back to OK), keyed by (rule, subject).
    pub states: Vec<((String, String), Option<AlertState>)>,
    pub incidents: Vec<IncidentChange>,
    pub deliveries: Vec<NewDelivery>,
}

impl RoundWrite {
    pub fn is_empty(&self) -> bool {
        self.states.is_empty() && self.incidents.is_empty() && self.deliveries.is_empty()
    }
}

#[derive(Debug)]
pub enum IncidentChange {
    Fired {
        message: AlertMessage,
        subject_key: String,
    },
    /// A reminder or resolution: the latest value, and the end when resolved.
    Updated {
        message: AlertMessage,
    },
}

#[derive(Debug)]
pub struct NewDelivery {
    pub channel: String,
    pub message: AlertMessage,
}

/// Delivery ids are derived from what they deliver, so a notice is queued at most once per
/// channel however often a round is retried.
fn delivery_id(message: &AlertMessage, channel: &str) -> String {
    use sha2::Digest;
    let key =
        format!("{}\0{}\0{}\0{}", message.incident, message.kind.as_str(), message.at, channel);
    hex::encode(&sha2::Sha256::digest(key)[..12])
}

/// Digest of a definition as the config file gives it.
fn digest(definition: &impl Serialize) -> Result<String, StoreError> {
    use sha2::Digest;
    let json = serde_json::to_string(definition).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(hex::encode(sha2::Sha256::digest(json)))
}

fn to_json(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Cuts a text to at most `max` characters, for bounded columns.
pub(super) fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The two definition tables, which share their shape.
#[derive(Clone, Copy)]
enum DefinitionTable {
    Rules,
    Channels,
}

impl DefinitionTable {
    fn name(self) -> &'static str {
        match self {
            DefinitionTable::Rules => "alert_rules",
            DefinitionTable::Channels => "alert_channels",
        }
    }
}

fn stored<T: serde::de::DeserializeOwned>(row: &AnyRow) -> Result<Stored<T>, StoreError> {
    let text: String = row.try_get(0)?;
    Ok(Stored {
        definition: from_json(&text, "stored definition")?,
        source: Source::parse(&row.try_get::<String, _>(1)?),
        updated_at: row.try_get(2)?,
    })
}

impl Store {
    async fn definitions<T: serde::de::DeserializeOwned>(
        &self,
        table: DefinitionTable,
    ) -> Result<Vec<Stored<T>>, StoreError> {
        let sql =
            format!("SELECT definition, source, updated_at FROM {} ORDER BY name", table.name());
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(stored).collect()
    }

    async fn definition<T: serde::de::DeserializeOwned>(
        &self,
        table: DefinitionTable,
        name: &str,
    ) -> Result<Option<Stored<T>>, StoreError> {
        let text =
            format!("SELECT definition, source, updated_at FROM {} WHERE name = ?", table.name());
        let sql = self.dialect.sql(&text);
        sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(stored)
            .transpose()
    }

    /// Inserts or replaces a definition; `config_digest` is set for definitions from the file.
    async fn put_definition(
        &self,
        table: DefinitionTable,
        name: &str,
        definition: &impl Serialize,
        config_digest: Option<&str>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let json = to_json(definition)?;
        let mut tx = self.write_transaction().await?;
        let keep_source =
            format!("SELECT source, config_digest FROM {} WHERE name = ?", table.name());
        let existing = sqlx::query(&self.dialect.sql(&keep_source))
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let (source, digest) = match (config_digest, &existing) {
            (Some(d), _) => (Source::Config, Some(d.to_owned())),
            (None, Some(row)) => {
                (Source::parse(&row.try_get::<String, _>(0)?), row.try_get::<Option<String>, _>(1)?)
            }
            (None, None) => (Source::Ui, None),
        };
        let delete = format!("DELETE FROM {} WHERE name = ?", table.name());
        sqlx::query(&self.dialect.sql(&delete)).bind(name).execute(&mut *tx).await?;
        let insert = format!(
            "INSERT INTO {} (name, definition, source, config_digest, updated_at) VALUES (?, ?, ?, ?, ?)",
            table.name()
        );
        sqlx::query(&self.dialect.sql(&insert))
            .bind(name)
            .bind(json)
            .bind(source.as_str())
            .bind(digest)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_definition(
        &self,
        table: DefinitionTable,
        name: &str,
    ) -> Result<bool, StoreError> {
        let text = format!("DELETE FROM {} WHERE name = ?", table.name());
        let done = sqlx::query(&self.dialect.sql(&text)).bind(name).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Writes the config file's definitions whose text changed since they were last applied;
    /// edits made in the UI to a definition the file did not change are kept.
    async fn sync_definitions<T: Serialize>(
        &self,
        table: DefinitionTable,
        definitions: &[(String, T)],
        now: Millis,
    ) -> Result<usize, StoreError> {
        let sql = format!("SELECT name, config_digest FROM {}", table.name());
        let applied: BTreeMap<String, Option<String>> = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let mut written = 0;
        for (name, definition) in definitions {
            let digest = digest(definition)?;
            if applied.get(name).is_some_and(|d| d.as_deref() == Some(digest.as_str())) {
                continue;
            }
            self.put_definition(table, name, definition, Some(&digest), now).await?;
            written += 1;
        }
        Ok(written)
    }

    /// Applies the config file's rules and channels (see [`Store::sync_definitions`]).
    pub async fn sync_alert_config(
        &self,
        channels: &[ChannelDef],
        rules: &[RuleDef],
        now: Millis,
    ) -> Result<usize, StoreError> {
        let channels: Vec<_> = channels.iter().map(|c| (c.name.clone(), c)).collect();
        let rules: Vec<_> = rules.iter().map(|r| (r.name.clone(), r)).collect();
        Ok(self.sync_definitions(DefinitionTable::Channels, &channels, now).await?
            + self.sync_definitions(DefinitionTable::Rules, &rules, now).await?)
    }

    pub async fn alert_rules(&self) -> Result<Vec<Stored<RuleDef>>, StoreError> {
        self.definitions(DefinitionTable::Rules).await
    }

    pub async fn alert_rule(&self, name: &str) -> Result<Option<Stored<RuleDef>>, StoreError> {
        self.definition(DefinitionTable::Rules, name).await
    }

    pub async fn put_alert_rule(&self, rule: &RuleDef, now: Millis) -> Result<(), StoreError> {
        self.put_definition(DefinitionTable::Rules, &rule.name, rule, None, now).await
    }

    /// Deletes a rule and its alert states (its incidents end without notice).
    pub async fn delete_alert_rule(&self, name: &str) -> Result<bool, StoreError> {
        let sql = self.dialect.sql("DELETE FROM alert_states WHERE rule = ?");
        sqlx::query(&sql).bind(name).execute(&self.pool).await?;
        self.delete_definition(DefinitionTable::Rules, name).await
    }

    pub async fn alert_channels(&self) -> Result<Vec<Stored<ChannelDef>>, StoreError> {
        self.definitions(DefinitionTable::Channels).await
    }

    pub async fn alert_channel(
        &self,
        name: &str,
    ) -> Result<Option<Stored<ChannelDef>>, StoreError> {
        self.definition(DefinitionTable::Channels, name).await
    }

    pub async fn put_alert_channel(
        &self,
        channel: &ChannelDef,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.put_definition(DefinitionTable::Channels, &channel.name, channel, None, now).await
    }

    pub async fn delete_alert_channel(&self, name: &str) -> Result<bool, StoreError> {
        self.delete_definition(DefinitionTable::Channels, name).await
    }

    /// Silences that have not ended at `now`, soonest end first.
    pub async fn active_silences(&self, now: Millis) -> Result<Vec<StoredSilence>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT id, rule, subject, until_ts, note, created_at FROM alert_silences \
             WHERE until_ts > ? ORDER BY until_ts, id",
        );
        sqlx::query(&sql)
            .bind(now)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(StoredSilence {
                    id: row.try_get(0)?,
                    rule: row.try_get(1)?,
                    subject: row.try_get(2)?,
                    until: row.try_get(3)?,
                    note: row.try_get(4)?,
                    created_at: row.try_get(5)?,
                })
            })
            .collect()
    }

    pub async fn add_silence(&self, silence: &StoredSilence) -> Result<(), StoreError> {
        let sql = self.dialect.sql(
            "INSERT INTO alert_silences (id, rule, subject, until_ts, note, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        );
        sqlx::query(&sql)
            .bind(&silence.id)
            .bind(&silence.rule)
            .bind(silence.subject.as_deref())
            .bind(silence.until)
            .bind(bounded(&silence.note, 1000))
            .bind(silence.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a silence at once.
    pub async fn delete_silence(&self, id: &str) -> Result<bool, StoreError> {
        let sql = self.dialect.sql("DELETE FROM alert_silences WHERE id = ?");
        Ok(sqlx::query(&sql).bind(id).execute(&self.pool).await?.rows_affected() > 0)
    }

    /// Every saved (rule, subject) state, for the engine to continue from.
    pub async fn alert_states(
        &self,
    ) -> Result<BTreeMap<String, BTreeMap<String, AlertState>>, StoreError> {
        let rows = sqlx::query("SELECT rule, subject, state FROM alert_states")
            .fetch_all(&self.pool)
            .await?;
        let mut states: BTreeMap<String, BTreeMap<String, AlertState>> = BTreeMap::new();
        for row in rows {
            let state: String = row.try_get(2)?;
            states
                .entry(row.try_get(0)?)
                .or_default()
                .insert(row.try_get(1)?, from_json(&state, "alert state")?);
        }
        Ok(states)
    }

    /// Writes a round's state changes, incidents and new deliveries in one transaction: a
    /// crash leaves either all of it or none, so nothing is lost or queued twice.
    pub async fn write_round(&self, round: &RoundWrite, now: Millis) -> Result<(), StoreError> {
        let d = self.dialect;
        let mut tx = self.write_transaction().await?;
        for ((rule, subject), state) in &round.states {
            sqlx::query(&d.sql("DELETE FROM alert_states WHERE rule = ? AND subject = ?"))
                .bind(rule)
                .bind(subject)
                .execute(&mut *tx)
                .await?;
            if let Some(state) = state {
                sqlx::query(
                    &d.sql("INSERT INTO alert_states (rule, subject, state) VALUES (?, ?, ?)"),
                )
                .bind(rule)
                .bind(subject)
                .bind(to_json(state)?)
                .execute(&mut *tx)
                .await?;
            }
        }
        for change in &round.incidents {
            match change {
                IncidentChange::Fired { message, subject_key } => {
                    sqlx::query(&d.sql("DELETE FROM alert_incidents WHERE id = ?"))
                        .bind(&message.incident)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(&d.sql(
                        "INSERT INTO alert_incidents (id, rule, subject, cluster, severity, summary, \
                         message, started_at, fired_at, resolved_at, metric_value, threshold) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                    ))
                    .bind(&message.incident)
                    .bind(&message.rule)
                    .bind(bounded(subject_key, 512))
                    .bind(&message.subject.cluster)
                    .bind(message.severity.as_str())
                    .bind(bounded(&message.summary(), 2000))
                    .bind(to_json(message)?)
                    .bind(message.since)
                    .bind(message.at)
                    .bind(message.value)
                    .bind(message.threshold)
                    .execute(&mut *tx)
                    .await?;
                }
                IncidentChange::Updated { message } => {
                    let resolved = (message.kind
                        == crate::alerting::message::MessageKind::Resolved)
                        .then_some(message.at);
                    sqlx::query(&d.sql(
                        "UPDATE alert_incidents SET summary = ?, message = ?, metric_value = ?, \
                         resolved_at = ? WHERE id = ?",
                    ))
                    .bind(bounded(&message.summary(), 2000))
                    .bind(to_json(message)?)
                    .bind(message.value)
                    .bind(resolved)
                    .bind(&message.incident)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        for delivery in &round.deliveries {
            let id = delivery_id(&delivery.message, &delivery.channel);
            let queued = sqlx::query(&d.sql("SELECT 1 FROM alert_deliveries WHERE id = ?"))
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await?;
            if queued.is_some() {
                continue;
            }
            sqlx::query(&d.sql(
                "INSERT INTO alert_deliveries (id, incident, channel, kind, notice_at, message, status, \
                 attempts, next_attempt_at, claimed_until, last_error, created_at, done_at) \
                 VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, 0, NULL, ?, NULL)",
            ))
            .bind(&id)
            .bind(&delivery.message.incident)
            .bind(&delivery.channel)
            .bind(delivery.message.kind.as_str())
            .bind(delivery.message.at)
            .bind(to_json(&delivery.message)?)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Pending deliveries due at `now` and not claimed by a sender, oldest notice first. A
    /// delivery waits while an older one of the same incident to the same channel is pending,
    /// so "resolved" never overtakes "firing".
    pub async fn due_deliveries(
        &self,
        now: Millis,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let text = format!(
            "{DELIVERY_COLUMNS} FROM alert_deliveries d WHERE d.status = 'pending' \
             AND d.next_attempt_at <= ? AND d.claimed_until <= ? AND NOT EXISTS (\
               SELECT 1 FROM alert_deliveries e WHERE e.incident = d.incident \
               AND e.channel = d.channel AND e.status = 'pending' AND e.notice_at < d.notice_at) \
             ORDER BY d.notice_at, d.id LIMIT ?"
        );
        let sql = self.dialect.sql(&text);
        let rows = sqlx::query(&sql).bind(now).bind(now).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(delivery).collect()
    }

    /// Claims a delivery for one sender until `until`; false when another sender was first.
    pub async fn claim_delivery(
        &self,
        id: &str,
        now: Millis,
        until: Millis,
    ) -> Result<bool, StoreError> {
        let sql = self.dialect.sql(
            "UPDATE alert_deliveries SET claimed_until = ? \
             WHERE id = ? AND status = 'pending' AND claimed_until <= ?",
        );
        let done = sqlx::query(&sql).bind(until).bind(id).bind(now).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records one attempt and where the delivery stands after it.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_attempt(
        &self,
        delivery: &Delivery,
        at: Millis,
        millis: i64,
        error: Option<&str>,
        status: DeliveryStatus,
        next_attempt_at: Millis,
    ) -> Result<(), StoreError> {
        let d = self.dialect;
        let attempt = delivery.attempts + 1;
        let error = error.map(|e| bounded(e, 2000));
        let mut tx = self.write_transaction().await?;
        sqlx::query(&d.sql(
            "INSERT INTO alert_attempts (delivery, attempt, attempted_at, ok, error, millis) \
             VALUES (?, ?, ?, ?, ?, ?)",
        ))
        .bind(&delivery.id)
        .bind(attempt)
        .bind(at)
        .bind(i64::from(error.is_none()))
        .bind(error.as_deref())
        .bind(millis)
        .execute(&mut *tx)
        .await?;
        let done_at = (status != DeliveryStatus::Pending).then_some(at);
        sqlx::query(&d.sql(
            "UPDATE alert_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, \
             claimed_until = 0, last_error = ?, done_at = ? WHERE id = ?",
        ))
        .bind(status.as_str())
        .bind(attempt)
        .bind(next_attempt_at)
        .bind(error.as_deref())
        .bind(done_at)
        .bind(&delivery.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Makes a failed or waiting delivery due now (the "retry now" button).
    pub async fn retry_delivery(&self, id: &str, now: Millis) -> Result<bool, StoreError> {
        let sql = self.dialect.sql(
            "UPDATE alert_deliveries SET status = 'pending', next_attempt_at = ?, done_at = NULL \
             WHERE id = ? AND status <> 'sent'",
        );
        Ok(sqlx::query(&sql).bind(now).bind(id).execute(&self.pool).await?.rows_affected() > 0)
    }

    /// Up to `limit` incidents: with `open_only` those still firing, most recently fired
    /// first; otherwise the history, i.e. only resolved incidents, most recently resolved first
    /// (an incident still firing is never in the history).
    pub async fn incidents(
        &self,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<Incident>, StoreError> {
        let (filter, order) = if open_only {
            ("resolved_at IS NULL", "fired_at DESC")
        } else {
            ("resolved_at IS NOT NULL", "resolved_at DESC, fired_at DESC")
        };
        let text = format!(
            "{INCIDENT_COLUMNS} FROM alert_incidents WHERE {filter} ORDER BY {order}, id LIMIT ?"
        );
        let sql = self.dialect.sql(&text);
        sqlx::query(&sql).bind(limit).fetch_all(&self.pool).await?.iter().map(incident).collect()
    }

    pub async fn incident(&self, id: &str) -> Result<Option<Incident>, StoreError> {
        let text = format!("{INCIDENT_COLUMNS} FROM alert_incidents WHERE id = ?");
        let sql = self.dialect.sql(&text);
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(incident)
            .transpose()
    }

    /// Deliveries of some incidents, in the order their notices were given.
    pub async fn deliveries_of(&self, incidents: &[String]) -> Result<Vec<Delivery>, StoreError> {
        if incidents.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; incidents.len()].join(", ");
        let text = format!(
            "{DELIVERY_COLUMNS} FROM alert_deliveries d WHERE d.incident IN ({marks}) \
             ORDER BY d.notice_at, d.channel"
        );
        let sql = self.dialect.sql(&text);
        let mut query = sqlx::query(&sql);
        for id in incidents {
            query = query.bind(id);
        }
        query.fetch_all(&self.pool).await?.iter().map(delivery).collect()
    }

    /// Every attempt of some deliveries, oldest first.
    pub async fn attempts_of(&self, deliveries: &[String]) -> Result<Vec<Attempt>, StoreError> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; deliveries.len()].join(", ");
        let text = format!(
            "SELECT delivery, attempt, attempted_at, ok, error, millis FROM alert_attempts \
             WHERE delivery IN ({marks}) ORDER BY delivery, attempt"
        );
        let sql = self.dialect.sql(&text);
        let mut query = sqlx::query(&sql);
        for id in deliveries {
            query = query.bind(id);
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(Attempt {
                    delivery: row.try_get(0)?,
                    attempt: row.try_get(1)?,
                    at: row.try_get(2)?,
                    ok: row.try_get::<i64, _>(3)? == 1,
                    error: row.try_get(4)?,
                    millis: row.try_get(5)?,
                })
            })
            .collect()
    }

    /// Deletes incidents resolved before `before`, with their deliveries and attempts (they
    /// follow the longest history retention).
    pub async fn prune_alert_history(&self, before: Millis) -> Result<u64, StoreError> {
        let old = "SELECT id FROM alert_incidents WHERE resolved_at < ?";
        let statements = [
            format!(
                "DELETE FROM alert_attempts WHERE delivery IN \
                 (SELECT id FROM alert_deliveries WHERE incident IN ({old}))"
            ),
            format!(
                "DELETE FROM alert_deliveries WHERE incident IN ({old}) AND status <> 'pending'"
            ),
            "DELETE FROM alert_incidents WHERE resolved_at < ? AND NOT EXISTS \
             (SELECT 1 FROM alert_deliveries d WHERE d.incident = alert_incidents.id)"
                .to_owned(),
        ];
        let mut tx = self.write_transaction().await?;
        let mut deleted = 0;
        for statement in &statements {
            let sql = self.dialect.sql(statement);
            deleted += sqlx::query(&sql).bind(before).execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// Deliveries not accepted yet, for `/metrics` and the Alerts page.
    pub async fn pending_delivery_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM alert_deliveries WHERE status = 'pending'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }
}

const INCIDENT_COLUMNS: &str = "SELECT id, rule, subject, cluster, severity, summary, message, \
    started_at, fired_at, resolved_at, metric_value, threshold";

fn incident(row: &AnyRow) -> Result<Incident, StoreError> {
    let message: String = row.try_get(6)?;
    Ok(Incident {
        id: row.try_get(0)?,
        rule: row.try_get(1)?,
        subject: row.try_get(2)?,
        cluster: row.try_get(3)?,
        severity: row.try_get(4)?,
        summary: row.try_get(5)?,
        message: from_json(&message, "incident message")?,
        started_at: row.try_get(7)?,
        fired_at: row.try_get(8)?,
        resolved_at: row.try_get(9)?,
        value: row.try_get(10)?,
        threshold: row.try_get(11)?,
    })
}

const DELIVERY_COLUMNS: &str = "SELECT d.id, d.incident, d.channel, d.kind, d.notice_at, \
    d.message, d.status, d.attempts, d.next_attempt_at, d.last_error, d.created_at, d.done_at";

fn delivery(row: &AnyRow) -> Result<Delivery, StoreError> {
    let message: String = row.try_get(5)?;
    Ok(Delivery {
        id: row.try_get(0)?,
        incident: row.try_get(1)?,
        channel: row.try_get(2)?,
        kind: row.try_get(3)?,
        notice_at: row.try_get(4)?,
        message: from_json(&message, "delivery message")?,
        status: DeliveryStatus::parse(&row.try_get::<String, _>(6)?),
        attempts: row.try_get(7)?,
        next_attempt_at: row.try_get(8)?,
        last_error: row.try_get(9)?,
        created_at: row.try_get(10)?,
        done_at: row.try_get(11)?,
    })
}

#[cfg(test)]
mod tests {
    use super::bounded;

    #[test]
    fn bounded_texts_keep_whole_characters() {
        assert_eq!(bounded("short", 10), "short");
        let cut = bounded(&"é".repeat(50), 10);
        assert!(cut.chars().count() <= 10 && cut.ends_with('…'));
    }
}
