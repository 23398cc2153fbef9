//! Time partitions of the sample tables on PostgreSQL: one per UTC day, made before the first write of a day, dropped whole once past retention.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// The sample tables partitioned by `ts` on PostgreSQL (migration 0010).
pub(super) const PARTITIONED: [&str; 8] = [
    "cluster_samples",
    "broker_samples",
    "topic_samples",
    "group_samples",
    "group_topic_samples",
    "group_partition_samples",
    "queue_samples",
    "metric_samples",
];

/// Width of one partition.
pub const PARTITION_WIDTH: Millis = 86_400_000;

/// How many days ahead of today the history job makes partitions, so a poll rarely has to.
const DAYS_AHEAD: i64 = 2;

/// How long dropping a partition waits for the table's lock before trying again next run: a
/// drop queued behind a long chart query would hold up every write behind it.
const DROP_LOCK_TIMEOUT: &str = "5s";

/// One partition of a sample table and the `ts` range it takes, `to` exclusive; `None` is
/// PostgreSQL's MINVALUE or MAXVALUE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub name: String,
    pub from: Option<Millis>,
    pub to: Option<Millis>,
}

impl Partition {
    fn overlaps(&self, from: Millis, to: Millis) -> bool {
        self.from.is_none_or(|start| start < to) && self.to.is_none_or(|end| end > from)
    }

    /// Every row in it is older than `before`.
    fn ends_by(&self, before: Millis) -> bool {
        self.to.is_some_and(|end| end <= before)
    }
}

/// The days (start instants) this process knows have their partitions in every table.
#[derive(Debug, Default)]
pub(super) struct CoveredDays(tokio::sync::Mutex<BTreeSet<Millis>>);

/// Start of the UTC day (the partition) holding `ts`.
pub fn day_of(ts: Millis) -> Millis {
    ts - ts.rem_euclid(PARTITION_WIDTH)
}

/// `name` as a quoted SQL identifier: partitions made by hand may have any name.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn partition_name(table: &str, day: Millis) -> String {
    format!("{table}_p{}", crate::clock::utc_date_digits(day))
}

/// Reads PostgreSQL's text of a range bound (`pg_get_expr(relpartbound)`):
/// `FOR VALUES FROM ('1') TO ('2')`, with MINVALUE or MAXVALUE for an open end.
fn parse_bound(text: &str) -> Option<(Option<Millis>, Option<Millis>)> {
    let rest = text.trim().strip_prefix("FOR VALUES FROM (")?;
    let (from, rest) = rest.split_once(") TO (")?;
    let to = rest.strip_suffix(')')?;
    let value = |v: &str| -> Option<Option<Millis>> {
        match v.trim() {
            "MINVALUE" | "MAXVALUE" => Some(None),
            v => v.trim_matches('\'').parse().ok().map(Some),
        }
    };
    Some((value(from)?, value(to)?))
}

/// The days of `days` that no partition in `existing` touches.
fn missing_days(existing: &[Partition], days: &BTreeSet<Millis>) -> Vec<Millis> {
    days.iter()
        .copied()
        .filter(|&day| !existing.iter().any(|p| p.overlaps(day, day + PARTITION_WIDTH)))
        .collect()
}

/// Duplicate table or type: another writer made the same partition first.
fn made_by_another(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation() || e.code().as_deref() == Some("42P07"))
}

/// PostgreSQL refused a row for want of a partition (check_violation: the sample tables have
/// no CHECK constraints of their own).
pub(super) fn no_partition_for_row(error: &StoreError) -> bool {
    match error {
        StoreError::Query(e) => {
            e.as_database_error().and_then(|e| e.code()).as_deref() == Some("23514")
        }
        _ => false,
    }
}

impl Store {
    /// Makes sure every sample table has a partition for the day of `ts` before a poll taken
    /// then is written. Only PostgreSQL partitions; a day seen before costs a set lookup.
    pub(super) async fn cover(&self, ts: Millis) -> Result<(), StoreError> {
        if self.dialect != Dialect::Postgres {
            return Ok(());
        }
        let day = day_of(ts);
        let mut covered = self.covered_days.0.lock().await;
        if covered.contains(&day) {
            return Ok(());
        }
        self.make_partitions(&BTreeSet::from([day])).await?;
        covered.insert(day);
        Ok(())
    }

    /// Forgets that the day of `ts` has its partitions, so the next write there checks again.
    pub(super) async fn forget_day(&self, ts: Millis) {
        self.covered_days.0.lock().await.remove(&day_of(ts));
    }

    /// Makes the partitions from today to [`DAYS_AHEAD`] days after `now` (PostgreSQL only);
    /// returns how many it made. The history job calls it.
    pub async fn prepare_partitions(&self, now: Millis) -> Result<usize, StoreError> {
        if self.dialect != Dialect::Postgres {
            return Ok(0);
        }
        let today = day_of(now);
        // Not yesterday: with a retention under a day, retention would drop it again right
        // after. A late poll for a past day makes its own (`cover`).
        let days: BTreeSet<Millis> =
            (0..=DAYS_AHEAD).map(|n| today + n * PARTITION_WIDTH).collect();
        let mut covered = self.covered_days.0.lock().await;
        let made = self.make_partitions(&days).await?;
        covered.extend(days);
        Ok(made)
    }

    async fn make_partitions(&self, days: &BTreeSet<Millis>) -> Result<usize, StoreError> {
        let mut existing = self.partitions().await?;
        let mut made = 0;
        for table in PARTITIONED {
            let partitions = existing.remove(table).unwrap_or_default();
            for day in missing_days(&partitions, days) {
                // A table made apart and then attached: `CREATE TABLE … PARTITION OF` would
                // lock the parent against every read and write (ACCESS EXCLUSIVE) and queue
                // behind a long chart query; attaching an empty table takes a lock that lets
                // both go on.
                let name = partition_name(table, day);
                let create =
                    format!("CREATE TABLE IF NOT EXISTS {name} (LIKE {table} INCLUDING ALL)");
                let attach = format!(
                    "ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({day}) TO ({})",
                    day + PARTITION_WIDTH
                );
                for ddl in [create, attach] {
                    match sqlx::query(&ddl).persistent(false).execute(&self.pool).await {
                        Ok(_) => {}
                        Err(e) if made_by_another(&e) => {}
                        // Another instance attached it first: fine when the day is covered now.
                        Err(e) if self.day_covered(table, day).await? => {
                            tracing::debug!(table, day, error = %e, "partition attached by another instance");
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                made += 1;
            }
        }
        if made > 0 {
            tracing::debug!(made, "made sample partitions");
        }
        Ok(made)
    }

    async fn day_covered(&self, table: &str, day: Millis) -> Result<bool, StoreError> {
        let partitions = self.partitions().await?.remove(table).unwrap_or_default();
        Ok(missing_days(&partitions, &BTreeSet::from([day])).is_empty())
    }

    /// The partitions of each partitioned sample table, oldest first (PostgreSQL; empty elsewhere).
    pub async fn partitions(&self) -> Result<BTreeMap<String, Vec<Partition>>, StoreError> {
        let mut tables: BTreeMap<String, Vec<Partition>> = BTreeMap::new();
        if self.dialect != Dialect::Postgres {
            return Ok(tables);
        }
        let rows = sqlx::query(
            "SELECT parent.relname::TEXT, child.relname::TEXT, \
                    pg_get_expr(child.relpartbound, child.oid) \
             FROM pg_inherits \
             JOIN pg_class parent ON parent.oid = pg_inherits.inhparent \
             JOIN pg_class child ON child.oid = pg_inherits.inhrelid \
             JOIN pg_namespace ON pg_namespace.oid = parent.relnamespace \
             WHERE pg_namespace.nspname = current_schema() AND parent.relkind = 'p'",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let (table, name, bound): (String, String, String) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            // A partition someone added by hand (a DEFAULT one, say) is theirs to look after;
            // the days Osprey makes and drops are read from its own.
            let Some((from, to)) = parse_bound(&bound) else {
                tracing::debug!(%table, partition = %name, %bound, "a partition not by day; left alone");
                continue;
            };
            tables.entry(table).or_default().push(Partition { name, from, to });
        }
        for partitions in tables.values_mut() {
            partitions.sort_by_key(|p| p.from);
        }
        Ok(tables)
    }

    /// Drops the partitions of `table` whose rows are all older than `before`; returns how
    /// many. A drop that cannot get the table's lock in time is left for the next run.
    pub(super) async fn drop_partitions_before(
        &self,
        table: &str,
        before: Millis,
    ) -> Result<usize, StoreError> {
        let partitions = self.partitions().await?.remove(table).unwrap_or_default();
        let mut dropped = 0;
        for partition in partitions.iter().filter(|p| p.ends_by(before)) {
            let mut tx = self.pool.begin().await?;
            sqlx::query(&format!("SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
                .execute(&mut *tx)
                .await?;
            let drop = format!("DROP TABLE IF EXISTS {}", quoted(&partition.name));
            let dropping = match sqlx::query(&drop).persistent(false).execute(&mut *tx).await {
                Ok(_) => tx.commit().await,
                Err(e) => Err(e),
            };
            match dropping {
                Ok(()) => {
                    dropped += 1;
                    tracing::info!(table, partition = %partition.name, "dropped a sample partition past retention");
                }
                // 55P03: lock_not_available.
                Err(e)
                    if e.as_database_error().and_then(|e| e.code()).as_deref() == Some("55P03") =>
                {
                    tracing::info!(table, partition = %partition.name, "a sample partition past retention is in use; dropping it next run");
                }
                // One partition that cannot go must not stop the rest of retention.
                Err(e) => {
                    tracing::warn!(table, partition = %partition.name, error = %e, "could not drop a sample partition past retention");
                }
            }
        }
        if dropped > 0 {
            let mut covered = self.covered_days.0.lock().await;
            covered.retain(|&day| day + PARTITION_WIDTH > before);
        }
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Millis = PARTITION_WIDTH;
    /// 2027-01-15 00:00 UTC.
    const JAN_15: Millis = 1_800_000_000_000 - 1_800_000_000_000 % DAY;

    fn partition(from: Option<Millis>, to: Option<Millis>) -> Partition {
        Partition { name: "p".into(), from, to }
    }

    #[test]
    fn bounds_read_as_postgresql_prints_them() {
        assert_eq!(
            parse_bound("FOR VALUES FROM ('1800000000000') TO ('1800086400000')"),
            Some((Some(1_800_000_000_000), Some(1_800_086_400_000)))
        );
        assert_eq!(
            parse_bound("FOR VALUES FROM (MINVALUE) TO ('1764806400000')"),
            Some((None, Some(1_764_806_400_000)))
        );
        assert_eq!(parse_bound("FOR VALUES FROM ('5') TO (MAXVALUE)"), Some((Some(5), None)));
        assert_eq!(parse_bound("DEFAULT"), None);
        assert_eq!(parse_bound("FOR VALUES IN ('a')"), None);
        assert_eq!(parse_bound("FOR VALUES FROM ('x') TO ('2')"), None);
    }

    #[test]
    fn partitions_are_named_by_their_utc_day() {
        assert_eq!(day_of(1_800_000_000_000), JAN_15);
        assert_eq!(day_of(JAN_15), JAN_15);
        assert_eq!(day_of(JAN_15 - 1), JAN_15 - DAY);
        assert_eq!(partition_name("cluster_samples", JAN_15), "cluster_samples_p20270115");
        assert_eq!(
            partition_name("group_partition_samples", JAN_15 - DAY),
            "group_partition_samples_p20270114"
        );
    }

    #[test]
    fn only_days_no_partition_touches_are_made() {
        let days: BTreeSet<Millis> = (0..4).map(|n| JAN_15 + n * DAY).collect();
        // The table's first partition runs from the beginning of time to the migration's next
        // midnight; the day after has a partition already.
        let existing = [
            partition(None, Some(JAN_15 + DAY)),
            partition(Some(JAN_15 + 2 * DAY), Some(JAN_15 + 3 * DAY)),
        ];
        assert_eq!(missing_days(&existing, &days), [JAN_15 + DAY, JAN_15 + 3 * DAY]);
        // A partition someone made by hand over part of a day: that day is not made again.
        let by_hand = [partition(Some(JAN_15 + 3_600_000), Some(JAN_15 + 7_200_000))];
        assert_eq!(missing_days(&by_hand, &BTreeSet::from([JAN_15])), Vec::<Millis>::new());
        assert_eq!(missing_days(&[], &BTreeSet::from([JAN_15])), [JAN_15]);
        assert_eq!(missing_days(&[partition(None, None)], &days), Vec::<Millis>::new());
    }

    #[test]
    fn a_partition_is_dropped_only_when_all_of_it_is_past_the_cutoff() {
        let day = partition(Some(JAN_15), Some(JAN_15 + DAY));
        assert!(!day.ends_by(JAN_15 + DAY - 1), "its last millisecond is still kept");
        assert!(day.ends_by(JAN_15 + DAY));
        assert!(partition(None, Some(JAN_15)).ends_by(JAN_15));
        assert!(!partition(Some(JAN_15), None).ends_by(i64::MAX));
    }
}
