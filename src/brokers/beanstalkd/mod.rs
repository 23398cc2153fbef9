//! beanstalkd clusters: every configured server's statistics and tubes as one queue snapshot (a
//! tube is a queue scoped by its server), and the operator actions — put, peek, kick, purge —
//! on the configured servers only.

mod protocol;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

pub use protocol::{Connection, Job, MAX_BODY, Peek, check_tube_name, parse_list, parse_map};

use super::AdapterError;
use super::servers::{Servers, server_brokers, server_node};
use crate::config::{BeanstalkConnection, ClusterConfig};
use crate::domain::queue::{ObjectTotals, Overview, Queue, QueueSnapshot, RateMeter, Rates};
use crate::domain::{ClusterKind, ClusterSnapshot, Millis};

/// Most jobs one purge deletes; a larger tube is purged by asking again.
pub const MAX_PURGE: u64 = 100_000;

/// The tube every connection watches until it says otherwise, Osprey's own included.
const DEFAULT_TUBE: &str = "default";

/// The clients of one beanstalkd cluster: a polling connection per server, kept open from poll
/// to poll, and a fresh connection for each operator action (`use` changes a connection).
pub struct BeanstalkAdapter {
    cluster: String,
    servers: Servers<Connection>,
    meter: Mutex<RateMeter>,
}

/// What one server said in one poll.
struct ServerReading {
    stats: BTreeMap<String, String>,
    tubes: Vec<BTreeMap<String, String>>,
}

/// A job as an operator sees it: its id, statistics and body.
#[derive(Debug, Clone, Serialize)]
pub struct PeekedJob {
    pub id: u64,
    pub stats: BTreeMap<String, String>,
    /// The body as text, invalid UTF-8 replaced.
    pub body: String,
    pub bytes: usize,
}

/// A job to put into a tube.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Put {
    pub body: String,
    /// 0 is the most urgent; beanstalkd calls jobs under 1024 urgent.
    #[serde(default = "default_priority")]
    pub priority: u32,
    #[serde(default)]
    pub delay_secs: u64,
    /// Seconds a worker may hold the job before it is released to another.
    #[serde(default = "default_ttr")]
    pub ttr_secs: u64,
}

fn default_priority() -> u32 {
    1024
}

fn default_ttr() -> u64 {
    60
}

fn count(map: &BTreeMap<String, String>, key: &str) -> u64 {
    map.get(key).and_then(|v| v.parse().ok()).unwrap_or(0)
}

impl BeanstalkAdapter {
    pub fn from_cluster(
        cluster: &ClusterConfig,
        beanstalk: &BeanstalkConnection,
    ) -> Result<BeanstalkAdapter, AdapterError> {
        Ok(BeanstalkAdapter {
            cluster: cluster.name.clone(),
            servers: Servers::new(beanstalk.servers(), cluster.poll_timeout)?,
            meter: Mutex::new(RateMeter::default()),
        })
    }

    /// The configured servers, in configuration order.
    pub fn servers(&self) -> &[String] {
        self.servers.addresses()
    }

    /// Every server's figures and tubes; an error only when no server answered.
    pub async fn queue_snapshot(&self, now: Millis) -> Result<QueueSnapshot, AdapterError> {
        let readings = self.servers.read_all(Connection::open, read_server).await?;
        let mut meter = self.meter.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let snapshot = snapshot_from(self.servers.addresses(), &readings, now, &mut meter);
        meter.forget_unread(now);
        Ok(snapshot)
    }

    async fn connect(&self, server: &str) -> Result<Connection, AdapterError> {
        Connection::open(self.servers.check(server)?, self.servers.timeout()).await
    }

    /// Puts a job into `tube` on `server`; its id.
    pub async fn put(&self, server: &str, tube: &str, job: &Put) -> Result<u64, AdapterError> {
        check_tube_name(tube)?;
        if job.body.len() > MAX_BODY {
            return Err(AdapterError::Config(format!(
                "a job of {} bytes is larger than {MAX_BODY} bytes",
                job.body.len()
            )));
        }
        let mut connection = self.connect(server).await?;
        connection
            .put(
                tube,
                job.priority,
                Duration::from_secs(job.delay_secs),
                Duration::from_secs(job.ttr_secs.max(1)),
                job.body.as_bytes(),
            )
            .await
    }

    /// The next `which` job of `tube`, with its statistics, without taking it.
    pub async fn peek(
        &self,
        server: &str,
        tube: &str,
        which: Peek,
    ) -> Result<Option<PeekedJob>, AdapterError> {
        let mut connection = self.connect(server).await?;
        let Some(job) = connection.peek(tube, which).await? else { return Ok(None) };
        let stats = connection.job_stats(job.id).await?.unwrap_or_default();
        Ok(Some(PeekedJob {
            id: job.id,
            stats,
            bytes: job.body.len(),
            body: String::from_utf8_lossy(&job.body).into_owned(),
        }))
    }

    /// Moves up to `count` buried jobs of `tube` (or, with none buried, delayed ones) to
    /// ready; how many moved.
    pub async fn kick(&self, server: &str, tube: &str, count: u32) -> Result<u64, AdapterError> {
        self.connect(server).await?.kick(tube, count).await
    }

    /// Deletes the ready, delayed and buried jobs of `tube` (reserved ones are being worked
    /// on and stay), at most [`MAX_PURGE`]; how many were deleted.
    pub async fn purge(&self, server: &str, tube: &str) -> Result<u64, AdapterError> {
        let mut connection = self.connect(server).await?;
        let mut deleted = 0;
        for which in Peek::ALL {
            while deleted < MAX_PURGE {
                let Some(job) = connection.peek(tube, which).await? else { break };
                // A job a worker reserved between the peek and the delete is its now.
                if !connection.delete(job.id).await? {
                    break;
                }
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

async fn read_server(connection: &mut Connection) -> Result<ServerReading, AdapterError> {
    let stats = connection.stats().await?;
    let names = connection.tubes().await?;
    // A tube listed and gone before its statistics were asked is simply gone.
    let tubes = connection.tubes_stats(&names).await?.into_iter().flatten().collect();
    Ok(ServerReading { stats, tubes })
}

/// The snapshot of the servers that answered (the others listed as nodes that are down), with
/// rates from the growth of each counter since the previous poll.
fn snapshot_from(
    servers: &[String],
    readings: &[Result<ServerReading, AdapterError>],
    now: Millis,
    meter: &mut RateMeter,
) -> QueueSnapshot {
    let mut nodes = Vec::new();
    let mut queues = Vec::new();
    let mut versions: Vec<String> = Vec::new();
    let mut totals = ObjectTotals::default();
    let mut publish: Option<f64> = Some(0.0);
    let mut delete: Option<f64> = Some(0.0);
    for (address, reading) in servers.iter().zip(readings) {
        let Ok(reading) = reading else {
            nodes.push(server_node(address, false, None));
            continue;
        };
        let stats = &reading.stats;
        if let Some(version) = stats.get("version").filter(|v| !versions.contains(v)) {
            versions.push(version.clone());
        }
        nodes.push(server_node(address, true, Some(count(stats, "uptime") * 1000)));
        totals.connections += count(stats, "current-connections");
        totals.consumers += count(stats, "current-workers");
        let server_publish = meter.rate(&format!("{address}\n"), now, count(stats, "total-jobs"));
        let server_delete = meter.rate(&format!("{address}\n-"), now, count(stats, "cmd-delete"));
        publish = publish.zip(server_publish).map(|(a, b)| a + b);
        delete = delete.zip(server_delete).map(|(a, b)| a + b);
        queues.extend(reading.tubes.iter().map(|tube| tube_queue(address, tube, now, meter)));
    }
    let overview = Overview {
        product: "beanstalkd".into(),
        version: versions.join(", "),
        object_totals: totals,
        message_stats: Rates { publish, deliver_get: delete, ack: delete },
        ..Overview::default()
    };
    QueueSnapshot::assembled(now, overview, nodes, queues)
}

fn tube_queue(
    address: &str,
    tube: &BTreeMap<String, String>,
    now: Millis,
    meter: &mut RateMeter,
) -> Queue {
    let name = tube.get("name").cloned().unwrap_or_default();
    let (ready, reserved) =
        (count(tube, "current-jobs-ready"), count(tube, "current-jobs-reserved"));
    let mut watching = count(tube, "current-watching");
    if name == DEFAULT_TUBE {
        // Osprey's polling connection watches it too; it is no worker.
        watching = watching.saturating_sub(1);
    }
    let key = format!("{address}\n{name}");
    let publish = meter.rate(&key, now, count(tube, "total-jobs"));
    let delete = meter.rate(&format!("{key}\n-"), now, count(tube, "cmd-delete"));
    Queue {
        state: if count(tube, "pause") > 0 { "paused" } else { "running" }.into(),
        vhost: address.to_owned(),
        kind: "tube".into(),
        messages_ready: ready,
        messages_unacknowledged: reserved,
        messages: ready + reserved,
        delayed: count(tube, "current-jobs-delayed"),
        held: count(tube, "current-jobs-buried"),
        consumers: watching,
        consumer_utilisation: None,
        idle_since: None,
        message_stats: Rates { publish, deliver_get: delete, ack: delete },
        name,
    }
}

impl super::ClusterAdapter for BeanstalkAdapter {
    async fn snapshot(&self, now: Millis) -> Result<ClusterSnapshot, AdapterError> {
        let started = std::time::Instant::now();
        let view = self.queue_snapshot(now).await?;
        let (cluster, brokers) = (self.cluster.clone(), server_brokers(&view.nodes));
        let took = super::millis_since(started);
        Ok(ClusterSnapshot::of_queues(cluster, ClusterKind::Beanstalkd, took, brokers, view))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn reading(total_jobs: &str, tube_total: &str) -> ServerReading {
        ServerReading {
            stats: map(&[
                ("version", "1.12"),
                ("uptime", "30"),
                ("current-connections", "3"),
                ("current-workers", "1"),
                ("total-jobs", total_jobs),
                ("cmd-delete", "0"),
            ]),
            tubes: vec![
                map(&[("name", "default"), ("current-watching", "1")]),
                map(&[
                    ("name", "mail"),
                    ("current-jobs-ready", "4"),
                    ("current-jobs-reserved", "1"),
                    ("current-jobs-delayed", "2"),
                    ("current-jobs-buried", "3"),
                    ("current-watching", "2"),
                    ("total-jobs", tube_total),
                    ("pause", "0"),
                ]),
            ],
        }
    }

    #[test]
    fn tubes_become_queues_scoped_by_server_with_rates_from_their_counters() {
        let servers = ["b:11300".to_owned(), "a:11300".to_owned()];
        let mut meter = RateMeter::default();
        let down = || Err(AdapterError::Unreachable("a:11300: refused".into()));
        let first = snapshot_from(&servers, &[Ok(reading("10", "10")), down()], 1_000, &mut meter);
        assert_eq!(first.overview.message_stats.publish, None, "no earlier poll");
        let second = snapshot_from(&servers, &[Ok(reading("30", "20")), down()], 3_000, &mut meter);
        let names: Vec<_> = second.nodes.iter().map(|n| (n.name.as_str(), n.running)).collect();
        assert_eq!(names, [("a:11300", false), ("b:11300", true)]);
        assert_eq!(second.overview.product, "beanstalkd");
        assert_eq!(second.overview.version, "1.12");
        assert_eq!(second.overview.message_stats.publish, Some(10.0));
        let mail = &second.queues[1];
        assert_eq!((mail.vhost.as_str(), mail.name.as_str()), ("b:11300", "mail"));
        assert_eq!((mail.messages_ready, mail.messages_unacknowledged), (4, 1));
        assert_eq!((mail.delayed, mail.held, mail.backlog()), (2, 3, 5));
        assert_eq!(mail.message_stats.publish, Some(5.0));
        assert_eq!(second.queues[0].consumers, 0, "Osprey's own watch of default is no worker");
        assert_eq!(second.overview.queue_totals.messages, 5);
        let brokers = server_brokers(&second.nodes);
        assert_eq!(brokers.len(), 1);
        assert_eq!((brokers[0].host.as_str(), brokers[0].port), ("b", 11300));
    }
}
