//! History at scale on PostgreSQL (issue 18): three days of per-poll group samples — 30 clusters
//! × 20 groups every 10 s, 5.2 million rows a day — in a database partitioned by day (what Osprey
//! makes now) and in one migrated as before partitioning. For each: bytes per million samples,
//! the time retention takes to remove the oldest day and what it leaves on disk, and chart reads
//! (one group's last hour, one cluster's last 24 h of every group) before and after.
//!
//! Run through `scripts/bench.sh history` (it starts a PostgreSQL of its own).

use std::time::{Duration, Instant};

use osprey::store::{PARTITION_WIDTH, Retention, Store};
use sqlx::{Connection, PgConnection, Row};

const DAY: i64 = PARTITION_WIDTH;
const CLUSTERS: i64 = 30;
const GROUPS: i64 = 20;
const POLL: i64 = 10_000;
const DAYS: i64 = 3;
const READS: usize = 20;

fn admin_url() -> String {
    std::env::var("OSPREY_TEST_POSTGRES_URL")
        .expect("OSPREY_TEST_POSTGRES_URL (scripts/bench.sh history sets it)")
}

async fn fresh_database(name: &str) -> String {
    let admin = admin_url();
    let mut conn = PgConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

/// Writes DAYS days of group samples ending at `end`, a day per statement; returns the seconds.
async fn load(conn: &mut PgConnection, end: i64) -> f64 {
    let started = Instant::now();
    for day in (1..=DAYS).rev() {
        let from = end - day * DAY;
        sqlx::query(
            "INSERT INTO group_samples (cluster, group_name, ts, lag_messages, max_lag, lag_seconds, \
             status, consume_per_sec, produce_per_sec) \
             SELECT 'cluster-' || c, 'group-' || g, t, (t / 1000 + g * 7) % 5000, 100, 1.5, 1, 40.0, 41.0 \
             FROM generate_series(1, $1) c, generate_series(1, $2) g, \
                  generate_series($3::BIGINT, $4::BIGINT - 1, $5::BIGINT) t",
        )
        .bind(CLUSTERS)
        .bind(GROUPS)
        .bind(from)
        .bind(from + DAY)
        .bind(POLL)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    sqlx::query("ANALYZE group_samples").execute(&mut *conn).await.unwrap();
    started.elapsed().as_secs_f64()
}

/// Bytes of group_samples with its indexes, every partition included.
async fn size(conn: &mut PgConnection) -> i64 {
    // pg_partition_tree lists nothing for a table that is not partitioned.
    sqlx::query(
        "SELECT CAST(COALESCE((SELECT SUM(pg_total_relation_size(relid)) \
         FROM pg_partition_tree('group_samples')), pg_total_relation_size('group_samples')) AS BIGINT)",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap()
    .get(0)
}

async fn rows(conn: &mut PgConnection) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM group_samples").fetch_one(&mut *conn).await.unwrap().get(0)
}

/// Median and worst of READS runs of a chart's query, in milliseconds.
async fn read_times(conn: &mut PgConnection, end: i64) -> [(f64, f64); 2] {
    let hour = "SELECT ts, lag_messages FROM group_samples \
                WHERE cluster = $1 AND group_name = $2 AND ts >= $3 AND ts < $4 ORDER BY ts";
    let day = "SELECT group_name, MAX(lag_messages) FROM group_samples \
               WHERE cluster = $1 AND ts >= $3 AND ts < $4 AND group_name <> $2 GROUP BY group_name";
    let mut out = [(0.0, 0.0); 2];
    for (i, (sql, span)) in [(hour, 3_600_000), (day, DAY)].into_iter().enumerate() {
        let mut times = Vec::with_capacity(READS);
        for n in 0..READS {
            let cluster = format!("cluster-{}", 1 + n as i64 % CLUSTERS);
            let started = Instant::now();
            let found = sqlx::query(sql)
                .bind(&cluster)
                .bind("group-3")
                .bind(end - span)
                .bind(end)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert!(!found.is_empty());
        }
        times.sort_by(f64::total_cmp);
        out[i] = (times[READS / 2], times[READS - 1]);
    }
    out
}

fn mb(bytes: i64) -> f64 {
    bytes as f64 / 1_048_576.0
}

#[tokio::main]
async fn main() {
    sqlx::any::install_default_drivers();
    let end = osprey::clock::now_millis();
    let end = end - end % DAY;
    let keep_two_days =
        Retention { raw: 2 * DAY, minute: 30 * DAY, hour: 400 * DAY, audit: 400 * DAY };
    println!(
        "{DAYS} days of group samples: {CLUSTERS} clusters × {GROUPS} groups every {} s = {} rows a day\n",
        POLL / 1000,
        CLUSTERS * GROUPS * DAY / POLL
    );
    println!(
        "| schema | load s | rows | MB | bytes/sample | 1 h of a group ms (median / max) | 24 h of a cluster ms | retention of a day s | MB after | 1 h / 24 h after ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    // `-- partitioned` or `-- plain` runs one of the two.
    let only = std::env::args().nth(1);
    for partitioned in [true, false] {
        let schema = if partitioned { "partitioned" } else { "plain" };
        if only.as_deref().is_some_and(|only| only != schema) {
            continue;
        }
        let url =
            fresh_database(if partitioned { "bench_partitioned" } else { "bench_plain" }).await;
        let store = if partitioned {
            let store = Store::connect(&url, 2).await.unwrap();
            // The days of the load and the day after: what the history job keeps made.
            for day in 0..=DAYS {
                store.prepare_partitions(end - DAYS * DAY + day * DAY).await.unwrap();
            }
            Some(store)
        } else {
            Store::migrate_postgres_before(&url, 10).await.unwrap();
            None
        };
        let mut conn = PgConnection::connect(&url).await.unwrap();
        let load_secs = load(&mut conn, end).await;
        let (before_rows, before_size) = (rows(&mut conn).await, size(&mut conn).await);
        let [hour, day] = read_times(&mut conn, end).await;

        // Retention of two days at the end of the third: the first day goes.
        let started = Instant::now();
        match &store {
            Some(store) => {
                store.apply_retention(keep_two_days, end).await.unwrap();
            }
            None => {
                sqlx::query("DELETE FROM group_samples WHERE ts < $1")
                    .bind(end - 2 * DAY)
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
        let retention_secs = started.elapsed().as_secs_f64();
        let after_size = size(&mut conn).await;
        let [hour_after, day_after] = read_times(&mut conn, end).await;
        let vacuum = if partitioned {
            String::new()
        } else {
            // What autovacuum then has to do before the space is reused.
            let started = Instant::now();
            sqlx::query("VACUUM group_samples").execute(&mut conn).await.unwrap();
            format!(" (then VACUUM {:.1} s)", started.elapsed().as_secs_f64())
        };
        println!(
            "| {} | {load_secs:.0} | {before_rows} | {:.0} | {:.0} | {:.2} / {:.2} | {:.0} / {:.0} | {retention_secs:.2}{vacuum} | {:.0} | {:.2} / {:.0} |",
            if partitioned { "partitioned by day" } else { "one table (before)" },
            mb(before_size),
            before_size as f64 / before_rows as f64,
            hour.0,
            hour.1,
            day.0,
            day.1,
            mb(after_size),
            hour_after.0,
            day_after.0,
        );
        conn.close().await.unwrap();
        if let Some(store) = store {
            store.close().await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
