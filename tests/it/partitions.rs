//! PostgreSQL's sample tables partitioned by day: an existing history upgraded in place, a
//! partition made for each new day by whichever instance writes first, queries reading only the
//! days they ask for, and retention dropping whole days.

use osprey::store::{Level, PARTITION_WIDTH, Retention, Store};
use sqlx::Connection;

use crate::store::{BASE, TempDatabase, poll};

const DAY: i64 = PARTITION_WIDTH;
/// Midnight (UTC) starting BASE's day, 2027-01-15.
const JAN_15: i64 = BASE - BASE % DAY;

const SAMPLE_TABLES: [&str; 8] = [
    "broker_samples",
    "cluster_samples",
    "group_partition_samples",
    "group_samples",
    "group_topic_samples",
    "metric_samples",
    "queue_samples",
    "topic_samples",
];

/// Partition names of `table`, oldest first.
async fn partition_names(store: &Store, table: &str) -> Vec<String> {
    let tables = store.partitions().await.unwrap();
    tables.get(table).map(|p| p.iter().map(|p| p.name.clone()).collect()).unwrap_or_default()
}

fn named(table: &str, suffixes: &[&str]) -> Vec<String> {
    suffixes.iter().map(|s| format!("{table}_{s}")).collect()
}

#[tokio::test]
async fn postgres_history_is_partitioned_by_day_and_dropped_a_day_at_a_time() {
    sqlx::any::install_default_drivers();
    let db = TempDatabase::create("OSPREY_TEST_POSTGRES_URL").await;

    // A history written before partitioning: a poll three days before BASE.
    Store::migrate_postgres_before(&db.url, 10).await.unwrap();
    let old_poll = BASE - 3 * DAY;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query(
        "INSERT INTO cluster_samples (cluster, ts, reachable, brokers, topics, partitions, \
         under_replicated, offline, end_offset_sum, poll_millis) \
         VALUES ('prod', $1, 1, 3, 2, 6, 0, 0, 900, 12)",
    )
    .bind(old_poll)
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    // Upgrading keeps it in the table's first partition, which runs to the next midnight; the
    // empty tables start with no partition at all.
    let store = Store::connect(&db.url, 4).await.expect("connect and migrate");
    let tables = store.partitions().await.unwrap();
    assert_eq!(tables.keys().collect::<Vec<_>>(), ["cluster_samples"]);
    let initial = &tables["cluster_samples"];
    assert_eq!(initial.len(), 1, "{initial:?}");
    assert_eq!(initial[0].name, "cluster_samples_initial");
    assert_eq!(initial[0].from, None);
    let to = initial[0].to.unwrap();
    assert!(to > osprey::clock::now_millis(), "it ends ahead: {to}");
    assert_eq!(to, old_poll - old_poll % DAY + DAY, "at the midnight after its newest row");
    let kept = store.cluster_series("prod", Level::Raw, old_poll, BASE, 10_000).await.unwrap();
    assert_eq!(kept.iter().map(|p| p.ts).collect::<Vec<_>>(), [old_poll]);

    // The first poll of a day makes that day's partition in every table, whoever writes it:
    // two instances writing the first polls of a day together both succeed.
    let other = Store::connect(&db.url, 4).await.expect("a second instance");
    let (first_poll, second_poll) =
        (poll(BASE, vec![], vec![]), poll(BASE + 10_000, vec![], vec![]));
    let (first, second) =
        tokio::join!(store.record_poll(&first_poll), other.record_poll(&second_poll));
    first.unwrap();
    second.unwrap();
    store.record_poll(&poll(BASE + DAY, vec![], vec![])).await.unwrap();
    for table in SAMPLE_TABLES {
        let mut expected = named(table, &["p20270115", "p20270116"]);
        if table == "cluster_samples" {
            expected.insert(0, "cluster_samples_initial".into());
        }
        assert_eq!(partition_names(&store, table).await, expected);
    }
    assert_eq!(store.partitions().await.unwrap().len(), SAMPLE_TABLES.len());
    let raw = store.cluster_series("prod", Level::Raw, BASE, BASE + 2 * DAY, 10_000).await.unwrap();
    assert_eq!(raw.iter().map(|p| p.ts - BASE).collect::<Vec<_>>(), [0, 10_000, DAY]);

    // A chart's time range reads only the partitions it covers.
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let plan: Vec<String> = sqlx::query_scalar(&format!(
        "EXPLAIN SELECT ts FROM cluster_samples WHERE cluster = 'prod' AND ts >= {} AND ts < {}",
        BASE + DAY,
        BASE + DAY + 3_600_000
    ))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("cluster_samples_p20270116"), "{plan}");
    assert!(!plan.contains("p20270115") && !plan.contains("_initial"), "{plan}");

    // Rollups read across partitions as before.
    // (Six hours per call: the history job catches up with a backlog in small steps.)
    for _ in 0..4 * 5 {
        store.roll_up(BASE + DAY + 600_000).await.unwrap();
    }
    let minutes =
        store.cluster_series("prod", Level::Minute, BASE, BASE + 2 * DAY, 60_000).await.unwrap();
    assert_eq!(minutes.iter().map(|p| p.ts - BASE).collect::<Vec<_>>(), [0, DAY]);

    // The history job makes yesterday's to the day after tomorrow's partitions ahead of time
    // (it is the 16th: the 17th and 18th are new).
    assert_eq!(store.prepare_partitions(BASE + DAY).await.unwrap(), 2 * 8);
    assert_eq!(store.prepare_partitions(BASE + DAY).await.unwrap(), 0, "made once");
    assert_eq!(
        partition_names(&store, "metric_samples").await,
        named("metric_samples", &["p20270115", "p20270116", "p20270117", "p20270118"])
    );

    // Retention of one day at midnight starting the 17th: the per-poll tables lose every day
    // before the 16th; the minute-grained ones are kept with the minute rollups.
    let one_day = Retention { raw: DAY, minute: 30 * DAY, hour: 400 * DAY, audit: 400 * DAY };
    store.apply_retention(one_day, JAN_15 + 2 * DAY).await.unwrap();
    for table in [
        "cluster_samples",
        "broker_samples",
        "group_samples",
        "group_topic_samples",
        "metric_samples",
    ] {
        assert_eq!(
            partition_names(&store, table).await,
            named(table, &["p20270116", "p20270117", "p20270118"])
        );
    }
    for table in ["topic_samples", "group_partition_samples", "queue_samples"] {
        assert_eq!(
            partition_names(&store, table).await,
            named(table, &["p20270115", "p20270116", "p20270117", "p20270118"])
        );
    }
    let raw = store.cluster_series("prod", Level::Raw, 0, BASE + 2 * DAY, 10_000).await.unwrap();
    assert_eq!(raw.iter().map(|p| p.ts - BASE).collect::<Vec<_>>(), [DAY]);
    let minutes =
        store.cluster_series("prod", Level::Minute, BASE, BASE + 2 * DAY, 60_000).await.unwrap();
    assert_eq!(minutes.len(), 2, "the rollups keep the dropped days");

    // A late poll for a dropped day makes its partition again rather than being lost.
    other.record_poll(&poll(BASE + 20_000, vec![], vec![])).await.unwrap();
    assert!(
        partition_names(&store, "cluster_samples")
            .await
            .contains(&"cluster_samples_p20270115".to_owned())
    );

    store.close().await;
    other.close().await;
    db.drop_it().await;
}
