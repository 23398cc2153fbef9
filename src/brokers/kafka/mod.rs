//! Kafka adapter over librdkafka (rdkafka). One poll costs a fixed number of requests per broker:
//! DescribeCluster, Metadata, two batched ListOffsets (earliest, latest) grouped by leader, and —
//! every `config_refresh_interval` — one batched DescribeConfigs.

mod assignment;
mod ffi;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::metadata::Metadata;
use rdkafka::{Offset, TopicPartitionList};

use super::{AdapterError, ClusterAdapter};
use crate::config::{ClusterConfig, ClusterKind};
use crate::domain::{
    Broker, ClusterSnapshot, CommittedOffset, ConfigEntry, ConsumerGroup, GroupMember, Millis,
    Partition, Topic,
};

/// Partitions per ListOffsets call; see [`KafkaAdapter::list_offsets`].
const OFFSETS_CHUNK: usize = 500;
/// ListOffsets calls running at once (each holds a blocking-pool thread while it waits).
const OFFSET_CALLS_IN_FLIGHT: usize = 8;

/// Every led partition, grouped by leader, in chunks of at most [`OFFSETS_CHUNK`].
fn chunks_by_leader(topics: &[Topic]) -> Vec<Arc<Vec<(String, i32)>>> {
    let mut by_leader: std::collections::BTreeMap<i32, Vec<(String, i32)>> = Default::default();
    for topic in topics {
        for partition in &topic.partitions {
            if let Some(leader) = partition.leader {
                by_leader.entry(leader).or_default().push((topic.name.clone(), partition.id));
            }
        }
    }
    by_leader
        .into_values()
        .flat_map(|partitions| {
            partitions.chunks(OFFSETS_CHUNK).map(|c| Arc::new(c.to_vec())).collect::<Vec<_>>()
        })
        .collect()
}

/// Topic configurations as last read, and when.
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
    consumer: Arc<BaseConsumer>,
    admin: AdminClient<DefaultClientContext>,
    timeout: Duration,
    config_refresh_interval: Duration,
    configs: Mutex<ConfigCache>,
}

/// The librdkafka configuration for a cluster: Osprey's read-only defaults, then the operator's
/// `properties` (which win, so SASL/TLS and tuning work as documented by librdkafka).
pub fn client_config(cluster: &ClusterConfig) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &cluster.bootstrap_servers)
        .set("client.id", "osprey")
        .set("enable.auto.commit", "false")
        .set("socket.timeout.ms", cluster.poll_timeout.as_millis().to_string())
        .set("log.connection.close", "false");
    for (key, value) in &cluster.properties {
        config.set(key, value);
    }
    config
}

fn kafka_error(error: KafkaError) -> AdapterError {
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
    pub fn new(cluster: &ClusterConfig) -> Result<Self, AdapterError> {
        debug_assert_eq!(cluster.kind, ClusterKind::Kafka);
        let config = client_config(cluster);
        let consumer: BaseConsumer =
            config.create().map_err(|e| AdapterError::Config(e.to_string()))?;
        let admin: AdminClient<DefaultClientContext> =
            config.create().map_err(|e| AdapterError::Config(e.to_string()))?;
        Ok(KafkaAdapter {
            cluster: cluster.name.clone(),
            consumer: Arc::new(consumer),
            admin,
            timeout: cluster.poll_timeout,
            config_refresh_interval: cluster.config_refresh_interval,
            configs: Mutex::new(ConfigCache::default()),
        })
    }

    /// Runs a blocking librdkafka call on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&BaseConsumer) -> T + Send + 'static,
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
        self.blocking(move |consumer| consumer.fetch_metadata(None, timeout))
            .await?
            .map_err(kafka_error)
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

    /// Every consumer group with members, assignment, coordinator and committed offsets: one
    /// batched ListGroups + DescribeGroups per broker, then every group's OffsetFetch at once.
    async fn groups(&self) -> Result<Vec<ConsumerGroup>, AdapterError> {
        let timeout = self.timeout;
        let listed = self
            .blocking(move |consumer| {
                // SAFETY: the consumer (and so its handle) is kept alive by the Arc for the call.
                unsafe { ffi::list_groups(consumer.client().native_ptr(), timeout) }
            })
            .await?
            .map_err(AdapterError::Protocol)?;
        let names: Vec<String> = listed.iter().map(|g| g.name.clone()).collect();
        let answers = self
            .blocking(move |consumer| {
                // SAFETY: the consumer (and so its handle) is kept alive by the Arc for the call.
                unsafe { ffi::committed_offsets(consumer.client().native_ptr(), &names, timeout) }
            })
            .await?;
        let mut offsets: HashMap<String, ffi::GroupOffsets> = answers.into_iter().collect();
        let mut groups: Vec<ConsumerGroup> = listed
            .into_iter()
            .map(|g| {
                let (mut committed, offsets_error) = match offsets.remove(&g.name) {
                    Some(Ok(found)) => (found, None),
                    Some(Err(e)) => (Vec::new(), Some(e)),
                    None => (Vec::new(), Some("no answer".to_owned())),
                };
                committed.sort();
                let members = g
                    .members
                    .into_iter()
                    .map(|m| GroupMember {
                        assignment: assignment::decode(&m.assignment).unwrap_or_else(|e| {
                            tracing::debug!(cluster = %self.cluster, group = %g.name, error = %e, "unreadable member assignment");
                            Vec::new()
                        }),
                        member_id: m.member_id,
                        client_id: m.client_id,
                        host: m.host,
                    })
                    .collect();
                ConsumerGroup {
                    offsets_error: offsets_error.or(g.error),
                    name: g.name,
                    state: g.state,
                    protocol_type: g.protocol_type,
                    protocol: g.protocol,
                    coordinator: (g.coordinator >= 0).then_some(g.coordinator),
                    members,
                    offsets: committed
                        .into_iter()
                        .map(|(topic, partition, offset)| CommittedOffset { topic, partition, offset })
                        .collect(),
                }
            })
            .collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(groups)
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
                    internal: t.name().starts_with("__"),
                    name: t.name().to_owned(),
                    partitions,
                    configs: None,
                    messages_in_per_sec: None,
                }
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));

        let chunks = chunks_by_leader(&topics);
        let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
        let (description, earliest, latest, mut configs, groups) = tokio::join!(
            self.describe(),
            self.list_offsets(&chunks, Offset::Beginning),
            self.list_offsets(&chunks, Offset::End),
            self.topic_configs(&names),
            self.groups(),
        );
        let (groups, groups_error) = match groups {
            Ok(groups) => (groups, None),
            Err(e) => {
                tracing::warn!(cluster = %self.cluster, error = %e, "could not read consumer groups");
                (Vec::new(), Some(e.to_string()))
            }
        };
        let (earliest, latest) = (earliest?, latest?);

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

        Ok(ClusterSnapshot {
            cluster: self.cluster.clone(),
            kind: ClusterKind::Kafka,
            taken_at: now,
            poll_millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            cluster_id,
            controller_id,
            brokers,
            topics,
            groups,
            groups_error,
        })
    }
}
