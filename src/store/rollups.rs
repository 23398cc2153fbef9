//! Retention and rollups: raw samples rolled into 1-minute and 1-hour tables, each level kept as long as configured.

use super::*;

impl Store {
    /// Deletes history older than each level's retention, as of `now`; returns the rows gone.
    /// On PostgreSQL the sample tables lose whole day partitions instead (not counted in the
    /// rows): a day is kept until all of it is past retention.
    #[tracing::instrument(skip_all)]
    pub async fn apply_retention(
        &self,
        retention: Retention,
        now: Millis,
    ) -> Result<u64, StoreError> {
        let mut deleted = 0;
        let levels = [
            (&RAW_TABLES[..], retention.raw),
            (&MINUTE_TABLES[..], retention.minute),
            (&HOUR_TABLES[..], retention.hour),
        ];
        for (tables, keep) in levels {
            let before = now.saturating_sub(keep);
            for table in tables {
                if self.dialect == Dialect::Postgres && partitions::PARTITIONED.contains(table) {
                    self.drop_partitions_before(table, before).await?;
                    continue;
                }
                let text = format!("DELETE FROM {table} WHERE ts < ?");
                let sql = self.dialect.sql(&text);
                deleted +=
                    sqlx::query(&sql).bind(before).execute(&self.pool).await?.rows_affected();
            }
        }
        deleted += self.prune_alert_history(now.saturating_sub(retention.hour)).await?;
        let sql = self.dialect.sql("DELETE FROM audit_log WHERE ts < ?");
        let audit_before = now.saturating_sub(retention.audit);
        deleted += sqlx::query(&sql).bind(audit_before).execute(&self.pool).await?.rows_affected();
        Ok(deleted)
    }

    /// Rolls complete buckets up one level (raw → 1 min → 1 h), each rollup from where it last
    /// stopped; returns the rows written. Safe to call at any time and as often as wanted.
    #[tracing::instrument(skip_all)]
    /// Rolls complete buckets up. With several instances `fence` is the history lease: a
    /// rollup made under a lost lease is refused whole, so a paused instance that wakes up
    /// cannot roll a range the new holder rolled already (the rows would count twice).
    /// Retention and partitions need no fence: deleting or dropping twice changes nothing.
    pub async fn roll_up(&self, now: Millis, fence: Option<&Fence>) -> Result<u64, StoreError> {
        let mut written = 0;
        for rollup in &ROLLUPS {
            written += self.roll_up_one(rollup, now, fence).await?;
        }
        Ok(written)
    }

    async fn roll_up_one(
        &self,
        rollup: &Rollup,
        now: Millis,
        fence: Option<&Fence>,
    ) -> Result<u64, StoreError> {
        let d = self.dialect;
        let width = rollup.level.width();
        let progress_sql = d.sql("SELECT rolled_until FROM rollup_progress WHERE name = ?");
        let done: Option<i64> = sqlx::query(&progress_sql)
            .bind(rollup.name)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        let start = match done {
            Some(done) => done,
            None => {
                let text = format!("SELECT MIN(ts) FROM {}", rollup.source);
                let first: Option<i64> =
                    sqlx::query(&text).fetch_one(&self.pool).await?.try_get(0)?;
                match first {
                    Some(first) => first - first.rem_euclid(width),
                    None => return Ok(0),
                }
            }
        };
        let mut ready = now - ROLLUP_GRACE;
        // A rollup of a rollup never runs ahead of the level below it.
        if let Some(below) = ROLLUPS.iter().find(|r| r.target == rollup.source) {
            let below_done: Option<i64> = sqlx::query(&progress_sql)
                .bind(below.name)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            ready = ready.min(below_done.unwrap_or(i64::MIN));
        }
        let until = (ready - ready.rem_euclid(width)).min(start + ROLLUP_STEP.max(width));
        if until <= start {
            return Ok(0);
        }
        let aggregates: Vec<String> = rollup
            .aggregates
            .iter()
            .map(|a| if a.starts_with("MAX") { d.as_bigint(a) } else { d.as_double(a) })
            .collect();
        let text = format!(
            "INSERT INTO {target} ({keys}, ts, {columns}) SELECT {keys}, {bucket} AS bucket, {aggregates} \
             FROM {source} WHERE ts >= ? AND ts < ? GROUP BY {keys}, bucket",
            target = rollup.target,
            source = rollup.source,
            keys = rollup.keys,
            columns = rollup.columns,
            bucket = d.bucket("ts"),
            aggregates = aggregates.join(", "),
        );
        let insert = d.sql(&text);
        let forget = d.sql("DELETE FROM rollup_progress WHERE name = ?");
        let record = d.sql("INSERT INTO rollup_progress (name, rolled_until) VALUES (?, ?)");
        let mut tx = self.write_transaction().await?;
        if let Some(fence) = fence {
            super::leases::check_fence(&mut tx, d, fence).await?;
        }
        let written = sqlx::query(&insert)
            .bind(width)
            .bind(start)
            .bind(until)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(&forget).bind(rollup.name).execute(&mut *tx).await?;
        sqlx::query(&record).bind(rollup.name).bind(until).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(written)
    }
}
