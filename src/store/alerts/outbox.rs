//! The alert outbox: engine states, incidents and deliveries written per round in one
//! transaction, due deliveries claimed and their attempts recorded, history read back and pruned.

use super::*;

/// Most ids bound in one `IN (…)` list.
const IDS_PER_QUERY: usize = 500;

impl Store {
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

    /// Every saved notice group, for the grouping to continue from.
    pub async fn alert_groups(
        &self,
    ) -> Result<BTreeMap<String, crate::alerting::grouping::GroupState>, StoreError> {
        let rows = sqlx::query("SELECT state FROM alert_groups").fetch_all(&self.pool).await?;
        let mut groups = BTreeMap::new();
        for row in rows {
            let state: crate::alerting::grouping::GroupState =
                from_json(&long_text(&row, 0)?, "alert group")?;
            let key = crate::alerting::grouping::group_key(&state.labels);
            groups.insert(key, state);
        }
        Ok(groups)
    }

    /// Writes a round's state changes, incidents and new deliveries in one transaction: a
    /// crash leaves either all of it or none, so nothing is lost or queued twice.
    pub async fn write_round(&self, round: &RoundWrite, now: Millis) -> Result<(), StoreError> {
        let d = self.dialect;
        let mut tx = self.write_transaction().await?;
        for fence in &round.fences {
            super::super::leases::check_fence(&mut tx, d, fence).await?;
        }
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
        for group in &round.groups {
            sqlx::query(&d.sql("DELETE FROM alert_groups WHERE id = ?"))
                .bind(&group.id)
                .execute(&mut *tx)
                .await?;
            if let Some(state) = &group.state {
                sqlx::query(&d.sql(
                    "INSERT INTO alert_groups (id, rule, cluster, state) VALUES (?, ?, ?, ?)",
                ))
                .bind(&group.id)
                .bind(&group.rule)
                .bind(&group.cluster)
                .bind(to_json(state)?)
                .execute(&mut *tx)
                .await?;
            }
        }
        for change in &round.incidents {
            match change {
                IncidentChange::Fired { message, subject_key, group_id } => {
                    sqlx::query(&d.sql("DELETE FROM alert_incidents WHERE id = ?"))
                        .bind(&message.incident)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(&d.sql(
                        "INSERT INTO alert_incidents (id, rule, subject, cluster, severity, summary, \
                         message, started_at, fired_at, resolved_at, metric_value, threshold, \
                         group_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
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
                    .bind(group_id.as_deref())
                    // Not cached: a missing value is a NULL f64 (see `insert_rows`).
                    .persistent(false)
                    .execute(&mut *tx)
                    .await?;
                }
                IncidentChange::Withdrawn { incident } => {
                    sqlx::query(&d.sql("DELETE FROM alert_incidents WHERE id = ?"))
                        .bind(incident)
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
                    .persistent(false)
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
            .bind(delivery.message.dedup_key())
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
    /// `until` is also the claim's fence: [`Store::record_attempt`] records only under it.
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

    /// Records one attempt and where the delivery stands after it — only while the claim made
    /// with `claimed_until` still holds. False (nothing written) when it expired and another
    /// sender claimed the delivery since: that sender's record is the one that counts.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_attempt(
        &self,
        delivery: &Delivery,
        claimed_until: Millis,
        at: Millis,
        millis: i64,
        error: Option<&str>,
        status: DeliveryStatus,
        next_attempt_at: Millis,
    ) -> Result<bool, StoreError> {
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
        let updated = sqlx::query(&d.sql(
            "UPDATE alert_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, \
             claimed_until = 0, last_error = ?, done_at = ? WHERE id = ? AND claimed_until = ?",
        ))
        .bind(status.as_str())
        .bind(attempt)
        .bind(next_attempt_at)
        .bind(error.as_deref())
        .bind(done_at)
        .bind(&delivery.id)
        .bind(claimed_until)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
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

    /// Deliveries of some incidents, in the order their notices were given. Asked in chunks:
    /// databases cap the parameters of one statement (SQLite 32,766, PostgreSQL 65,535) and a
    /// storm's page can name more.
    pub async fn deliveries_of(&self, incidents: &[String]) -> Result<Vec<Delivery>, StoreError> {
        let mut found = Vec::new();
        for chunk in incidents.chunks(IDS_PER_QUERY) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let text = format!(
                "{DELIVERY_COLUMNS} FROM alert_deliveries d WHERE d.incident IN ({marks}) \
                 ORDER BY d.notice_at, d.channel"
            );
            let sql = self.dialect.sql(&text);
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                found.push(delivery(&row)?);
            }
        }
        found.sort_by(|a, b| (a.notice_at, &a.channel).cmp(&(b.notice_at, &b.channel)));
        Ok(found)
    }

    /// Every attempt of some deliveries, oldest first (asked in chunks, as above).
    pub async fn attempts_of(&self, deliveries: &[String]) -> Result<Vec<Attempt>, StoreError> {
        let mut found = Vec::new();
        for chunk in deliveries.chunks(IDS_PER_QUERY) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let text = format!(
                "SELECT delivery, attempt, attempted_at, ok, error, millis FROM alert_attempts \
                 WHERE delivery IN ({marks}) ORDER BY delivery, attempt"
            );
            let sql = self.dialect.sql(&text);
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                found.push(Attempt {
                    delivery: row.try_get(0)?,
                    attempt: row.try_get(1)?,
                    at: row.try_get(2)?,
                    ok: row.try_get::<i64, _>(3)? == 1,
                    error: row.try_get(4)?,
                    millis: row.try_get(5)?,
                });
            }
        }
        found.sort_by(|a, b| (&a.delivery, a.attempt).cmp(&(&b.delivery, b.attempt)));
        Ok(found)
    }

    /// Deletes incidents resolved before `before`, with their deliveries and attempts (they
    /// follow the longest history retention).
    pub async fn prune_alert_history(&self, before: Millis) -> Result<u64, StoreError> {
        let old = "SELECT id FROM alert_incidents WHERE resolved_at < ?";
        // A group's deliveries are filed under its first incident: they stay while another
        // incident of the group is open.
        let done = format!(
            "SELECT d.id FROM alert_deliveries d WHERE d.incident IN ({old}) AND d.status <> 'pending' \
             AND NOT EXISTS (SELECT 1 FROM alert_incidents o WHERE o.group_id = d.incident \
             AND o.resolved_at IS NULL)"
        );
        let statements = [
            format!("DELETE FROM alert_attempts WHERE delivery IN ({done})"),
            // The same condition, not a subquery on the table deleted from (MySQL refuses those).
            format!(
                "DELETE FROM alert_deliveries WHERE incident IN ({old}) AND status <> 'pending' \
                 AND NOT EXISTS (SELECT 1 FROM alert_incidents o \
                 WHERE o.group_id = alert_deliveries.incident AND o.resolved_at IS NULL)"
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

    /// Acknowledges an open incident; false when there is none open by that id.
    pub async fn acknowledge(&self, id: &str, ack: &Acknowledgement) -> Result<bool, StoreError> {
        let sql = self.dialect.sql(
            "UPDATE alert_incidents SET acked_by = ?, acked_at = ?, ack_comment = ?, ack_until = ? \
             WHERE id = ? AND resolved_at IS NULL",
        );
        let done = sqlx::query(&sql)
            .bind(bounded(&ack.by, 255))
            .bind(ack.at)
            .bind(bounded(&ack.comment, 1000))
            .bind(ack.until)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Takes an acknowledgement back: reminders resume on their schedule.
    pub async fn unacknowledge(&self, id: &str) -> Result<bool, StoreError> {
        let sql = self.dialect.sql(
            "UPDATE alert_incidents SET acked_by = NULL, acked_at = NULL, ack_comment = NULL, \
             ack_until = NULL WHERE id = ? AND acked_by IS NOT NULL",
        );
        Ok(sqlx::query(&sql).bind(id).execute(&self.pool).await?.rows_affected() > 0)
    }

    /// Open incidents acknowledged at `now`, with their acknowledgement.
    pub async fn acknowledged(
        &self,
        now: Millis,
    ) -> Result<BTreeMap<String, Acknowledgement>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT id, acked_by, acked_at, ack_comment, ack_until FROM alert_incidents \
             WHERE resolved_at IS NULL AND acked_by IS NOT NULL AND (ack_until IS NULL OR ack_until > ?)",
        );
        let rows = sqlx::query(&sql).bind(now).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get(0)?,
                    Acknowledgement {
                        by: row.try_get(1)?,
                        at: row.try_get::<Option<i64>, _>(2)?.unwrap_or_default(),
                        comment: row.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
                        until: row.try_get(4)?,
                    },
                ))
            })
            .collect()
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
    started_at, fired_at, resolved_at, metric_value, threshold, group_id, acked_by, acked_at, \
    ack_comment, ack_until";

fn incident(row: &AnyRow) -> Result<Incident, StoreError> {
    let message = long_text(row, 6)?;
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
        group_id: row.try_get(12)?,
        ack: match row.try_get::<Option<String>, _>(13)? {
            None => None,
            Some(by) => Some(Acknowledgement {
                by,
                at: row.try_get::<Option<i64>, _>(14)?.unwrap_or_default(),
                comment: row.try_get::<Option<String>, _>(15)?.unwrap_or_default(),
                until: row.try_get(16)?,
            }),
        },
    })
}

const DELIVERY_COLUMNS: &str = "SELECT d.id, d.incident, d.channel, d.kind, d.notice_at, \
    d.message, d.status, d.attempts, d.next_attempt_at, d.last_error, d.created_at, d.done_at";

/// A long text column: MySQL sends a `MEDIUMTEXT` in a binary collation as bytes.
fn long_text(row: &AnyRow, index: usize) -> Result<String, StoreError> {
    match row.try_get::<String, _>(index) {
        Ok(text) => Ok(text),
        Err(_) => String::from_utf8(row.try_get::<Vec<u8>, _>(index)?)
            .map_err(|e| StoreError::Corrupt(format!("a text column holds no UTF-8: {e}"))),
    }
}

fn delivery(row: &AnyRow) -> Result<Delivery, StoreError> {
    let message = long_text(row, 5)?;
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
