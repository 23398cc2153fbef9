//! History in SQL: SQLite, PostgreSQL or MySQL/MariaDB behind one `Store`, chosen by URL.
//! Queries are written once with `?` placeholders over `sqlx::Any`; [`Dialect`] holds the few
//! places where the databases differ. Migrations live in `migrations/{sqlite,postgres,mysql}`.

mod access;
mod alerts;
mod dialect;

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Row};

pub use access::{AuditEntry, StoredSession, StoredToken, StoredUser};
pub use alerts::{
    Attempt, Delivery, DeliveryStatus, Incident, IncidentChange, NewDelivery, RoundWrite, Source,
    Stored, StoredSilence,
};
pub use dialect::Dialect;

use crate::domain::Millis;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("migrations/mysql");

/// Rows per multi-row INSERT: far below every dialect's bound-parameter limit.
const INSERT_CHUNK: usize = 500;

/// Tables of per-poll samples; `retention` applies to them.
const RAW_TABLES: [&str; 5] =
    ["cluster_samples", "broker_samples", "group_samples", "group_topic_samples", "metric_samples"];
/// Tables kept as long as the 1-minute rollups: topic samples are minute-grained already.
const MINUTE_TABLES: [&str; 6] = [
    "cluster_samples_1m",
    "metric_samples_1m",
    "group_samples_1m",
    "topic_samples",
    "group_partition_samples",
    "queue_samples",
];
const HOUR_TABLES: [&str; 3] = ["cluster_samples_1h", "group_samples_1h", "metric_samples_1h"];

/// Which grain of history a chart reads: per poll, or the 1-minute or 1-hour rollups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Raw,
    Minute,
    Hour,
}

impl Level {
    fn suffix(self) -> &'static str {
        match self {
            Level::Raw => "",
            Level::Minute => "_1m",
            Level::Hour => "_1h",
        }
    }

    /// Bucket width of the level, in milliseconds (0 for raw samples).
    pub fn width(self) -> Millis {
        match self {
            Level::Raw => 0,
            Level::Minute => 60_000,
            Level::Hour => 3_600_000,
        }
    }
}

/// How long the raw, 1-minute and 1-hour history is kept, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub raw: Millis,
    pub minute: Millis,
    pub hour: Millis,
}

/// One rollup: what it reads, what it writes, and how it aggregates.
struct Rollup {
    name: &'static str,
    source: &'static str,
    target: &'static str,
    level: Level,
    keys: &'static str,
    columns: &'static str,
    /// Aggregates, in `columns` order; `{d}` wraps an expression in a cast to double.
    aggregates: &'static [&'static str],
}

const ROLLUPS: [Rollup; 6] = [
    Rollup {
        name: "metric_samples_1m",
        source: "metric_samples",
        target: "metric_samples_1m",
        level: Level::Minute,
        keys: "cluster, scope, metric",
        columns: "value",
        aggregates: &["AVG(value)"],
    },
    Rollup {
        name: "metric_samples_1h",
        source: "metric_samples_1m",
        target: "metric_samples_1h",
        level: Level::Hour,
        keys: "cluster, scope, metric",
        columns: "value",
        aggregates: &["AVG(value)"],
    },
    Rollup {
        name: "cluster_samples_1m",
        source: "cluster_samples",
        target: "cluster_samples_1m",
        level: Level::Minute,
        keys: "cluster",
        columns: "reachable, partitions, under_replicated, messages_in_per_sec",
        aggregates: &[
            "AVG(reachable)",
            "AVG(CASE WHEN reachable = 1 THEN partitions END)",
            "AVG(CASE WHEN reachable = 1 THEN under_replicated END)",
            "AVG(messages_in_per_sec)",
        ],
    },
    Rollup {
        name: "cluster_samples_1h",
        source: "cluster_samples_1m",
        target: "cluster_samples_1h",
        level: Level::Hour,
        keys: "cluster",
        columns: "reachable, partitions, under_replicated, messages_in_per_sec",
        aggregates: &[
            "AVG(reachable)",
            "AVG(partitions)",
            "AVG(under_replicated)",
            "AVG(messages_in_per_sec)",
        ],
    },
    Rollup {
        name: "group_samples_1m",
        source: "group_samples",
        target: "group_samples_1m",
        level: Level::Minute,
        keys: "cluster, group_name",
        columns: "lag_messages, max_lag, lag_seconds, status, consume_per_sec, produce_per_sec",
        aggregates: &[
            "AVG(lag_messages)",
            "MAX(max_lag)",
            "AVG(lag_seconds)",
            "MAX(status)",
            "AVG(consume_per_sec)",
            "AVG(produce_per_sec)",
        ],
    },
    Rollup {
        name: "group_samples_1h",
        source: "group_samples_1m",
        target: "group_samples_1h",
        level: Level::Hour,
        keys: "cluster, group_name",
        columns: "lag_messages, max_lag, lag_seconds, status, consume_per_sec, produce_per_sec",
        aggregates: &[
            "AVG(lag_messages)",
            "MAX(max_lag)",
            "AVG(lag_seconds)",
            "MAX(status)",
            "AVG(consume_per_sec)",
            "AVG(produce_per_sec)",
        ],
    },
];

/// A bucket is rolled up only once it ended this long ago, so late poll writes land first.
const ROLLUP_GRACE: Millis = 120_000;
/// Most history one rollup step covers, so a long backlog becomes several small transactions.
const ROLLUP_STEP: Millis = 6 * 3_600_000;

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Inserts `rows` into `table_and_columns` with multi-row INSERTs of [`INSERT_CHUNK`] rows;
/// `bind` binds one row's `columns` values.
async fn insert_rows<T>(
    conn: &mut sqlx::AnyConnection,
    dialect: Dialect,
    table_and_columns: &str,
    columns: usize,
    rows: &[T],
    bind: impl for<'q> Fn(AnyQuery<'q>, &T) -> AnyQuery<'q>,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        let sql = dialect.multi_row_insert(
            &format!("INSERT INTO {table_and_columns} VALUES "),
            columns,
            chunk.len(),
        );
        let query = chunk.iter().fold(sqlx::query(&sql), &bind);
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL {0}: {1}")]
    Url(String, String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
}

/// One cluster poll, as written to `cluster_samples`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterSample {
    pub cluster: String,
    pub ts: Millis,
    pub reachable: bool,
    pub brokers: i64,
    pub topics: i64,
    pub partitions: i64,
    pub under_replicated: i64,
    pub offline: i64,
    pub end_offset_sum: i64,
    pub messages_in_per_sec: Option<f64>,
    pub poll_millis: i64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopicSample {
    pub topic: String,
    pub partitions: i64,
    pub end_offset_sum: i64,
    /// Messages/s over the last topic sample interval.
    pub messages_in_per_sec: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerSample {
    pub broker_id: i32,
    pub up: bool,
}

/// One consumer group's lag at one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSample {
    pub group: String,
    pub lag: i64,
    pub max_lag: i64,
    pub lag_seconds: Option<f64>,
    /// [`crate::evaluator::PartitionStatus::code`].
    pub status: i64,
    pub consume_per_sec: Option<f64>,
    pub produce_per_sec: Option<f64>,
}

/// One consumer group's lag on one topic at one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupTopicSample {
    pub group: String,
    pub topic: String,
    pub lag: i64,
    pub lag_seconds: Option<f64>,
}

/// One group partition's lag at one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPartitionSample {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    pub committed: i64,
    pub end: Option<i64>,
    pub lag: i64,
    pub lag_seconds: Option<f64>,
}

/// A group partition's lag at a time, as kept in history.
#[derive(Debug, Clone, Serialize, PartialEq, sqlx::FromRow)]
pub struct PartitionPoint {
    pub ts: Millis,
    pub committed: i64,
    #[sqlx(rename = "end_offset")]
    pub end: Option<i64>,
    pub lag: i64,
    pub lag_seconds: Option<f64>,
}

/// Everything one poll writes, in one transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PollRecord {
    pub cluster: ClusterSample,
    pub topics: Vec<TopicSample>,
    pub brokers: Vec<BrokerSample>,
    pub groups: Vec<GroupSample>,
    pub group_topics: Vec<GroupTopicSample>,
    /// Written every `lag.partition_sample_interval`, so empty for most polls.
    pub group_partitions: Vec<GroupPartitionSample>,
    /// RabbitMQ queues, every `history.topic_sample_interval`.
    pub queues: Vec<QueueSample>,
    /// Broker metrics of the cluster (scope `""`) and each broker (`broker:ID`).
    pub metrics: Vec<MetricSample>,
}

/// One broker metric at one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    pub scope: String,
    pub metric: &'static str,
    pub value: f64,
}

/// A metric's chart point: the average per bucket.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct MetricPoint {
    pub ts: Millis,
    pub value: Option<f64>,
}

/// One RabbitMQ queue at one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSample {
    pub vhost: String,
    pub queue: String,
    pub backlog: i64,
    pub ready: i64,
    pub unacked: i64,
    pub consumers: i64,
    pub publish_rate: Option<f64>,
    pub deliver_rate: Option<f64>,
}

/// A queue's chart point: averages per bucket.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueuePoint {
    pub ts: Millis,
    pub backlog: Option<f64>,
    pub consumers: Option<f64>,
    pub publish_rate: Option<f64>,
    pub deliver_rate: Option<f64>,
}

/// A consumer group's chart point: values averaged (lag: also the bucket's maximum) per bucket.
#[derive(Debug, Clone, Serialize, PartialEq, sqlx::FromRow)]
pub struct GroupPoint {
    #[sqlx(rename = "bucket")]
    pub ts: Millis,
    pub lag: Option<f64>,
    pub max_lag: Option<f64>,
    pub lag_seconds: Option<f64>,
    pub consume_per_sec: Option<f64>,
    pub produce_per_sec: Option<f64>,
}

/// One point of a chart: the start of a time bucket and the values averaged over it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeriesPoint {
    pub ts: Millis,
    pub messages_in_per_sec: Option<f64>,
}

/// A cluster-wide chart point.
#[derive(Debug, Clone, Serialize, PartialEq, sqlx::FromRow)]
pub struct ClusterPoint {
    #[sqlx(rename = "bucket")]
    pub ts: Millis,
    pub messages_in_per_sec: Option<f64>,
    /// Share of the polls in the bucket that reached the cluster, 0.0–1.0.
    pub reachable: f64,
    pub partitions: Option<f64>,
    pub under_replicated: Option<f64>,
}

/// A broker's availability over a time range.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BrokerAvailability {
    pub broker_id: i32,
    pub polls: i64,
    pub polls_up: i64,
    pub last_seen_up: Option<Millis>,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
}

impl Store {
    /// A transaction that writes. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`):
    /// a deferred transaction that reads first and then writes fails with "database is locked"
    /// — without waiting for `busy_timeout` — when another connection wrote in between.
    pub(crate) async fn write_transaction(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres | Dialect::Mysql => self.pool.begin().await,
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dialect", &self.dialect).finish_non_exhaustive()
    }
}

/// Rewrites `sqlite://relative/path` so the file and its folder are created when missing.
fn prepare_sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let parent = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent.filter(|_| path != ":memory:") {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Url(url.to_owned(), format!("cannot create {}: {e}", parent.display()))
        })?;
    }
    let mode = if query.contains("mode=") { String::new() } else { "mode=rwc".into() };
    let query =
        [query, &mode].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join("&");
    Ok(format!("sqlite://{path}?{query}"))
}

impl Store {
    /// Connects and applies the dialect's migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_url(url)
            .ok_or_else(|| StoreError::Url(redact(url), "unknown scheme".into()))?;
        let url = match dialect {
            Dialect::Sqlite => prepare_sqlite_url(url)?,
            Dialect::Mysql => url.replacen("mariadb://", "mysql://", 1),
            Dialect::Postgres => url.to_owned(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite {
                max_connections.max(2)
            } else {
                max_connections
            })
            .acquire_timeout(Duration::from_secs(10));
        let options = if dialect == Dialect::Sqlite {
            options.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets pages read while the poller writes; NORMAL sync is durable
                    // enough for history and much faster.
                    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options.connect(&url).await.map_err(StoreError::Connect)?;
        let store = Store { pool, dialect };
        store.migrate().await?;
        Ok(store)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
            Dialect::Mysql => &MYSQL_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Cheap round trip for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Writes one poll in a single transaction, so a chart never sees half a poll.
    #[tracing::instrument(skip_all, fields(cluster = %record.cluster.cluster, topics = record.topics.len()))]
    pub async fn record_poll(&self, record: &PollRecord) -> Result<(), StoreError> {
        let c = &record.cluster;
        let mut tx = self.write_transaction().await?;
        sqlx::query(&self.dialect.sql(
            "INSERT INTO cluster_samples (cluster, ts, reachable, brokers, topics, partitions, \
             under_replicated, offline, end_offset_sum, messages_in_per_sec, poll_millis, error) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(&c.cluster)
        .bind(c.ts)
        .bind(i64::from(c.reachable))
        .bind(c.brokers)
        .bind(c.topics)
        .bind(c.partitions)
        .bind(c.under_replicated)
        .bind(c.offline)
        .bind(c.end_offset_sum)
        .bind(c.messages_in_per_sec)
        .bind(c.poll_millis)
        .bind(c.error.as_deref())
        .execute(&mut *tx)
        .await?;

        let d = self.dialect;
        insert_rows(
            &mut tx,
            d,
            "topic_samples (cluster, topic, ts, partitions, end_offset_sum, messages_in_per_sec)",
            6,
            &record.topics,
            |q, t| {
                q.bind(c.cluster.clone())
                    .bind(t.topic.clone())
                    .bind(c.ts)
                    .bind(t.partitions)
                    .bind(t.end_offset_sum)
                    .bind(t.messages_in_per_sec)
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            d,
            "broker_samples (cluster, broker_id, ts, up)",
            4,
            &record.brokers,
            |q, b| {
                q.bind(c.cluster.clone())
                    .bind(i64::from(b.broker_id))
                    .bind(c.ts)
                    .bind(i64::from(b.up))
            },
        )
        .await?;
        insert_rows(&mut tx, d, "group_samples (cluster, group_name, ts, lag_messages, max_lag, lag_seconds, status, consume_per_sec, produce_per_sec)", 9, &record.groups, |q, g| {
            q.bind(c.cluster.clone()).bind(g.group.clone()).bind(c.ts).bind(g.lag).bind(g.max_lag).bind(g.lag_seconds).bind(g.status).bind(g.consume_per_sec).bind(g.produce_per_sec)
        })
        .await?;
        insert_rows(
            &mut tx,
            d,
            "group_partition_samples (cluster, group_name, topic, partition_id, ts, \
             committed_offset, end_offset, lag_messages, lag_seconds)",
            9,
            &record.group_partitions,
            |q, g| {
                q.bind(c.cluster.clone())
                    .bind(g.group.clone())
                    .bind(g.topic.clone())
                    .bind(i64::from(g.partition))
                    .bind(c.ts)
                    .bind(g.committed)
                    .bind(g.end)
                    .bind(g.lag)
                    .bind(g.lag_seconds)
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            d,
            "group_topic_samples (cluster, group_name, topic, ts, lag_messages, lag_seconds)",
            6,
            &record.group_topics,
            |q, g| {
                q.bind(c.cluster.clone())
                    .bind(g.group.clone())
                    .bind(g.topic.clone())
                    .bind(c.ts)
                    .bind(g.lag)
                    .bind(g.lag_seconds)
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            d,
            "queue_samples (cluster, vhost, queue, ts, backlog, ready, unacked, consumers, \
             publish_rate, deliver_rate)",
            10,
            &record.queues,
            |q, s| {
                q.bind(c.cluster.clone())
                    .bind(s.vhost.clone())
                    .bind(s.queue.clone())
                    .bind(c.ts)
                    .bind(s.backlog)
                    .bind(s.ready)
                    .bind(s.unacked)
                    .bind(s.consumers)
                    .bind(s.publish_rate)
                    .bind(s.deliver_rate)
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            d,
            "metric_samples (cluster, scope, metric, ts, value)",
            5,
            &record.metrics,
            |q, m| {
                q.bind(c.cluster.clone())
                    .bind(m.scope.clone())
                    .bind(m.metric)
                    .bind(c.ts)
                    .bind(m.value)
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every metric of one scope (`""`: the cluster, `broker:ID`) in `[from, to)` at `level`,
    /// averaged over buckets of `bucket` milliseconds: metric → points.
    pub async fn metric_series(
        &self,
        cluster: &str,
        scope: &str,
        level: Level,
        from: Millis,
        to: Millis,
        bucket: Millis,
    ) -> Result<std::collections::BTreeMap<String, Vec<MetricPoint>>, StoreError> {
        let text = format!(
            "SELECT metric, {b} AS bucket, {value} FROM metric_samples{suffix} \
             WHERE cluster = ? AND scope = ? AND ts >= ? AND ts < ? \
             GROUP BY metric, bucket ORDER BY metric, bucket",
            b = self.dialect.bucket("ts"),
            value = self.dialect.as_double("AVG(value)"),
            suffix = level.suffix(),
        );
        let sql = self.dialect.sql(&text);
        let rows = sqlx::query(&sql)
            .bind(bucket.max(1))
            .bind(cluster)
            .bind(scope)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        let mut series: std::collections::BTreeMap<String, Vec<MetricPoint>> = Default::default();
        for row in &rows {
            let metric: String = row.try_get(0)?;
            series
                .entry(metric)
                .or_default()
                .push(MetricPoint { ts: row.try_get(1)?, value: row.try_get(2)? });
        }
        Ok(series)
    }

    /// A queue's points in `[from, to)`, averaged over buckets of `bucket` milliseconds.
    pub async fn queue_series(
        &self,
        cluster: &str,
        vhost: &str,
        queue: &str,
        from: Millis,
        to: Millis,
        bucket: Millis,
    ) -> Result<Vec<QueuePoint>, StoreError> {
        let text = format!(
            "SELECT {b} AS bucket, {backlog}, {consumers}, AVG(publish_rate), AVG(deliver_rate) \
             FROM queue_samples WHERE cluster = ? AND vhost = ? AND queue = ? AND ts >= ? AND ts < ? \
             GROUP BY bucket ORDER BY bucket",
            b = self.dialect.bucket("ts"),
            backlog = self.dialect.as_double("AVG(backlog)"),
            consumers = self.dialect.as_double("AVG(consumers)"),
        );
        let sql = self.dialect.sql(&text);
        let rows = sqlx::query(&sql)
            .bind(bucket.max(1))
            .bind(cluster)
            .bind(vhost)
            .bind(queue)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(QueuePoint {
                    ts: row.try_get(0)?,
                    backlog: row.try_get(1)?,
                    consumers: row.try_get(2)?,
                    publish_rate: row.try_get(3)?,
                    deliver_rate: row.try_get(4)?,
                })
            })
            .collect()
    }

    /// Cluster-wide points in `[from, to)`, averaged over buckets of `bucket` milliseconds.
    #[tracing::instrument(skip_all, fields(cluster))]
    pub async fn cluster_series(
        &self,
        cluster: &str,
        level: Level,
        from: Millis,
        to: Millis,
        bucket: Millis,
    ) -> Result<Vec<ClusterPoint>, StoreError> {
        let text = format!(
            "SELECT {b} AS bucket, AVG(messages_in_per_sec) AS messages_in_per_sec, \
             {reach} AS reachable, {parts} AS partitions, {urp} AS under_replicated \
             FROM cluster_samples{suffix} WHERE cluster = ? AND ts >= ? AND ts < ? \
             GROUP BY bucket ORDER BY bucket",
            b = self.dialect.bucket("ts"),
            reach = self.dialect.as_double("AVG(reachable)"),
            parts = self.dialect.as_double("AVG(CASE WHEN reachable > 0 THEN partitions END)"),
            urp = self.dialect.as_double("AVG(CASE WHEN reachable > 0 THEN under_replicated END)"),
            suffix = level.suffix(),
        );
        let sql = self.dialect.sql(&text);
        Ok(sqlx::query_as::<_, ClusterPoint>(&sql)
            .bind(bucket.max(1))
            .bind(cluster)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?)
    }

    /// A topic's messages/s in `[from, to)`, averaged over buckets of `bucket` milliseconds.
    /// Topic samples are written only when the topic moved, so a bucket in which the cluster
    /// was polled but the topic has no row is reported as 0 msg/s; a bucket in which the
    /// cluster was not reachable is left out.
    #[tracing::instrument(skip_all, fields(cluster, topic))]
    pub async fn topic_series(
        &self,
        cluster: &str,
        topic: &str,
        level: Level,
        from: Millis,
        to: Millis,
        bucket: Millis,
    ) -> Result<Vec<SeriesPoint>, StoreError> {
        let text = format!(
            "SELECT {b} AS bucket, AVG(messages_in_per_sec) FROM topic_samples \
             WHERE cluster = ? AND topic = ? AND ts >= ? AND ts < ? GROUP BY bucket ORDER BY bucket",
            b = self.dialect.bucket("ts"),
        );
        let sql = self.dialect.sql(&text);
        let rows = sqlx::query(&sql)
            .bind(bucket.max(1))
            .bind(cluster)
            .bind(topic)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        let mut moved = std::collections::BTreeMap::new();
        for row in &rows {
            moved.insert(row.try_get::<i64, _>(0)?, row.try_get::<Option<f64>, _>(1)?);
        }
        let polled = self.cluster_series(cluster, level, from, to, bucket).await?;
        Ok(polled
            .into_iter()
            .filter(|p| p.reachable > 0.0)
            .map(|p| SeriesPoint {
                ts: p.ts,
                messages_in_per_sec: moved.get(&p.ts).copied().unwrap_or(Some(0.0)),
            })
            .collect())
    }

    /// A consumer group's lag and rates in `[from, to)`, per bucket of `bucket` milliseconds.
    #[tracing::instrument(skip_all, fields(cluster, group))]
    pub async fn group_series(
        &self,
        cluster: &str,
        group: &str,
        level: Level,
        from: Millis,
        to: Millis,
        bucket: Millis,
    ) -> Result<Vec<GroupPoint>, StoreError> {
        let d = self.dialect;
        let text = format!(
            "SELECT {b} AS bucket, {lag} AS lag, {max_lag} AS max_lag, AVG(lag_seconds) AS lag_seconds, \
             AVG(consume_per_sec) AS consume_per_sec, AVG(produce_per_sec) AS produce_per_sec \
             FROM group_samples{suffix} \
             WHERE cluster = ? AND group_name = ? AND ts >= ? AND ts < ? GROUP BY bucket ORDER BY bucket",
            b = d.bucket("ts"),
            lag = d.as_double("AVG(lag_messages)"),
            max_lag = d.as_double("MAX(max_lag)"),
            suffix = level.suffix(),
        );
        let sql = d.sql(&text);
        Ok(sqlx::query_as::<_, GroupPoint>(&sql)
            .bind(bucket.max(1))
            .bind(cluster)
            .bind(group)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?)
    }

    /// One group partition's lag history in `[from, to)`, as sampled (oldest first).
    pub async fn partition_series(
        &self,
        cluster: &str,
        group: &str,
        topic: &str,
        partition: i32,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<PartitionPoint>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT ts, committed_offset AS committed, end_offset, lag_messages AS lag, lag_seconds \
             FROM group_partition_samples \
             WHERE cluster = ? AND group_name = ? AND topic = ? AND partition_id = ? AND ts >= ? AND ts < ? \
             ORDER BY ts",
        );
        Ok(sqlx::query_as::<_, PartitionPoint>(&sql)
            .bind(cluster)
            .bind(group)
            .bind(topic)
            .bind(i64::from(partition))
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?)
    }

    /// How often each broker was up in `[from, to)`.
    pub async fn broker_availability(
        &self,
        cluster: &str,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<BrokerAvailability>, StoreError> {
        let text = format!(
            "SELECT broker_id, COUNT(*), {up}, MAX(CASE WHEN up = 1 THEN ts END) \
             FROM broker_samples WHERE cluster = ? AND ts >= ? AND ts < ? \
             GROUP BY broker_id ORDER BY broker_id",
            up = self.dialect.as_bigint("SUM(up)"),
        );
        let sql = self.dialect.sql(&text);
        let rows =
            sqlx::query(&sql).bind(cluster).bind(from).bind(to).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(BrokerAvailability {
                    broker_id: i32::try_from(row.try_get::<i64, _>(0)?).unwrap_or(-1),
                    polls: row.try_get(1)?,
                    polls_up: row.try_get(2)?,
                    last_seen_up: row.try_get(3)?,
                })
            })
            .collect()
    }

    /// When the cluster was last reached, from history (survives restarts).
    pub async fn last_good_poll(&self, cluster: &str) -> Result<Option<Millis>, StoreError> {
        let sql = self
            .dialect
            .sql("SELECT MAX(ts) FROM cluster_samples WHERE cluster = ? AND reachable = 1");
        Ok(sqlx::query(&sql).bind(cluster).fetch_one(&self.pool).await?.try_get(0)?)
    }

    /// The last sample written for a cluster.
    pub async fn latest_cluster_sample(
        &self,
        cluster: &str,
    ) -> Result<Option<ClusterSample>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT cluster, ts, reachable, brokers, topics, partitions, under_replicated, offline, \
             end_offset_sum, messages_in_per_sec, poll_millis, error FROM cluster_samples \
             WHERE cluster = ? ORDER BY ts DESC LIMIT 1",
        );
        let row = sqlx::query(&sql).bind(cluster).fetch_optional(&self.pool).await?;
        row.map(|row| {
            Ok(ClusterSample {
                cluster: row.try_get(0)?,
                ts: row.try_get(1)?,
                reachable: row.try_get::<i64, _>(2)? == 1,
                brokers: row.try_get(3)?,
                topics: row.try_get(4)?,
                partitions: row.try_get(5)?,
                under_replicated: row.try_get(6)?,
                offline: row.try_get(7)?,
                end_offset_sum: row.try_get(8)?,
                messages_in_per_sec: row.try_get(9)?,
                poll_millis: row.try_get(10)?,
                error: row.try_get(11)?,
            })
        })
        .transpose()
    }

    /// Deletes history older than each level's retention, as of `now`; returns the rows gone.
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
            for table in tables {
                let text = format!("DELETE FROM {table} WHERE ts < ?");
                let sql = self.dialect.sql(&text);
                deleted += sqlx::query(&sql)
                    .bind(now.saturating_sub(keep))
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
            }
        }
        deleted += self.prune_alert_history(now.saturating_sub(retention.hour)).await?;
        Ok(deleted)
    }

    /// Rolls complete buckets up one level (raw → 1 min → 1 h), each rollup from where it last
    /// stopped; returns the rows written. Safe to call at any time and as often as wanted.
    #[tracing::instrument(skip_all)]
    pub async fn roll_up(&self, now: Millis) -> Result<u64, StoreError> {
        let mut written = 0;
        for rollup in &ROLLUPS {
            written += self.roll_up_one(rollup, now).await?;
        }
        Ok(written)
    }

    async fn roll_up_one(&self, rollup: &Rollup, now: Millis) -> Result<u64, StoreError> {
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

fn redact(url: &str) -> String {
    crate::secret::Secret::new(url).redacted()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode_and_keep_their_options() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.db");
        let url = format!("sqlite://{}", path.display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(path.parent().unwrap().is_dir());
        assert_eq!(
            prepare_sqlite_url("sqlite://:memory:?mode=memory").unwrap(),
            "sqlite://:memory:?mode=memory"
        );
    }
}
