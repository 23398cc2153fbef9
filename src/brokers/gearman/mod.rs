//! Gearman job servers: every configured server's functions (queued and running jobs, workers)
//! and connections as one queue snapshot (a function is a queue scoped by its server), and the
//! operator action the protocol allows without taking jobs: submitting a background job.

mod protocol;

pub use protocol::{
    AdminConnection, ConnectionLine, FunctionStatus, MAX_PAYLOAD, Priority, check_function_name,
    parse_status, parse_workers, submit_background,
};

use super::AdapterError;
use super::servers::{Servers, server_brokers, server_node};
use crate::config::{ClusterConfig, GearmanConnection};
use crate::domain::queue::{ObjectTotals, Overview, Queue, QueueSnapshot, Rates};
use crate::domain::{ClusterKind, ClusterSnapshot, Millis};

/// The clients of one Gearman cluster: an administrative connection per server, kept from poll
/// to poll; a fresh connection for each submitted job.
pub struct GearmanAdapter {
    cluster: String,
    servers: Servers<AdminConnection>,
}

/// What one server said in one poll.
struct ServerReading {
    version: String,
    functions: Vec<FunctionStatus>,
    connections: Vec<ConnectionLine>,
}

/// A job to submit in the background.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submit {
    pub payload: String,
    #[serde(default)]
    pub priority: Priority,
}

impl GearmanAdapter {
    pub fn from_cluster(
        cluster: &ClusterConfig,
        gearman: &GearmanConnection,
    ) -> Result<GearmanAdapter, AdapterError> {
        Ok(GearmanAdapter {
            cluster: cluster.name.clone(),
            servers: Servers::new(gearman.servers(), cluster.poll_timeout)?,
        })
    }

    /// The configured servers, in configuration order.
    pub fn servers(&self) -> &[String] {
        self.servers.addresses()
    }

    /// Every server's functions and connections; an error only when no server answered.
    pub async fn queue_snapshot(&self, now: Millis) -> Result<QueueSnapshot, AdapterError> {
        let readings = self.servers.read_all(AdminConnection::open, read_server).await?;
        Ok(snapshot_from(self.servers.addresses(), &readings, now))
    }

    /// Submits a background job for `function` on `server`; its job handle.
    pub async fn submit(
        &self,
        server: &str,
        function: &str,
        job: &Submit,
    ) -> Result<String, AdapterError> {
        let server = self.servers.check(server)?;
        let timeout = self.servers.timeout();
        submit_background(server, timeout, function, job.payload.as_bytes(), job.priority).await
    }
}

async fn read_server(connection: &mut AdminConnection) -> Result<ServerReading, AdapterError> {
    Ok(ServerReading {
        version: connection.version().await?,
        functions: connection.status().await?,
        connections: connection.workers().await?,
    })
}

/// The snapshot of the servers that answered (the others listed as nodes that are down).
/// Gearman keeps no counters, so there are no rates.
fn snapshot_from(
    servers: &[String],
    readings: &[Result<ServerReading, AdapterError>],
    now: Millis,
) -> QueueSnapshot {
    let (mut nodes, mut queues, mut versions) = (Vec::new(), Vec::new(), Vec::<String>::new());
    let mut totals = ObjectTotals::default();
    for (address, reading) in servers.iter().zip(readings) {
        let Ok(reading) = reading else {
            nodes.push(server_node(address, false, None));
            continue;
        };
        nodes.push(server_node(address, true, None));
        if !versions.contains(&reading.version) {
            versions.push(reading.version.clone());
        }
        // Osprey's own administrative connection is listed too; it is nobody's.
        totals.connections += reading.connections.len().saturating_sub(1) as u64;
        totals.consumers +=
            reading.connections.iter().filter(|c| !c.functions.is_empty()).count() as u64;
        queues.extend(reading.functions.iter().map(|function| function_queue(address, function)));
    }
    let overview = Overview {
        product: "Gearman".into(),
        version: versions.join(", "),
        object_totals: totals,
        ..Overview::default()
    };
    QueueSnapshot::assembled(now, overview, nodes, queues)
}

fn function_queue(address: &str, function: &FunctionStatus) -> Queue {
    let running = function.running.min(function.total);
    Queue {
        name: function.name.clone(),
        vhost: address.to_owned(),
        kind: "function".into(),
        state: if function.workers == 0 { "no workers" } else { "running" }.into(),
        messages_ready: function.total - running,
        messages_unacknowledged: running,
        messages: function.total,
        delayed: 0,
        held: 0,
        consumers: function.workers,
        consumer_utilisation: None,
        idle_since: None,
        message_stats: Rates::default(),
    }
}

impl super::ClusterAdapter for GearmanAdapter {
    async fn snapshot(&self, now: Millis) -> Result<ClusterSnapshot, AdapterError> {
        let started = std::time::Instant::now();
        let view = self.queue_snapshot(now).await?;
        let (cluster, brokers) = (self.cluster.clone(), server_brokers(&view.nodes));
        let took = super::millis_since(started);
        Ok(ClusterSnapshot::of_queues(cluster, ClusterKind::Gearman, took, brokers, view))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_become_queues_scoped_by_server() {
        let reading = ServerReading {
            version: "1.1.20+ds".into(),
            functions: parse_status(&["resize\t5\t2\t1".into(), "idle\t0\t0\t0".into()]).unwrap(),
            connections: parse_workers(&[
                "20 127.0.0.1 - : resize".into(),
                "21 127.0.0.1 - :".into(),
                "22 127.0.0.1 - :".into(),
            ])
            .unwrap(),
        };
        let down = Err(AdapterError::Unreachable("a:4730: refused".into()));
        let snapshot = snapshot_from(&["b:4730".into(), "a:4730".into()], &[Ok(reading), down], 7);
        assert_eq!(snapshot.overview.version, "1.1.20+ds");
        assert_eq!(snapshot.overview.object_totals.connections, 2, "Osprey's own left out");
        assert_eq!(snapshot.overview.object_totals.consumers, 1);
        let resize = &snapshot.queues[1];
        assert_eq!((resize.vhost.as_str(), resize.name.as_str()), ("b:4730", "resize"));
        assert_eq!((resize.messages_ready, resize.messages_unacknowledged), (3, 2));
        assert_eq!((resize.backlog(), resize.consumers), (5, 1));
        assert_eq!(snapshot.queues[0].state, "no workers");
        assert!(!snapshot.nodes[0].running && snapshot.nodes[1].running);
    }
}
