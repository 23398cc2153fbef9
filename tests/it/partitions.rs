//! PostgreSQL's sample tables partitioned by day: an existing history upgraded in place, a
//! partition made for each new day by whichever instance writes first, queries reading only the
//! days they ask for, and retention dropping whole days.

use osprey::clock::{now_millis, utc_date_digits};
use osprey::store::{Level, PARTITION_WIDTH, Retention, Store};
use sqlx::Connection;

use crate::store::{TempDatabase, poll};

const DAY: i64 = PARTITION_WIDTH;

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

/// `table`'s partitions of these days (midnights), after `first` ones named in full.
fn named(table: &str, first: &[&str], days: &[i64]) -> Vec<String> {
    let days = days.iter().map(|d| format!("{table}_p{}", utc_date_digits(*d)));
    first.iter().map(|name| format!("{table}_{name}")).chain(days).collect()
}

#[tokio::test]
async fn postgres_history_is_partitioned_by_day_and_dropped_a_day_at_a_time() {
    sqlx::any::install_default_drivers();
    let db = TempDatabase::create("OSPREY_TEST_POSTGRES_URL").await;
    let today = now_millis() - now_millis() % DAY;
    // Polls written in this test: ten days ahead, past the partitions made at the migration.
    let base = today + 10 * DAY + 8 * 3_600_000;
    let (day_a, day_b) = (base - base % DAY, base - base % DAY + DAY);

    // A history written before partitioning: a poll three days ago.
    Store::migrate_postgres_before(&db.url, 10).await.unwrap();
    let old_poll = (now_millis() - 3 * DAY) / 10_000 * 10_000;
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

    // Upgrading keeps it in the table's first partition, which runs to the next midnight; every
    // table has partitions up to the day after tomorrow, so writers of the previous version
    // keep writing during a rolling upgrade.
    let store = Store::connect(&db.url, 4).await.expect("connect and migrate");
    let tables = store.partitions().await.unwrap();
    assert_eq!(tables.keys().map(String::as_str).collect::<Vec<_>>(), SAMPLE_TABLES);
    let ahead = [today, today + DAY, today + 2 * DAY];
    for table in SAMPLE_TABLES {
        let names: Vec<String> = tables[table].iter().map(|p| p.name.clone()).collect();
        if table == "cluster_samples" {
            assert_eq!(names, named(table, &["initial"], &ahead[1..]));
        } else {
            assert_eq!(names, named(table, &[], &ahead));
        }
    }
    let initial = &tables["cluster_samples"][0];
    assert_eq!((initial.from, initial.to), (None, Some(today + DAY)));
    let kept = store.cluster_series("prod", Level::Raw, old_poll, base, 10_000).await.unwrap();
    assert_eq!(kept.iter().map(|p| p.ts).collect::<Vec<_>>(), [old_poll]);

    // The first poll of a day makes that day's partition in every table, whoever writes it:
    // two instances writing the first polls of a day together both succeed.
    let other = Store::connect(&db.url, 4).await.expect("a second instance");
    let (first_poll, second_poll) =
        (poll(base, vec![], vec![]), poll(base + 10_000, vec![], vec![]));
    let (first, second) =
        tokio::join!(store.record_poll(&first_poll), other.record_poll(&second_poll));
    first.unwrap();
    second.unwrap();
    store.record_poll(&poll(base + DAY, vec![], vec![])).await.unwrap();
    for table in SAMPLE_TABLES {
        let names = partition_names(&store, table).await;
        assert_eq!(names[names.len() - 2..], named(table, &[], &[day_a, day_b]));
    }
    let raw = store.cluster_series("prod", Level::Raw, base, base + 2 * DAY, 10_000).await.unwrap();
    assert_eq!(raw.iter().map(|p| p.ts - base).collect::<Vec<_>>(), [0, 10_000, DAY]);

    // A chart's time range reads only the partitions it covers.
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let plan: Vec<String> = sqlx::query_scalar(&format!(
        "EXPLAIN SELECT ts FROM cluster_samples WHERE cluster = 'prod' AND ts >= {} AND ts < {}",
        base + DAY,
        base + DAY + 3_600_000
    ))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains(&named("cluster_samples", &[], &[day_b])[0]), "{plan}");
    assert!(!plan.contains(&named("cluster_samples", &[], &[day_a])[0]), "{plan}");
    assert!(!plan.contains("_initial"), "{plan}");

    // Rollups read across partitions as before (six hours per call: the history job catches
    // up with a backlog in small steps).
    for _ in 0..4 * 15 {
        store.roll_up(base + DAY + 600_000, None).await.unwrap();
    }
    let minutes =
        store.cluster_series("prod", Level::Minute, base, base + 2 * DAY, 60_000).await.unwrap();
    assert_eq!(minutes.iter().map(|p| p.ts - (base - base % 60_000)).collect::<Vec<_>>(), [0, DAY]);

    // The history job makes today's to the day after tomorrow's partitions ahead of time: on
    // the second day of the test's polls, the two days after it are new.
    assert_eq!(store.prepare_partitions(base + DAY).await.unwrap(), 2 * 8);
    assert_eq!(store.prepare_partitions(base + DAY).await.unwrap(), 0, "made once");
    let later = [day_a, day_b, day_b + DAY, day_b + 2 * DAY];
    let every_day: Vec<i64> = ahead.iter().chain(&later).copied().collect();
    assert_eq!(
        partition_names(&store, "metric_samples").await,
        named("metric_samples", &[], &every_day)
    );

    // Retention of one day at the midnight after the test's second day: the per-poll tables
    // lose every day before it; the minute-grained ones are kept with the minute rollups.
    let one_day = Retention { raw: DAY, minute: 30 * DAY, hour: 400 * DAY, audit: 400 * DAY };
    store.apply_retention(one_day, day_b + DAY).await.unwrap();
    for table in [
        "cluster_samples",
        "broker_samples",
        "group_samples",
        "group_topic_samples",
        "metric_samples",
    ] {
        assert_eq!(partition_names(&store, table).await, named(table, &[], &later[1..]));
    }
    for table in ["topic_samples", "group_partition_samples", "queue_samples"] {
        assert_eq!(partition_names(&store, table).await, named(table, &[], &every_day));
    }
    let raw = store.cluster_series("prod", Level::Raw, 0, base + 2 * DAY, 10_000).await.unwrap();
    assert_eq!(raw.iter().map(|p| p.ts - base).collect::<Vec<_>>(), [DAY]);
    let minutes =
        store.cluster_series("prod", Level::Minute, base, base + 2 * DAY, 60_000).await.unwrap();
    assert_eq!(minutes.len(), 2, "the rollups keep the dropped days");

    // A late poll for a dropped day makes its partition again rather than being lost, even on
    // an instance that remembered the day as made.
    other.record_poll(&poll(base + 20_000, vec![], vec![])).await.unwrap();
    let names = partition_names(&store, "cluster_samples").await;
    assert!(names.contains(&named("cluster_samples", &[], &[day_a])[0]), "{names:?}");

    store.close().await;
    other.close().await;
    db.drop_it().await;
}
