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

mod outbox;

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
        Silence {
            rule: self.rule.clone(),
            subject: self.subject.clone(),
            until: self.until,
            inhibited_by: None,
        }
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
    /// The notice group the incident was told in (its deliveries are the group's).
    pub group_id: Option<String>,
    pub ack: Option<Acknowledgement>,
}

/// An operator's acknowledgement of an incident: reminders stop until `until` (or for good).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Acknowledgement {
    pub by: String,
    pub at: Millis,
    pub comment: String,
    pub until: Option<Millis>,
}

impl Acknowledgement {
    /// `alice at 2026-12-03 10:00 UTC: looking into it`, as notices tell it.
    pub fn describe(&self) -> String {
        let mut text = format!("{} at {}", self.by, crate::clock::utc_text(self.at));
        if let Some(until) = self.until {
            text.push_str(&format!(" until {}", crate::clock::utc_text(until)));
        }
        if !self.comment.is_empty() {
            text.push_str(&format!(": {}", self.comment));
        }
        text
    }

    pub fn holds(&self, now: Millis) -> bool {
        self.until.is_none_or(|until| now < until)
    }
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
    /// Notice groups that changed (`None`: closed), keyed by their storage id.
    pub groups: Vec<GroupWrite>,
    /// With several instances: the leases of the clusters the round decided about; the round
    /// is refused when one of them was lost.
    pub fences: Vec<crate::store::Fence>,
}

impl RoundWrite {
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
            && self.incidents.is_empty()
            && self.deliveries.is_empty()
            && self.groups.is_empty()
    }
}

/// One notice group's new state in a round.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupWrite {
    pub id: String,
    pub rule: String,
    pub cluster: String,
    pub state: Option<crate::alerting::grouping::GroupState>,
}

#[derive(Debug)]
pub enum IncidentChange {
    Fired {
        message: AlertMessage,
        subject_key: String,
        group_id: Option<String>,
    },
    /// A reminder or resolution: the latest value, and the end when resolved.
    Updated {
        message: AlertMessage,
    },
    /// A firing taken back before it was told (inhibited meanwhile): the incident is shown as
    /// held back until it fires again under the same id.
    Withdrawn {
        incident: String,
    },
}

#[derive(Debug)]
pub struct NewDelivery {
    pub channel: String,
    pub message: AlertMessage,
}

/// Delivery ids are derived from what every instance agrees on, so a notice is queued at most
/// once per channel however often a round is retried and whichever instance decides it: an
/// incident fires and resolves once (its id already names its start), a reminder is told
/// apart by its time.
fn delivery_id(message: &AlertMessage, channel: &str) -> String {
    use crate::alerting::message::MessageKind;
    use sha2::Digest;
    let kind = message.kind.as_str();
    // A group's batches are numbered: the group's id and the number name one batch.
    if let (Some(batch), false) = (&message.batch, message.kind == MessageKind::Acknowledged) {
        // The labels too: a group reopened under other labels (group_by changed) numbers anew.
        let labels: Vec<String> = batch.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let key = format!("{}\0{}\0batch\0{}\0{channel}", batch.id, labels.join("\0"), batch.seq);
        return hex::encode(&sha2::Sha256::digest(key)[..12]);
    }
    let key = match message.kind {
        MessageKind::Reminder | MessageKind::Test | MessageKind::Acknowledged => {
            format!("{}\0{kind}\0{}\0{channel}", message.incident, message.at)
        }
        MessageKind::Firing | MessageKind::Resolved => {
            format!("{}\0{kind}\0{channel}", message.incident)
        }
    };
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
    /// Two instances writing a new definition at once (both start with the same config file)
    /// both find no row and both insert: the second is refused as a duplicate and tries again,
    /// now replacing the first's row.
    async fn put_definition(
        &self,
        table: DefinitionTable,
        name: &str,
        definition: &impl Serialize,
        config_digest: Option<&str>,
        now: Millis,
    ) -> Result<(), StoreError> {
        let json = to_json(definition)?;
        let mut tries = 0;
        loop {
            tries += 1;
            match self.replace_definition(table, name, &json, config_digest, now).await {
                Err(StoreError::Query(sqlx::Error::Database(e)))
                    if e.is_unique_violation() && tries < 3 => {}
                outcome => return outcome,
            }
        }
    }

    async fn replace_definition(
        &self,
        table: DefinitionTable,
        name: &str,
        json: &str,
        config_digest: Option<&str>,
        now: Millis,
    ) -> Result<(), StoreError> {
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
