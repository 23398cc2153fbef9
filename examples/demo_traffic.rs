//! Steady demo traffic for `scripts/demo.sh`: creates a few topics on a broker, keeps producing to
//! them at different rates, and runs three consumer groups until stopped — `analytics` keeps up
//! with `clicks` (OK); `billing` stays in its group and owns every `orders` partition but commits,
//! each second and per partition, only half of what arrived since its last commit, starting at the
//! log end (its lag grows between any two polls while its offsets move: OK while the lag window
//! still holds its start, then WARN for good); and `audit-archiver` reads `audit.log` for 20 s and
//! leaves (STOP once the lag window has passed).
//!
//! Topics get three replicas when the cluster has three brokers or more (the demo's Apache Kafka
//! cluster), one otherwise.
//!
//! `cargo run --release --example demo_traffic -- 127.0.0.1:18091,127.0.0.1:18092,127.0.0.1:18093`

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// (topic, partitions, messages per second)
const TOPICS: &[(&str, i32, u32)] = &[
    ("orders", 6, 40),
    ("payments", 3, 12),
    ("clicks", 12, 150),
    ("audit.log", 1, 2),
    ("inventory.updates", 4, 0),
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bootstrap = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18091".into());
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &bootstrap).create()?;
    let brokers = admin.inner().fetch_metadata(None, Duration::from_secs(10))?.brokers().len();
    let replicas = i32::try_from(brokers.min(3)).unwrap_or(1).max(1);
    let new: Vec<NewTopic<'_>> = TOPICS
        .iter()
        .map(|(name, parts, _)| NewTopic::new(name, *parts, TopicReplication::Fixed(replicas)))
        .collect();
    for result in admin.create_topics(&new, &AdminOptions::new()).await? {
        if let Err((topic, error)) = result {
            eprintln!("topic {topic}: {error}");
        }
    }
    let producer: FutureProducer =
        ClientConfig::new().set("bootstrap.servers", &bootstrap).set("linger.ms", "20").create()?;
    spawn_consumer(&bootstrap, "analytics", "clicks", Pace::KeepUp);
    spawn_half_committer(&bootstrap, "billing", "orders");
    spawn_consumer(
        &bootstrap,
        "audit-archiver",
        "audit.log",
        Pace::StopAfter(Duration::from_secs(20)),
    );
    eprintln!("producing demo traffic to {bootstrap}; Ctrl-C stops");
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut sequence: u64 = 0;
    let mut ticks: u64 = 0;
    // Fractional messages carried from tick to tick, so slow topics still get theirs.
    let mut credit = vec![0.0f64; TOPICS.len()];
    // Messages sent per topic. Keys cycle through each topic's own count, so every partition
    // gets its share steadily (no gaps of seconds, which would let `billing`'s lag dip).
    let mut sent = vec![0u64; TOPICS.len()];
    loop {
        tick.tick().await;
        for (i, (topic, _, per_second)) in TOPICS.iter().enumerate() {
            // A rate that drifts over a few minutes, so the charts have a shape.
            let wave = 1.0 + 0.5 * ((ticks as f64) / 600.0).sin();
            credit[i] += f64::from(*per_second) * wave / 10.0;
            let count = credit[i].floor();
            credit[i] -= count;
            for _ in 0..count as u64 {
                sequence += 1;
                sent[i] += 1;
                let key = format!("key-{}", sent[i] % 97);
                let payload = format!("{{\"seq\":{sequence},\"topic\":\"{topic}\"}}");
                let record = FutureRecord::to(topic).key(&key).payload(&payload);
                // Queue without waiting for each delivery, so rates hold at any broker latency.
                if let Err((error, _)) = producer.send_result(record) {
                    eprintln!("send to {topic} failed: {error}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        ticks += 1;
    }
}

/// How long a demo consumer reads.
#[derive(Clone, Copy)]
enum Pace {
    /// As fast as messages come, until the demo stops.
    KeepUp,
    /// As fast as messages come for this long; then commits and leaves the group.
    StopAfter(Duration),
}

/// A consumer of `topic` in `group` that commits nothing by itself; None (and a line on stderr)
/// when it cannot be created or subscribed.
fn demo_consumer(bootstrap: &str, group: &str, topic: &str) -> Option<BaseConsumer> {
    let consumer: BaseConsumer = match ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("client.id", format!("demo-{group}"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
    {
        Ok(consumer) => consumer,
        Err(e) => {
            eprintln!("consumer {group}: {e}");
            return None;
        }
    };
    if let Err(e) = consumer.subscribe(&[topic]) {
        eprintln!("consumer {group}: {e}");
        return None;
    }
    Some(consumer)
}

/// A consumer in its own thread that reads `topic` for `group` at `pace` and commits what it
/// read every second.
fn spawn_consumer(bootstrap: &str, group: &str, topic: &str, pace: Pace) {
    let Some(consumer) = demo_consumer(bootstrap, group, topic) else { return };
    let group = group.to_owned();
    std::thread::spawn(move || {
        let started = Instant::now();
        let mut second = Instant::now();
        loop {
            let _ = consumer.poll(Duration::from_millis(100));
            if second.elapsed() >= Duration::from_secs(1) {
                // Nothing read yet means nothing to commit: not worth a message.
                let _ = consumer.commit_consumer_state(CommitMode::Sync);
                second = Instant::now();
            }
            if let Pace::StopAfter(after) = pace
                && started.elapsed() >= after
            {
                let _ = consumer.commit_consumer_state(CommitMode::Sync);
                eprintln!("consumer {group} stops, as the demo wants");
                return;
            }
        }
    });
}

/// A consumer in its own thread that stays a member of `group` — it polls all the time, so it
/// keeps its partitions of `topic` and its offsets move (never STALL or STOP) — but commits, every
/// second and for each partition it is assigned, an explicit offset that moves by only half of
/// what arrived since its last commit ([`HalfPace`]), from the log end at assignment. Its lag grows
/// by half the produce rate, steadily, so each Osprey poll sees more lag on every partition than
/// the one before: WARN once the lag window no longer holds the start. What `poll` returns is
/// dropped; the consumer's own position is never committed.
fn spawn_half_committer(bootstrap: &str, group: &str, topic: &str) {
    let Some(consumer) = demo_consumer(bootstrap, group, topic) else { return };
    let (group, topic) = (group.to_owned(), topic.to_owned());
    std::thread::spawn(move || {
        // Kept for partitions taken away too, so one given back goes on where it stood.
        let mut partitions: BTreeMap<i32, HalfPace> = BTreeMap::new();
        let mut second = Instant::now();
        loop {
            let _ = consumer.poll(Duration::from_millis(100));
            if second.elapsed() < Duration::from_secs(1) {
                continue;
            }
            second = Instant::now();
            let assigned: Vec<i32> = match consumer.assignment() {
                Ok(list) => list.elements_for_topic(&topic).iter().map(|e| e.partition()).collect(),
                Err(e) => {
                    eprintln!("consumer {group}: no assignment: {e}");
                    continue;
                }
            };
            let mut commits = TopicPartitionList::new();
            let mut next = Vec::with_capacity(assigned.len());
            for partition in assigned {
                let watermarks =
                    consumer.fetch_watermarks(&topic, partition, Duration::from_secs(1));
                let end = match watermarks {
                    Ok((_, high)) => high,
                    Err(e) => {
                        eprintln!("consumer {group}: log end of {topic}/{partition}: {e}");
                        continue;
                    }
                };
                let state = match partitions.get(&partition) {
                    Some(state) => state.next(end),
                    None => HalfPace::start(end),
                };
                let offset = Offset::Offset(state.committed);
                match commits.add_partition_offset(&topic, partition, offset) {
                    Ok(()) => next.push((partition, state)),
                    Err(e) => eprintln!("consumer {group}: offset for {topic}/{partition}: {e}"),
                }
            }
            if next.is_empty() {
                continue;
            }
            // Only a commit the broker took moves the state on; a failed one is tried again,
            // with whatever arrives meanwhile, a second later.
            match consumer.commit(&commits, CommitMode::Sync) {
                Ok(()) => partitions.extend(next),
                Err(e) => eprintln!("consumer {group}: commit failed: {e}"),
            }
        }
    });
}

/// Where the half-pace committer stands on one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HalfPace {
    /// The offset committed last (the next message to read, as Kafka counts).
    committed: i64,
    /// The log end seen at that commit.
    seen_end: i64,
    /// Half-messages owed from an odd number of arrivals (0 or 1), carried to the next commit.
    carry: i64,
}

impl HalfPace {
    /// At assignment: the log end, so the lag starts at zero.
    fn start(end: i64) -> Self {
        HalfPace { committed: end, seen_end: end, carry: 0 }
    }

    /// The state after a commit at log end `end`: the committed offset moves by half of what
    /// arrived since the last one, rounded down, the odd half carried. A log end lower than
    /// before (it never is on a healthy broker) counts as nothing arrived.
    fn next(self, end: i64) -> Self {
        let halves = (end - self.seen_end).max(0) + self.carry;
        HalfPace {
            committed: self.committed + halves / 2,
            seen_end: end.max(self.seen_end),
            carry: halves % 2,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Examples are tested only on request: `cargo test --example demo_traffic`.
    use super::HalfPace;

    #[test]
    fn starts_at_the_log_end() {
        let start = HalfPace::start(500);
        assert_eq!(start, HalfPace { committed: 500, seen_end: 500, carry: 0 });
    }

    #[test]
    fn commits_half_of_what_arrived_carrying_the_odd_half() {
        let a = HalfPace::start(100).next(110);
        assert_eq!((a.committed, a.carry), (105, 0));
        let b = a.next(113);
        assert_eq!((b.committed, b.carry), (106, 1), "3 arrived: 1 now, half owed");
        let c = b.next(116);
        assert_eq!((c.committed, c.carry), (108, 0), "3 more and the owed half: 2");
        assert_eq!(c.next(116), c, "nothing arrived, nothing moves");
    }

    #[test]
    fn lag_grows_with_every_arrival_and_offsets_never_go_back() {
        let mut state = HalfPace::start(0);
        let mut end = 0;
        let mut lag = 0;
        for arrived in [1, 1, 1, 2, 3, 5, 8, 1, 0, 7, 60, 20, 1] {
            end += arrived;
            let next = state.next(end);
            assert!(next.committed >= state.committed);
            assert!(end - next.committed >= lag, "lag never shrinks");
            if arrived > 1 {
                assert!(end - next.committed > lag, "and grows with more than one arrival");
            }
            lag = end - next.committed;
            state = next;
        }
        assert_eq!(state.committed, end / 2, "over time exactly half is committed");
    }

    #[test]
    fn a_lower_log_end_moves_nothing_back() {
        let state = HalfPace::start(100).next(120);
        let lower = state.next(90);
        assert_eq!(lower.committed, state.committed);
        assert_eq!(lower.seen_end, 120);
        assert_eq!(lower.next(124).committed, state.committed + 2);
    }
}
