//! What the kinds made of independent servers share (beanstalkd, Gearman): the configured
//! addresses, one polling connection kept per server, the check that keeps operator actions on
//! those addresses, and servers as the snapshot's nodes and brokers.

use std::time::Duration;

use super::AdapterError;
use crate::domain::Broker;
use crate::domain::queue::{Node, node_ids};

/// A cluster's servers and the polling connection (`C`) kept open to each.
pub struct Servers<C> {
    addresses: Vec<String>,
    timeout: Duration,
    polling: Vec<tokio::sync::Mutex<Option<C>>>,
}

impl<C> Servers<C> {
    /// `addresses` in configuration order; each command waits at most `timeout`.
    pub fn new(
        addresses: impl Iterator<Item = impl Into<String>>,
        timeout: Duration,
    ) -> Result<Servers<C>, AdapterError> {
        let addresses: Vec<String> = addresses.map(Into::into).collect();
        if addresses.is_empty() {
            return Err(AdapterError::Config("no server configured".into()));
        }
        let polling = addresses.iter().map(|_| tokio::sync::Mutex::new(None)).collect();
        Ok(Servers { addresses, timeout, polling })
    }

    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `server` if it is one of the cluster's: actions reach no other address.
    pub fn check<'a>(&self, server: &'a str) -> Result<&'a str, AdapterError> {
        if self.addresses.iter().any(|s| s == server) {
            Ok(server)
        } else {
            Err(AdapterError::Config(format!(
                "{} is not one of this cluster's servers ({})",
                crate::domain::clipped(server),
                self.addresses.join(", ")
            )))
        }
    }

    /// Reads every server at once over its kept connection (`open` makes one when there is
    /// none; a connection that failed is dropped, the next poll opens another). An error only
    /// when no server answered; otherwise each server's reading or error, in order.
    pub async fn read_all<R>(
        &self,
        open: impl AsyncFn(&str, Duration) -> Result<C, AdapterError>,
        read: impl AsyncFn(&mut C) -> Result<R, AdapterError>,
    ) -> Result<Vec<Result<R, AdapterError>>, AdapterError> {
        let one = async |index: usize| {
            let mut slot = self.polling[index].lock().await;
            let mut connection = match slot.take() {
                Some(connection) => connection,
                None => open(&self.addresses[index], self.timeout).await?,
            };
            let reading = read(&mut connection).await;
            if reading.is_ok() {
                *slot = Some(connection);
            }
            reading
        };
        let readings = futures::future::join_all((0..self.addresses.len()).map(one)).await;
        if !readings.iter().any(Result::is_ok) {
            let first = readings.into_iter().find_map(Result::err);
            return Err(
                first.unwrap_or_else(|| AdapterError::Config("no server configured".into()))
            );
        }
        Ok(readings)
    }
}

/// A server as a node: its address, whether it answered, its uptime when it says.
pub fn server_node(address: &str, running: bool, uptime_millis: Option<u64>) -> Node {
    Node { name: address.to_owned(), running, uptime: uptime_millis, ..Node::default() }
}

/// The servers that answered as the snapshot's brokers: the id from the address (as RabbitMQ
/// nodes' from their names, so a server stopping moves no other's id), host and port from it.
pub fn server_brokers(nodes: &[Node]) -> Vec<Broker> {
    node_ids(nodes)
        .into_iter()
        .filter(|(_, node)| node.running)
        .map(|(id, node)| {
            let (host, port) = node.name.rsplit_once(':').unwrap_or((&node.name, "0"));
            Broker { id, host: host.to_owned(), port: port.parse().unwrap_or(0), rack: None }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answering_servers_are_brokers_by_address() {
        let nodes = [server_node("b:11300", true, Some(5)), server_node("a:11300", false, None)];
        let brokers = server_brokers(&nodes);
        assert_eq!(brokers.len(), 1);
        assert_eq!((brokers[0].host.as_str(), brokers[0].port), ("b", 11300));
        assert_eq!(brokers[0].id, crate::domain::queue::node_id("b:11300"));
    }

    #[test]
    fn actions_reach_configured_servers_only() {
        let servers =
            Servers::<()>::new(["a:1", "b:2"].into_iter(), Duration::from_secs(1)).unwrap();
        assert_eq!(servers.check("b:2").unwrap(), "b:2");
        let refused = servers.check("evil:25").unwrap_err().to_string();
        assert!(refused.contains("not one of this cluster's servers (a:1, b:2)"), "{refused}");
        assert!(Servers::<()>::new(std::iter::empty::<String>(), Duration::ZERO).is_err());
    }
}
