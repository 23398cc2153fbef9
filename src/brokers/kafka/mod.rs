//! Kafka adapter over librdkafka (rdkafka). One poll costs a fixed number of requests per broker:
//! DescribeCluster, Metadata, two batched ListOffsets (earliest, latest) grouped by leader, and —
//! every `config_refresh_interval` — one batched DescribeConfigs.

pub mod actions;
pub(crate) mod assignment;
pub mod canary;
mod context;
mod ffi;
mod groups;
mod producer;
pub(crate) mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::metadata::Metadata;
use rdkafka::{Offset, TopicPartitionList};

use super::{AdapterError, ClusterAdapter};
use crate::config::{ClusterConfig, KafkaConnection};
use crate::domain::ClusterKind;
use crate::domain::kraft::Quorum;
use crate::domain::{
    Broker, ClusterSnapshot, CommittedOffset, ConfigEntry, ConsumerGroup, GroupMember, Millis,
    Partition, ReplicaSize, Topic,
};
use context::{ConnectionFailure, Diagnosing};

/// Runs `future` and says how long it took, in milliseconds.
async fn timed<T>(future: impl std::future::Future<Output = T>) -> (T, u128) {
    let started = Instant::now();
    let value = future.await;
    (value, started.elapsed().as_millis())
}

/// Partitions per ListOffsets call; see [`KafkaAdapter::list_offsets`].
const OFFSETS_CHUNK: usize = 500;
/// Groups per batched OffsetFetch request (bounds one response's size).
const GROUPS_PER_FETCH: usize = 250;
/// ListOffsets calls running at once (each holds a blocking-pool thread while it waits).
const OFFSET_CALLS_IN_FLIGHT: usize = 8;

/// Every led partition, by leader id.
type Leaders = std::collections::BTreeMap<i32, Vec<(String, i32)>>;

fn partitions_by_leader(topics: &[Topic]) -> Leaders {
    let mut by_leader = Leaders::new();
    for topic in topics {
        for partition in &topic.partitions {
            if let Some(leader) = partition.leader {
                by_leader.entry(leader).or_default().push((topic.name.clone(), partition.id));
            }
        }
    }
    by_leader
}

/// The leaders' partitions in chunks of at most [`OFFSETS_CHUNK`], for librdkafka.
fn chunks(leaders: &Leaders) -> Vec<Arc<Vec<(String, i32)>>> {
    leaders
        .values()
        .flat_map(|partitions| partitions.chunks(OFFSETS_CHUNK).map(|c| Arc::new(c.to_vec())))
        .collect()
}

type Offsets = HashMap<(String, i32), i64>;

/// Topic configurations as last read, and when.
/// A ZooKeeper-mode cluster's `zookeeper.connect` and `inter.broker.protocol.version`.
type ZooKeeperMode = (Option<String>, Option<String>);

#[derive(Default)]
struct ConfigCache {
    by_topic: HashMap<String, Arc<Vec<ConfigEntry>>>,
    refreshed_at: Option<Instant>,
    /// The last failed DescribeConfigs: no new attempt for one refresh interval, so a broker
    /// that cannot answer it is not asked (and logged about) every poll.
    failed_at: Option<Instant>,
}

pub struct KafkaAdapter {
    cluster: String,
    consumer: Arc<BaseConsumer<Diagnosing>>,
    admin: AdminClient<Diagnosing>,
    /// Why the brokers last refused a connection (authentication, TLS), for the poll's error.
    refused: Arc<ConnectionFailure>,
    timeout: Duration,
    poll_interval: Duration,
    config_refresh_interval: Duration,
    configs: Mutex<ConfigCache>,
    /// A ZooKeeper-mode cluster's `zookeeper.connect` and `inter.broker.protocol.version`,
    /// re-read every `config_refresh_interval`.
    zookeeper: Mutex<Option<(Instant, ZooKeeperMode)>>,
    /// Connections of the batched wire path, by broker id; `None` for clusters whose security
    /// it does not reproduce (GSSAPI, OAUTHBEARER, client certificates), read through
    /// librdkafka only.
    wire: Option<tokio::sync::Mutex<WirePool>>,
    /// TLS and SASL of the wire path's connections.
    wire_security: wire::WireSecurity,
    /// Topics each group has committed offsets on, as last seen; see [`KafkaAdapter::offset_queries`].
    committed_topics: Mutex<CommittedTopics>,
}

#[derive(Default)]
struct CommittedTopics {
    by_group: HashMap<String, Vec<String>>,
    /// Polls answered so far; picks whose turn it is for a full fetch.
    polls: u64,
}

/// A stable small number for a name (FNV-1a), to spread groups over polls.
fn spread(name: &str) -> u64 {
    name.bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Wire connections by (broker id, slot): several per broker let independent requests run
/// side by side, since a broker answers the requests of one connection in order.
type WirePool = HashMap<(i32, usize), wire::Connection>;

/// Connections used side by side to one broker.
const WIRE_SLOTS: usize = 4;

/// The librdkafka configuration for a cluster: Osprey's read-only defaults, then the operator's
/// `properties` (which win, so SASL/TLS and tuning work as documented by librdkafka).
pub fn client_config(cluster: &ClusterConfig, kafka: &KafkaConnection) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &kafka.bootstrap_servers)
        .set("client.id", "osprey")
        .set("enable.auto.commit", "false")
        .set("socket.timeout.ms", request_timeout(cluster.poll_timeout).as_millis().to_string())
        .set("log.connection.close", "false");
    for (key, value) in &kafka.properties {
        config.set(key, value);
    }
    config
}

/// `config` for a consumer that only ever assigns partitions: librdkafka wants a group id even
/// then, but with assign() the consumer never joins it and nothing is committed under it.
pub(crate) fn assigning_consumer(mut config: ClientConfig, group: &str) -> ClientConfig {
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    config
}

/// How long one request may take: the poll's timeout, and never less than a second (librdkafka
/// refuses under 10 ms). Cutting a whole poll short is the poll deadline's job, which grows for
/// a first poll that needs longer; requests that fail for want of time would defeat it.
fn request_timeout(poll_timeout: Duration) -> Duration {
    poll_timeout.max(Duration::from_secs(1))
}

fn config_source(source: rdkafka::admin::ConfigSource) -> Option<crate::domain::ConfigSource> {
    use crate::domain::ConfigSource as Source;
    use rdkafka::admin::ConfigSource as Kafka;
    match source {
        Kafka::DynamicTopic => Some(Source::Topic),
        Kafka::DynamicBroker => Some(Source::Broker),
        Kafka::DynamicDefaultBroker => Some(Source::ClusterDefault),
        Kafka::StaticBroker => Some(Source::BrokerFile),
        Kafka::Default => Some(Source::Default),
        Kafka::Unknown => None,
    }
}

pub(crate) fn kafka_error(error: KafkaError) -> AdapterError {
    use rdkafka::types::RDKafkaErrorCode as Code;
    let code = error.rdkafka_error_code();
    let message = error.to_string();
    match code {
        Some(
            Code::BrokerTransportFailure
            | Code::AllBrokersDown
            | Code::Resolve
            | Code::NetworkException,
        ) => AdapterError::Unreachable(message),
        Some(Code::OperationTimedOut | Code::RequestTimedOut) => {
            AdapterError::Unreachable(format!("{message} (no broker answered)"))
        }
        _ => AdapterError::Protocol(message),
    }
}

impl KafkaAdapter {
    pub fn new(cluster: &ClusterConfig, kafka: &KafkaConnection) -> Result<Self, AdapterError> {
        let config = client_config(cluster, kafka);
        let wire_security =
            wire::WireSecurity::from_properties(&kafka.properties).map_err(AdapterError::Config)?;
        if wire_security.is_none() {
            tracing::info!(cluster = %cluster.name, "the cluster's security settings are read through librdkafka only (no batched wire path)");
        }
        let refused = Arc::new(ConnectionFailure::default());
        let context =
            || Diagnosing { cluster: cluster.name.clone(), failure: Arc::clone(&refused) };
        let consumer: BaseConsumer<Diagnosing> = config
            .create_with_context(context())
            .map_err(|e| AdapterError::Config(e.to_string()))?;
        let admin: AdminClient<Diagnosing> = config
            .create_with_context(context())
            .map_err(|e| AdapterError::Config(e.to_string()))?;
        Ok(KafkaAdapter {
            cluster: cluster.name.clone(),
            consumer: Arc::new(consumer),
            admin,
            refused,
            timeout: request_timeout(cluster.poll_timeout),
            poll_interval: cluster.poll_interval,
            config_refresh_interval: cluster.config_refresh_interval,
            configs: Mutex::new(ConfigCache::default()),
            zookeeper: Mutex::default(),
            wire: wire_security.is_some().then(Default::default),
            wire_security: wire_security.unwrap_or_default(),
            committed_topics: Mutex::default(),
        })
    }

    /// Runs a blocking librdkafka call on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&BaseConsumer<Diagnosing>) -> T + Send + 'static,
    ) -> Result<T, AdapterError> {
        let consumer = Arc::clone(&self.consumer);
        tokio::task::spawn_blocking(move || call(&consumer))
            .await
            .map_err(|e| AdapterError::Protocol(format!("client call panicked: {e}")))
    }

    async fn describe(&self) -> Result<ffi::ClusterDescription, AdapterError> {
        let timeout = self.timeout;
        self.blocking(move |consumer| {
            // SAFETY: the consumer (and so its handle) is kept alive by the Arc for the call.
            unsafe { ffi::describe_cluster(consumer.client().native_ptr(), timeout) }
        })
        .await?
        .map_err(AdapterError::Protocol)
    }

    async fn metadata(&self) -> Result<Metadata, AdapterError> {
        let timeout = self.timeout;
        let fetched = self.blocking(move |consumer| {
            let fetched = consumer.fetch_metadata(None, timeout);
            if fetched.is_err() {
                // Connection errors wait in the consumer's queue until it is served; nothing is
                // subscribed, so serving it only hands them to the context.
                let _ = consumer.poll(Duration::ZERO);
            }
            fetched
        });
        match fetched.await? {
            Ok(metadata) => {
                self.refused.clear();
                Ok(metadata)
            }
            // "All brokers down" when the brokers are up but refuse us: say why.
            Err(e) => Err(match (kafka_error(e), self.refused.last()) {
                (AdapterError::Unreachable(_), Some(reason)) => AdapterError::Unreachable(reason),
                (error, _) => error,
            }),
        }
    }

    /// Earliest or latest offsets (`Offset::Beginning` / `Offset::End`) of `partitions`, as
    /// batched ListOffsets requests: partitions are grouped by leader and sent in chunks of
    /// [`OFFSETS_CHUNK`]. librdkafka matches each answer back to its request with a linear
    /// search per partition (quadratic in the request size: 20,000 partitions in one call cost
    /// ≈ 3 CPU-seconds), so chunks keep that cost linear in the cluster size while one poll still
    /// needs only ⌈partitions of a leader / chunk⌉ requests per leader. Partitions whose leader
    /// failed are left out.
    async fn list_offsets(
        &self,
        chunks: &[Arc<Vec<(String, i32)>>],
        position: Offset,
    ) -> Result<HashMap<(String, i32), i64>, AdapterError> {
        let timeout = self.timeout;
        let calls: Vec<_> = chunks
            .iter()
            .cloned()
            .map(|chunk| {
                self.blocking(move |consumer| {
                    let mut list = TopicPartitionList::with_capacity(chunk.len());
                    for (topic, partition) in chunk.iter() {
                        list.add_partition_offset(topic, *partition, position)?;
                    }
                    consumer.offsets_for_times(list, timeout)
                })
            })
            .collect();
        let answers: Vec<_> =
            futures::stream::iter(calls).buffer_unordered(OFFSET_CALLS_IN_FLIGHT).collect().await;
        let mut offsets = HashMap::with_capacity(chunks.iter().map(|c| c.len()).sum());
        for answer in answers {
            let answered = answer?.map_err(kafka_error)?;
            for element in answered.elements() {
                if let (Ok(()), Offset::Offset(offset)) = (element.error(), element.offset()) {
                    offsets.insert((element.topic().to_owned(), element.partition()), offset);
                }
            }
        }
        Ok(offsets)
    }

    /// Earliest and latest offsets of every led partition: over the wire path one ListOffsets
    /// per leader and position; through librdkafka (clusters without the wire path, or when it
    /// fails) in chunks.
    async fn partition_offsets(
        &self,
        leaders: &Leaders,
        addresses: &HashMap<i32, String>,
    ) -> Result<(Offsets, Offsets), AdapterError> {
        if let Some(pool) = &self.wire {
            let mut pool = pool.lock().await;
            match self.wire_partition_offsets(&mut pool, leaders, addresses).await {
                Ok(offsets) => return Ok(offsets),
                Err(e) => {
                    pool.clear();
                    tracing::debug!(cluster = %self.cluster, error = %e, "wire ListOffsets failed; asking through librdkafka");
                }
            }
        }
        let chunks = chunks(leaders);
        let (earliest, latest) = tokio::join!(
            self.list_offsets(&chunks, Offset::Beginning),
            self.list_offsets(&chunks, Offset::End),
        );
        Ok((earliest?, latest?))
    }

    /// Bytes on disk of every replica, one DescribeLogDirs per broker over the wire path (slot
    /// 2 of each broker's connections). `None` without the wire path, when a broker does not
    /// speak it, or when one fails: sizes are a bonus, never a reason for a failed poll.
    async fn log_sizes(&self, addresses: &HashMap<i32, String>) -> Option<Arc<Vec<ReplicaSize>>> {
        let pool = self.wire.as_ref()?;
        let mut pool = pool.lock().await;
        let taken =
            match self.connections(&mut pool, addresses.keys().map(|&id| (id, 2)), addresses).await
            {
                Ok(taken) => taken,
                Err(e) => {
                    tracing::debug!(cluster = %self.cluster, error = %e, "no log sizes this poll");
                    return None;
                }
            };
        let answers =
            futures::future::join_all(taken.into_iter().map(|(key, mut connection)| async move {
                let answer = connection.log_dir_sizes().await;
                (key, connection, answer)
            }))
            .await;
        let mut sizes = Vec::new();
        let mut complete = true;
        for ((broker, slot), connection, answer) in answers {
            match answer {
                Ok(Some(replicas)) => {
                    pool.insert((broker, slot), connection);
                    sizes.extend(replicas.into_iter().map(|((topic, partition), bytes)| {
                        ReplicaSize { broker, topic, partition, bytes }
                    }));
                }
                Ok(None) => complete = false,
                Err(e) => {
                    tracing::debug!(cluster = %self.cluster, broker, error = %e, "DescribeLogDirs failed");
                    complete = false;
                }
            }
        }
        sizes.sort_by(|a, b| {
            (a.broker, &a.topic, a.partition).cmp(&(b.broker, &b.topic, b.partition))
        });
        (complete || !sizes.is_empty()).then(|| Arc::new(sizes))
    }

    /// The metadata quorum, asked of one broker over the wire path (slot 3). `None` without the
    /// wire path, on ZooKeeper clusters and when the broker fails to answer: the controller then
    /// comes from DescribeCluster.
    async fn quorum(&self, addresses: &HashMap<i32, String>) -> (Option<Quorum>, Option<String>) {
        let Some(pool) = self.wire.as_ref() else { return (None, None) };
        let mut pool = pool.lock().await;
        let Some(&broker) = addresses.keys().min() else { return (None, None) };
        let key = (broker, 3);
        let taken = self.connections(&mut pool, [key].into_iter(), addresses).await;
        let Some((_, mut connection)) = taken.ok().and_then(|mut taken| taken.pop()) else {
            return (None, None);
        };
        let quorum = match connection.describe_quorum().await {
            Ok(quorum) => quorum,
            Err(e) => {
                tracing::debug!(cluster = %self.cluster, broker, error = %e, "DescribeQuorum failed");
                return (None, None);
            }
        };
        let version = match quorum {
            Some(_) => match connection.metadata_version().await {
                Ok(level) => level.map(crate::domain::kraft::metadata_version_name),
                Err(e) => {
                    tracing::debug!(cluster = %self.cluster, broker, error = %e, "ApiVersions v3 failed");
                    return (quorum, None);
                }
            },
            None => None,
        };
        pool.insert(key, connection);
        (quorum, version)
    }

    /// Opens (or reuses) a wire connection for each (broker id, slot) in `keys`, taking them
    /// out of `pool`; callers put them back when done.
    async fn connections(
        &self,
        pool: &mut WirePool,
        keys: impl Iterator<Item = (i32, usize)>,
        addresses: &HashMap<i32, String>,
    ) -> Result<Vec<((i32, usize), wire::Connection)>, wire::WireError> {
        let keys: Vec<(i32, usize)> = keys.collect();
        let opened = futures::future::join_all(keys.iter().filter(|k| !pool.contains_key(k)).map(
            |&(id, slot)| async move {
                let addr = addresses
                    .get(&id)
                    .ok_or_else(|| wire::WireError(format!("broker {id} is not in metadata")))?;
                Ok::<_, wire::WireError>((
                    (id, slot),
                    wire::Connection::open(addr, self.timeout, &self.wire_security).await?,
                ))
            },
        ))
        .await;
        for result in opened {
            let (key, connection) = result?;
            pool.insert(key, connection);
        }
        keys.into_iter()
            .map(|key| {
                let connection = pool.remove(&key).ok_or_else(|| {
                    wire::WireError(format!("no connection to broker {} (slot {})", key.0, key.1))
                })?;
                Ok((key, connection))
            })
            .collect()
    }

    async fn wire_partition_offsets(
        &self,
        pool: &mut WirePool,
        leaders: &Leaders,
        addresses: &HashMap<i32, String>,
    ) -> Result<(Offsets, Offsets), wire::WireError> {
        // Earliest on slot 0 and latest on slot 1 of every leader, all at once.
        let keys = leaders.keys().flat_map(|&id| [(id, 0), (id, 1)]);
        let taken = self.connections(pool, keys, addresses).await?;
        let answers = futures::future::join_all(taken.into_iter().map(
            |((id, slot), mut connection)| async move {
                let timestamp = if slot == 0 { -2 } else { -1 };
                let answer = connection.list_offsets(&leaders[&id], timestamp).await;
                ((id, slot), connection, answer)
            },
        ))
        .await;
        let (mut earliest, mut latest) = (Offsets::new(), Offsets::new());
        for (key, connection, answer) in answers {
            if key.1 == 0 {
                earliest.extend(answer?)
            } else {
                latest.extend(answer?)
            }
            pool.insert(key, connection);
        }
        Ok((earliest, latest))
    }

    /// `zookeeper.connect` and `inter.broker.protocol.version` from `broker`'s configuration
    /// (DescribeConfigs), cached for one `config_refresh_interval`, failures included: a KRaft
    /// cluster or a Kafka-protocol server without broker configs is not asked every poll.
    async fn zookeeper_mode(&self, broker: i32) -> ZooKeeperMode {
        if let Some((at, known)) = &*self.zookeeper.lock().unwrap_or_else(|p| p.into_inner())
            && at.elapsed() < self.config_refresh_interval
        {
            return known.clone();
        }
        let options = AdminOptions::new().request_timeout(Some(self.timeout));
        let resource = ResourceSpecifier::Broker(broker);
        let found = match self.admin.describe_configs([&resource], &options).await {
            Ok(results) => {
                let value = |key: &str| {
                    results.iter().flatten().find_map(|r| r.get(key).and_then(|e| e.value.clone()))
                };
                match value("zookeeper.connect").filter(|v| !v.is_empty()) {
                    Some(connect) => (Some(connect), value("inter.broker.protocol.version")),
                    None => (None, None),
                }
            }
            Err(e) => {
                tracing::debug!(cluster = %self.cluster, broker, error = %e, "no broker configuration");
                (None, None)
            }
        };
        *self.zookeeper.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), found.clone()));
        found
    }

    /// Topic configurations, re-read from the brokers every `config_refresh_interval` and for
    /// topics not seen before. A failure keeps what was read last: configs are not worth
    /// failing a poll for.
    async fn topic_configs(&self, topics: &[String]) -> HashMap<String, Arc<Vec<ConfigEntry>>> {
        let wanted: Vec<&String> = {
            let cache = self.configs.lock().unwrap_or_else(|p| p.into_inner());
            let due = |at: Option<Instant>| {
                at.is_none_or(|at| at.elapsed() >= self.config_refresh_interval)
            };
            let stale = due(cache.refreshed_at);
            if !due(cache.failed_at) {
                Vec::new()
            } else {
                topics.iter().filter(|t| stale || !cache.by_topic.contains_key(*t)).collect()
            }
        };
        if !wanted.is_empty() {
            let specifiers: Vec<ResourceSpecifier<'_>> =
                wanted.iter().map(|t| ResourceSpecifier::Topic(t.as_str())).collect();
            let options = AdminOptions::new().request_timeout(Some(self.timeout));
            match self.admin.describe_configs(&specifiers, &options).await {
                Ok(results) => {
                    let mut cache = self.configs.lock().unwrap_or_else(|p| p.into_inner());
                    for resource in results.into_iter().flatten() {
                        if let rdkafka::admin::OwnedResourceSpecifier::Topic(name) =
                            resource.specifier
                        {
                            let mut entries: Vec<ConfigEntry> = resource
                                .entries
                                .into_iter()
                                .map(|e| ConfigEntry {
                                    name: e.name,
                                    value: if e.is_sensitive { None } else { e.value },
                                    is_default: e.is_default,
                                    is_sensitive: e.is_sensitive,
                                    source: config_source(e.source),
                                })
                                .collect();
                            entries.sort_by(|a, b| a.name.cmp(&b.name));
                            cache.by_topic.insert(name, Arc::new(entries));
                        }
                    }
                    if wanted.len() == topics.len() {
                        cache.refreshed_at = Some(Instant::now());
                    }
                }
                Err(e) => {
                    self.configs.lock().unwrap_or_else(|p| p.into_inner()).failed_at =
                        Some(Instant::now());
                    tracing::warn!(cluster = %self.cluster, error = %e, "could not read topic configurations; keeping the last ones read");
                }
            }
        }
        let mut cache = self.configs.lock().unwrap_or_else(|p| p.into_inner());
        if cache.by_topic.len() > topics.len() {
            cache.by_topic.retain(|name, _| topics.binary_search(name).is_ok());
        }
        cache.by_topic.clone()
    }
}

impl ClusterAdapter for KafkaAdapter {
    async fn snapshot(&self, now: Millis) -> Result<ClusterSnapshot, AdapterError> {
        let started = Instant::now();
        let metadata = self.metadata().await?;

        let mut topics: Vec<Topic> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| {
                let mut partitions: Vec<Partition> = t
                    .partitions()
                    .iter()
                    .map(|p| Partition {
                        id: p.id(),
                        leader: (p.leader() >= 0).then_some(p.leader()),
                        replicas: p.replicas().to_vec(),
                        isr: p.isr().to_vec(),
                        earliest_offset: None,
                        latest_offset: None,
                    })
                    .collect();
                partitions.sort_by_key(|p| p.id);
                Topic {
                    canary: false,
                    internal: t.name().starts_with("__"),
                    name: t.name().to_owned(),
                    partitions,
                    configs: None,
                    messages_in_per_sec: None,
                }
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));

        let leaders = partitions_by_leader(&topics);
        let addresses: HashMap<i32, String> = metadata
            .brokers()
            .iter()
            .map(|b| (b.id(), format!("{}:{}", b.host(), b.port())))
            .collect();
        let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
        let partitions_of: HashMap<String, Vec<i32>> = topics
            .iter()
            .map(|t| (t.name.clone(), t.partitions.iter().map(|p| p.id).collect()))
            .collect();
        let metadata_ms = started.elapsed().as_millis();
        let (
            description,
            (offsets, offsets_ms),
            mut configs,
            (groups, groups_ms),
            log_sizes,
            (quorum, metadata_version),
        ) = tokio::join!(
            self.describe(),
            timed(self.partition_offsets(&leaders, &addresses)),
            self.topic_configs(&names),
            timed(self.groups(&addresses, &partitions_of)),
            self.log_sizes(&addresses),
            self.quorum(&addresses),
        );
        tracing::debug!(cluster = %self.cluster, metadata_ms, offsets_ms, groups_ms, "poll phases");
        let (earliest, latest) = offsets?;
        let (groups, groups_error) = match groups {
            Ok(groups) => (groups, None),
            Err(e) => {
                tracing::warn!(cluster = %self.cluster, error = %e, "could not read consumer groups");
                (Vec::new(), Some(e.to_string()))
            }
        };

        for topic in &mut topics {
            topic.configs = configs.remove(&topic.name);
            for partition in &mut topic.partitions {
                let key = (topic.name.clone(), partition.id);
                partition.earliest_offset = earliest.get(&key).copied();
                partition.latest_offset = latest.get(&key).copied();
            }
        }

        let (cluster_id, controller_id, brokers) = match description {
            Ok(d) => (d.cluster_id, d.controller_id, d.brokers),
            Err(e) => {
                // Brokers older than Kafka 2.8 have no DescribeCluster: fall back to metadata.
                tracing::debug!(cluster = %self.cluster, error = %e, "DescribeCluster failed; using metadata");
                let timeout = self.timeout;
                let (cluster_id, controller_id) = self
                    .blocking(move |c| {
                        let rk = c.client().native_ptr();
                        // SAFETY: the consumer is kept alive by the Arc for the call.
                        unsafe { (ffi::cluster_id(rk, timeout), ffi::controller_id(rk, timeout)) }
                    })
                    .await?;
                let mut brokers: Vec<Broker> = metadata
                    .brokers()
                    .iter()
                    .map(|b| Broker {
                        id: b.id(),
                        host: b.host().to_owned(),
                        port: u16::try_from(b.port()).unwrap_or(0),
                        rack: None,
                    })
                    .collect();
                brokers.sort_by_key(|b| b.id);
                (cluster_id, controller_id, brokers)
            }
        };

        // Without a quorum the cluster may be in ZooKeeper mode: its brokers say where.
        let (zookeeper, protocol_version) =
            match (&quorum, controller_id.or(brokers.first().map(|b| b.id))) {
                (None, Some(broker)) => self.zookeeper_mode(broker).await,
                _ => (None, metadata_version),
            };
        // On KRaft the "controller" of DescribeCluster is any live broker; the quorum's leader
        // is the active controller.
        let controller_id = quorum.as_ref().map(|q| q.leader_id).or(controller_id);
        Ok(ClusterSnapshot {
            quorum: quorum.map(Arc::new),
            zookeeper,
            protocol_version,
            cluster: self.cluster.clone(),
            kind: ClusterKind::Kafka,
            taken_at: now,
            poll_millis: crate::brokers::millis_since(started),
            cluster_id,
            controller_id,
            brokers,
            topics,
            groups,
            groups_error,
            queues: None,
            rocket: None,
            log_sizes,
        })
    }
}
