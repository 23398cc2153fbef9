//! A minimal Kafka protocol client — the `kafka-protocol` crate's codecs over TCP, TLS (rustls)
//! and SASL PLAIN/SCRAM — for the reads librdkafka cannot batch: committed offsets of many groups
//! in one OffsetFetch (v8+) per coordinator, earliest/latest offsets of every partition a broker
//! leads in one ListOffsets, log sizes and the KRaft quorum. Clusters whose security the wire path
//! does not reproduce (GSSAPI, OAUTHBEARER, client certificates) are read through librdkafka.

mod scram;
mod security;

pub use security::WireSecurity;

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::DescribeQuorumResponse;
use kafka_protocol::messages::describe_quorum_response::ReplicaState;
use kafka_protocol::messages::{
    ApiVersionsRequest, BrokerId, DescribeLogDirsRequest, DescribeQuorumRequest,
    FindCoordinatorRequest, GroupId, ListOffsetsRequest, OffsetFetchRequest, RequestHeader,
    ResponseHeader, SaslAuthenticateRequest, SaslHandshakeRequest, TopicName,
    describe_quorum_request::{PartitionData, TopicData},
    list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic},
    offset_fetch_request::{OffsetFetchRequestGroup, OffsetFetchRequestTopics},
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Message, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::brokers::tls::{self, Stream};
use crate::domain::kraft::{Quorum, QuorumMember};

/// Largest response accepted (a response claiming more is garbage, not data).
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// FindCoordinator's key type for consumer groups.
const GROUP_KEY: i8 = 0;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct WireError(pub String);

/// A group and the `(topic, partitions)` to fetch, or `None` for everything it committed.
pub type OffsetQuery = (String, Option<Vec<(String, Vec<i32>)>>);

fn error(context: &str, e: impl std::fmt::Display) -> WireError {
    WireError(format!("{context}: {e}"))
}

/// One connection to one broker, with the API versions it announced.
pub struct Connection {
    stream: Box<dyn Stream>,
    next_correlation: i32,
    timeout: Duration,
    /// api key → highest version the broker supports.
    versions: HashMap<i16, i16>,
}

impl Connection {
    /// Connects to `addr` (TLS and SASL as `security` says) and learns its API versions.
    pub async fn open(
        addr: &str,
        timeout: Duration,
        security: &WireSecurity,
    ) -> Result<Connection, WireError> {
        let stream = tls::connect(addr, timeout, security.tls.as_ref()).await.map_err(WireError)?;
        let mut connection =
            Connection { stream, next_correlation: 1, timeout, versions: HashMap::new() };
        // Version 0 of ApiVersions is understood by every broker.
        let answer = connection.call(0, &ApiVersionsRequest::default()).await?;
        if answer.error_code != 0 {
            return Err(WireError(format!(
                "ApiVersions failed with error code {}",
                answer.error_code
            )));
        }
        connection.versions = answer.api_keys.iter().map(|k| (k.api_key, k.max_version)).collect();
        if let Some(login) = &security.sasl {
            connection.authenticate(login).await?;
        }
        Ok(connection)
    }

    /// SaslHandshake (v1) for the login's mechanism, then its SaslAuthenticate exchange.
    async fn authenticate(&mut self, login: &security::SaslLogin) -> Result<(), WireError> {
        let mechanism = login.mechanism.name();
        let handshake =
            SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism));
        let answer = self.call(1, &handshake).await?;
        if answer.error_code != 0 {
            let enabled: Vec<String> = answer.mechanisms.iter().map(|m| m.to_string()).collect();
            return Err(WireError(format!(
                "the broker does not take SASL {mechanism} (it takes {})",
                enabled.join(", ")
            )));
        }
        match login.mechanism {
            security::Mechanism::Plain => {
                let token = format!("\0{}\0{}", login.username, login.password);
                self.sasl_step(token.into_bytes()).await?;
            }
            security::Mechanism::Scram(hash) => {
                let mut nonce = [0u8; 24];
                getrandom::fill(&mut nonce).map_err(|e| error("SCRAM nonce", e))?;
                let nonce = hex::encode(nonce);
                let (scram, first) =
                    scram::Scram::start(hash, &login.username, &login.password, &nonce);
                let server_first = self.sasl_step(first.into_bytes()).await?;
                let last = scram
                    .answer(&String::from_utf8_lossy(&server_first))
                    .map_err(|e| WireError(format!("SASL {mechanism}: {e}")))?;
                let server_final = self.sasl_step(last.message.clone().into_bytes()).await?;
                last.verify(&String::from_utf8_lossy(&server_final))
                    .map_err(|e| WireError(format!("SASL {mechanism}: {e}")))?;
            }
        }
        Ok(())
    }

    /// One SaslAuthenticate round: sends `token`, returns the broker's.
    async fn sasl_step(&mut self, token: Vec<u8>) -> Result<bytes::Bytes, WireError> {
        let version = self.version::<SaslAuthenticateRequest>(0).unwrap_or(0);
        let request = SaslAuthenticateRequest::default().with_auth_bytes(token.into());
        let answer = self.call(version, &request).await?;
        if answer.error_code != 0 {
            let message = answer.error_message.map(|m| m.to_string()).unwrap_or_default();
            return Err(WireError(format!("SASL authentication failed: {message}")));
        }
        Ok(answer.auth_bytes)
    }

    /// The highest version of `R` both sides speak, if it is at least `at_least`.
    pub fn version<R: Request + Message>(&self, at_least: i16) -> Option<i16> {
        let broker_max = *self.versions.get(&R::KEY)?;
        let version = broker_max.min(R::VERSIONS.max);
        (version >= at_least.max(R::VERSIONS.min)).then_some(version)
    }

    async fn call<R: Request>(
        &mut self,
        version: i16,
        request: &R,
    ) -> Result<R::Response, WireError> {
        tokio::time::timeout(self.timeout, self.exchange(version, request))
            .await
            .map_err(|_| WireError(format!("no answer within {:?}", self.timeout)))?
    }

    async fn exchange<R: Request>(
        &mut self,
        version: i16,
        request: &R,
    ) -> Result<R::Response, WireError> {
        let correlation = self.next_correlation;
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_static_str("osprey")));
        let mut frame = BytesMut::with_capacity(4096);
        frame.put_i32(0);
        header
            .encode(&mut frame, R::header_version(version))
            .map_err(|e| error("encode header", e))?;
        request.encode(&mut frame, version).map_err(|e| error("encode request", e))?;
        let length = i32::try_from(frame.len() - 4).map_err(|e| error("request size", e))?;
        frame[..4].copy_from_slice(&length.to_be_bytes());
        self.stream.write_all(&frame).await.map_err(|e| error("send", e))?;

        let size = self.stream.read_i32().await.map_err(|e| error("read", e))?;
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= MAX_RESPONSE_BYTES)
            .ok_or_else(|| WireError(format!("the broker announced a response of {size} bytes")))?;
        let body = crate::brokers::read_announced(&mut self.stream, size)
            .await
            .map_err(|e| error("read", e))?;
        decode_response::<R>(body, version, correlation)
    }

    /// The coordinator broker of each group (FindCoordinator v4+, all groups in one request).
    /// `None` when the broker is too old to batch.
    pub async fn coordinators(
        &mut self,
        groups: &[String],
    ) -> Result<Option<HashMap<String, i32>>, WireError> {
        let Some(version) = self.version::<FindCoordinatorRequest>(4) else {
            return Ok(None);
        };
        let request =
            FindCoordinatorRequest::default().with_key_type(GROUP_KEY).with_coordinator_keys(
                groups.iter().map(|g| StrBytes::from_string(g.clone())).collect(),
            );
        let answer = self.call(version, &request).await?;
        Ok(Some(
            answer
                .coordinators
                .into_iter()
                .filter(|c| c.error_code == 0)
                .map(|c| (c.key.to_string(), c.node_id.0))
                .collect(),
        ))
    }

    /// Committed offsets of `groups`, all coordinated by this broker, in one OffsetFetch (v8+):
    /// each group with the partitions to ask about, or `None` for all it has committed.
    /// `None` when the broker is too old to batch groups.
    pub async fn committed_offsets(
        &mut self,
        groups: &[OffsetQuery],
    ) -> Result<Option<Vec<(String, Result<Vec<(String, i32, i64)>, String>)>>, WireError> {
        let Some(version) = self.version::<OffsetFetchRequest>(8) else {
            return Ok(None);
        };
        let request = OffsetFetchRequest::default().with_groups(
            groups
                .iter()
                .map(|(group, topics)| {
                    OffsetFetchRequestGroup::default()
                        .with_group_id(GroupId(StrBytes::from_string(group.clone())))
                        .with_topics(topics.as_ref().map(|topics| {
                            topics
                                .iter()
                                .map(|(topic, partitions)| {
                                    OffsetFetchRequestTopics::default()
                                        .with_name(TopicName(StrBytes::from_string(topic.clone())))
                                        .with_partition_indexes(partitions.clone())
                                })
                                .collect()
                        }))
                })
                .collect(),
        );
        let answer = self.call(version, &request).await?;
        Ok(Some(
            answer
                .groups
                .into_iter()
                .map(|group| {
                    let name = group.group_id.0.to_string();
                    if group.error_code != 0 {
                        return (name, Err(format!("OffsetFetch error code {}", group.error_code)));
                    }
                    let offsets = group
                        .topics
                        .into_iter()
                        .flat_map(|topic| {
                            let topic_name = topic.name.0.to_string();
                            topic.partitions.into_iter().filter_map(move |p| {
                                (p.error_code == 0 && p.committed_offset >= 0).then(|| {
                                    (topic_name.clone(), p.partition_index, p.committed_offset)
                                })
                            })
                        })
                        .collect();
                    (name, Ok(offsets))
                })
                .collect(),
        ))
    }

    /// Offsets at `timestamp` (−1 latest, −2 earliest) of `partitions`, all led by this broker,
    /// in one ListOffsets request. Partitions the broker answers with an error are left out.
    pub async fn list_offsets(
        &mut self,
        partitions: &[(String, i32)],
        timestamp: i64,
    ) -> Result<HashMap<(String, i32), i64>, WireError> {
        let version = self
            .version::<ListOffsetsRequest>(1)
            .ok_or_else(|| WireError("the broker does not speak ListOffsets v1".into()))?;
        let mut by_topic: HashMap<&str, Vec<ListOffsetsPartition>> = HashMap::new();
        for (topic, partition) in partitions {
            by_topic.entry(topic.as_str()).or_default().push(
                ListOffsetsPartition::default()
                    .with_partition_index(*partition)
                    .with_current_leader_epoch(-1)
                    .with_timestamp(timestamp),
            );
        }
        let request = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_isolation_level(0)
            .with_timeout_ms(i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX))
            .with_topics(
                by_topic
                    .into_iter()
                    .map(|(topic, partitions)| {
                        ListOffsetsTopic::default()
                            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
                            .with_partitions(partitions)
                    })
                    .collect(),
            );
        let answer = self.call(version, &request).await?;
        let mut offsets = HashMap::with_capacity(partitions.len());
        for topic in answer.topics {
            let name = topic.name.0.to_string();
            for p in topic.partitions {
                if p.error_code == 0 && p.offset >= 0 {
                    offsets.insert((name.clone(), p.partition_index), p.offset);
                }
            }
        }
        Ok(offsets)
    }

    /// The metadata quorum of a KRaft cluster (DescribeQuorum on `__cluster_metadata`, which a
    /// broker forwards to the active controller); `None` when the broker does not speak it (a
    /// ZooKeeper cluster, or a Kafka-protocol server without a quorum).
    /// The cluster's finalized `metadata.version` feature level (ApiVersions v3+, KRaft only);
    /// `None` when the broker does not tell.
    pub async fn metadata_version(&mut self) -> Result<Option<i16>, WireError> {
        let Some(version) = self.version::<ApiVersionsRequest>(3) else { return Ok(None) };
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("osprey"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let answer = self.call(version, &request).await?;
        Ok(answer
            .finalized_features
            .iter()
            .find(|f| f.name.as_str() == "metadata.version")
            .map(|f| f.max_version_level))
    }

    pub async fn describe_quorum(&mut self) -> Result<Option<Quorum>, WireError> {
        let Some(version) = self.version::<DescribeQuorumRequest>(0) else { return Ok(None) };
        let partition = PartitionData::default().with_partition_index(0);
        let topic = TopicData::default()
            .with_topic_name(TopicName(StrBytes::from_static_str("__cluster_metadata")))
            .with_partitions(vec![partition]);
        let answer =
            self.call(version, &DescribeQuorumRequest::default().with_topics(vec![topic])).await?;
        quorum_of(&answer).map(Some)
    }

    /// Bytes on disk of every replica this broker holds, from one DescribeLogDirs for all
    /// topics; `None` when the broker does not speak it. Future replicas (being moved between
    /// directories) are not counted twice.
    pub async fn log_dir_sizes(
        &mut self,
    ) -> Result<Option<HashMap<(String, i32), i64>>, WireError> {
        let Some(version) = self.version::<DescribeLogDirsRequest>(1) else { return Ok(None) };
        let answer =
            self.call(version, &DescribeLogDirsRequest::default().with_topics(None)).await?;
        if answer.error_code != 0 {
            return Err(WireError(format!(
                "DescribeLogDirs failed with error code {}",
                answer.error_code
            )));
        }
        let mut sizes = HashMap::new();
        for dir in answer.results.iter().filter(|d| d.error_code == 0) {
            for topic in &dir.topics {
                for p in topic.partitions.iter().filter(|p| !p.is_future_key) {
                    sizes.insert((topic.name.0.to_string(), p.partition_index), p.partition_size);
                }
            }
        }
        Ok(Some(sizes))
    }
}

/// A response frame (after its length prefix) as `R`'s response, checked against the request's
/// correlation id.
pub(crate) fn decode_response<R: Request>(
    body: Vec<u8>,
    version: i16,
    correlation: i32,
) -> Result<R::Response, WireError> {
    let mut body = bytes::Bytes::from(body);
    let header = ResponseHeader::decode(&mut body, R::Response::header_version(version))
        .map_err(|e| error("decode response header", e))?;
    if header.correlation_id != correlation {
        return Err(WireError(format!(
            "answer {} to request {correlation}: the connection is out of step",
            header.correlation_id
        )));
    }
    let response =
        R::Response::decode(&mut body, version).map_err(|e| error("decode response", e))?;
    if body.has_remaining() {
        tracing::trace!(left = body.remaining(), "response had trailing bytes");
    }
    Ok(response)
}

/// The KRaft quorum a DescribeQuorum answer describes.
pub(crate) fn quorum_of(answer: &DescribeQuorumResponse) -> Result<Quorum, WireError> {
    let failed = |code: i16| WireError(format!("DescribeQuorum failed with error code {code}"));
    if answer.error_code != 0 {
        return Err(failed(answer.error_code));
    }
    let Some(partition) = answer.topics.first().and_then(|t| t.partitions.first()) else {
        return Err(WireError("DescribeQuorum answered without the metadata log".into()));
    };
    if partition.error_code != 0 {
        return Err(failed(partition.error_code));
    }
    let known = |value: i64| (value >= 0).then_some(value);
    let members = |states: &[ReplicaState]| {
        let mut members: Vec<QuorumMember> = states
            .iter()
            .map(|s| QuorumMember {
                id: s.replica_id.0,
                log_end_offset: known(s.log_end_offset),
                last_fetch_at: known(s.last_fetch_timestamp),
                last_caught_up_at: known(s.last_caught_up_timestamp),
            })
            .collect();
        members.sort_by_key(|m| m.id);
        members
    };
    Ok(Quorum {
        leader_id: partition.leader_id.0,
        leader_epoch: partition.leader_epoch,
        high_watermark: partition.high_watermark,
        voters: members(&partition.current_voters),
        observers: members(&partition.observers),
    })
}
