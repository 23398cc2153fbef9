//! Kafka's canary probe: one marker per partition of the canary topic (so every leader broker
//! is measured), read back by a consumer with the partitions assigned — no group joined, nothing
//! committed — on the blocking pool.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedHeaders;
use rdkafka::{Message, Offset, TopicPartitionList};

use super::actions::{KafkaActions, TopicSpec};
use super::producer::{Outgoing, PolledProducer, Reported};
use super::{assigning_consumer, client_config, kafka_error};
use crate::brokers::AdapterError;
use crate::brokers::canary::{CanaryProbe, marker_partition, marker_text};
use crate::config::{ClusterConfig, KafkaConnection};
use crate::domain::Millis;
use crate::domain::canary::MarkerOutcome;

/// How long the canary keeps its markers (they are read within seconds).
const RETENTION_MS: &str = "3600000";
/// How long one wait for a marker or a report lasts inside a round.
const STEP: Duration = Duration::from_millis(5);

pub struct KafkaCanary {
    topic: String,
    /// Create the topic when missing.
    create: bool,
    token: String,
    rounds: AtomicU64,
    actions: Arc<KafkaActions>,
    producer: PolledProducer,
    reader: Arc<Mutex<Reader>>,
}

/// The consumer and the partitions it reads.
struct Reader {
    consumer: BaseConsumer,
    assigned: Vec<i32>,
    /// The partitions and leaders the last metadata named: when metadata does not come (the
    /// broker asked is the one that hangs), markers still go out and are found lost.
    known: Option<Vec<(i32, Option<i32>)>>,
}

/// The canary topic's partitions with their leaders, and how many brokers the cluster has.
struct Layout {
    partitions: Option<Vec<(i32, Option<i32>)>>,
    brokers: usize,
}

impl KafkaCanary {
    /// A probe of `topic`; `token` tells this process's markers from anyone else's.
    pub fn new(
        cluster: &ClusterConfig,
        kafka: &KafkaConnection,
        actions: Arc<KafkaActions>,
        token: String,
    ) -> Result<KafkaCanary, AdapterError> {
        let canary = &cluster.canary;
        let timeout_ms = canary.timeout().as_millis().max(1).to_string();
        let mut producer = client_config(cluster, kafka);
        producer
            .set("client.id", "osprey-canary")
            .set("linger.ms", "0")
            .set("acks", "all")
            // A marker the cluster cannot take in time is lost; retrying it later would only
            // queue it behind the next round's.
            .set("message.timeout.ms", &timeout_ms);
        let producer =
            PolledProducer::new(&producer).map_err(|e| AdapterError::Config(e.to_string()))?;
        let mut consumer = assigning_consumer(client_config(cluster, kafka), "osprey-canary");
        consumer.set("client.id", "osprey-canary").set("fetch.wait.max.ms", "100");
        let consumer: BaseConsumer =
            consumer.create().map_err(|e| AdapterError::Config(e.to_string()))?;
        Ok(KafkaCanary {
            topic: canary.topic_for(cluster.kind()),
            create: canary.create && !cluster.read_only,
            token,
            rounds: AtomicU64::new(0),
            actions,
            producer,
            reader: Arc::new(Mutex::new(Reader { consumer, assigned: Vec::new(), known: None })),
        })
    }

    /// Runs `work` on the reader on the blocking pool; a round still running refuses another.
    async fn with_reader<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Reader) -> Result<T, AdapterError> + Send + 'static,
    ) -> Result<T, AdapterError> {
        let reader = Arc::clone(&self.reader);
        tokio::task::spawn_blocking(move || {
            let mut reader = reader.try_lock().map_err(|_| {
                AdapterError::Protocol("the previous canary round is still waiting".into())
            })?;
            work(&mut reader)
        })
        .await
        .map_err(|e| AdapterError::Protocol(format!("the canary's reader failed: {e}")))?
    }
}

impl CanaryProbe for KafkaCanary {
    async fn round(
        &self,
        _now: Millis,
        timeout: Duration,
    ) -> Result<Vec<MarkerOutcome>, AdapterError> {
        let topic = self.topic.clone();
        let layout = self.with_reader(move |r| r.layout(&topic, timeout)).await?;
        let Some(partitions) = layout.partitions else {
            if !self.create {
                return Err(AdapterError::Protocol(format!(
                    "the canary topic {} does not exist, and the canary may not create it",
                    self.topic
                )));
            }
            let brokers = i32::try_from(layout.brokers).unwrap_or(1).max(1);
            let spec = TopicSpec {
                name: self.topic.clone(),
                partitions: brokers,
                replication_factor: brokers.min(3),
                configs: vec![("retention.ms".into(), RETENTION_MS.into())],
            };
            self.actions.create_topic(&spec).await?;
            tracing::info!(topic = %self.topic, partitions = brokers, "canary topic created");
            return Ok(Vec::new());
        };
        let round = self.rounds.fetch_add(1, Ordering::Relaxed);
        let (topic, token, producer) =
            (self.topic.clone(), self.token.clone(), self.producer.clone());
        let markers = self
            .with_reader(move |reader| {
                reader.assign(&topic, &partitions, timeout)?;
                Ok(reader.round(&producer, &topic, &token, round, &partitions, timeout))
            })
            .await?;
        // The first round primes the producer (it learns the topic's leaders on its first send,
        // a topic just created among them): its markers are sent and read but not counted, so a
        // busy cluster's slow start is no lost marker.
        Ok(if round == 0 { Vec::new() } else { markers })
    }
}

/// A marker on its way.
struct InFlight {
    outcome: MarkerOutcome,
    report: Option<Reported>,
}

impl Reader {
    /// The topic's partitions and leaders. Metadata only names the leaders (the producer routes
    /// by its own), so once they are known the wait is short and the leaders last known stand
    /// in: a broker that hangs does not hold the markers back.
    fn layout(&mut self, topic: &str, timeout: Duration) -> Result<Layout, AdapterError> {
        let wait = if self.known.is_some() { timeout / 4 } else { timeout };
        let metadata = match self.consumer.fetch_metadata(Some(topic), wait) {
            Ok(metadata) => metadata,
            Err(error) => match &self.known {
                Some(known) => {
                    tracing::debug!(%error, "canary: no metadata, the last known leaders stand");
                    return Ok(Layout { partitions: Some(known.clone()), brokers: known.len() });
                }
                None => return Err(kafka_error(error)),
            },
        };
        let brokers = metadata.brokers().len();
        let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Ok(Layout { partitions: None, brokers });
        };
        if found.error().is_some() || found.partitions().is_empty() {
            return Ok(Layout { partitions: None, brokers });
        }
        let mut partitions: Vec<(i32, Option<i32>)> = found
            .partitions()
            .iter()
            .map(|p| (p.id(), (p.leader() >= 0).then_some(p.leader())))
            .collect();
        partitions.sort_unstable();
        self.known = Some(partitions.clone());
        Ok(Layout { partitions: Some(partitions), brokers })
    }

    /// Reads every partition from its end as of now (a new or grown topic): markers sent after
    /// this are all seen, nothing older is.
    fn assign(
        &mut self,
        topic: &str,
        partitions: &[(i32, Option<i32>)],
        timeout: Duration,
    ) -> Result<(), AdapterError> {
        let ids: Vec<i32> = partitions.iter().map(|(id, _)| *id).collect();
        if ids == self.assigned {
            return Ok(());
        }
        let mut list = TopicPartitionList::new();
        for &id in &ids {
            let (_, end) =
                self.consumer.fetch_watermarks(topic, id, timeout).map_err(kafka_error)?;
            list.add_partition_offset(topic, id, Offset::Offset(end)).map_err(kafka_error)?;
        }
        self.consumer.assign(&list).map_err(kafka_error)?;
        self.assigned = ids;
        Ok(())
    }

    /// Sends a marker to each partition and waits until each is acknowledged and read back, or
    /// `timeout` has passed.
    fn round(
        &self,
        producer: &PolledProducer,
        topic: &str,
        token: &str,
        round: u64,
        partitions: &[(i32, Option<i32>)],
        timeout: Duration,
    ) -> Vec<MarkerOutcome> {
        let started = Instant::now();
        let elapsed_ms = || started.elapsed().as_secs_f64() * 1000.0;
        let mut markers: Vec<InFlight> = partitions
            .iter()
            .map(|&(partition, broker)| {
                let outgoing = Outgoing {
                    topic: topic.to_owned(),
                    key: None,
                    payload: Some(marker_text(token, round, partition).into_bytes()),
                    partition: Some(partition),
                    headers: OwnedHeaders::new(),
                };
                let (report, error) = match producer.enqueue(outgoing) {
                    Ok(report) => (Some(report), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                let outcome = MarkerOutcome {
                    partition,
                    broker,
                    node: None,
                    produce_ms: None,
                    end_to_end_ms: None,
                    error,
                };
                InFlight { outcome, report }
            })
            .collect();
        // Read back, or refused: nothing more to wait for.
        let done = |markers: &[InFlight]| {
            markers.iter().all(|m| m.outcome.end_to_end_ms.is_some() || m.outcome.error.is_some())
        };
        while started.elapsed() < timeout && !done(&markers) {
            producer.poll(Duration::ZERO);
            for marker in &mut markers {
                let Some(report) = &marker.report else { continue };
                match report.try_recv() {
                    Ok(Ok(_)) => marker.outcome.produce_ms = Some(elapsed_ms()),
                    Ok(Err(e)) => marker.outcome.error = Some(e.to_string()),
                    Err(mpsc::TryRecvError::Empty) => continue,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        marker.outcome.error = Some("no delivery report".into());
                    }
                }
                marker.report = None;
            }
            let Some(Ok(message)) = self.consumer.poll(STEP) else { continue };
            let seen = message.payload().and_then(|p| marker_partition(p, token, round));
            if let Some(marker) = markers.iter_mut().find(|m| {
                Some(m.outcome.partition) == seen && message.partition() == m.outcome.partition
            }) {
                marker.outcome.end_to_end_ms.get_or_insert_with(elapsed_ms);
            }
        }
        markers.into_iter().map(|m| m.outcome).collect()
    }
}
