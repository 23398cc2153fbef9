//! Every cluster's clients, built once from its configuration and shared by the poller and the
//! operator actions: the one place that turns a cluster's kind into code.

use std::sync::Arc;

use super::AdapterError;
use super::activemq::ActivemqAdapter;
use super::beanstalkd::BeanstalkAdapter;
use super::gearman::GearmanAdapter;
use super::kafka::KafkaAdapter;
use super::kafka::actions::KafkaActions;
use super::rabbitmq::RabbitAdapter;
use super::rocketmq::RocketAdapter;
use crate::config::{ClusterConfig, Connection};

/// The clients of one cluster. Kafka has two (the admin/consumer client that polls and a
/// producer for test messages); the other kinds one, shared by the poller and the operator
/// actions.
#[derive(Clone)]
pub enum ClusterClient {
    Kafka { poll: Arc<KafkaAdapter>, actions: Arc<KafkaActions> },
    Rabbitmq(Arc<RabbitAdapter>),
    Rocketmq(Arc<RocketAdapter>),
    Beanstalkd(Arc<BeanstalkAdapter>),
    Gearman(Arc<GearmanAdapter>),
    Activemq(Arc<ActivemqAdapter>),
}

impl ClusterClient {
    /// Creates the cluster's clients without contacting it, so mistakes in client settings
    /// surface before anything starts.
    pub fn connect(cluster: &ClusterConfig) -> Result<ClusterClient, AdapterError> {
        Ok(match &cluster.connection {
            Connection::Kafka(kafka) => ClusterClient::Kafka {
                poll: Arc::new(KafkaAdapter::new(cluster, kafka)?),
                actions: Arc::new(KafkaActions::new(cluster, kafka)?),
            },
            Connection::Rabbitmq(rabbit) => {
                ClusterClient::Rabbitmq(Arc::new(RabbitAdapter::from_cluster(cluster, rabbit)?))
            }
            Connection::Rocketmq(rocket) => {
                ClusterClient::Rocketmq(Arc::new(RocketAdapter::from_cluster(cluster, rocket)?))
            }
            Connection::Beanstalkd(beanstalk) => ClusterClient::Beanstalkd(Arc::new(
                BeanstalkAdapter::from_cluster(cluster, beanstalk)?,
            )),
            Connection::Gearman(gearman) => {
                ClusterClient::Gearman(Arc::new(GearmanAdapter::from_cluster(cluster, gearman)?))
            }
            Connection::Activemq(activemq) => {
                ClusterClient::Activemq(Arc::new(ActivemqAdapter::from_cluster(cluster, activemq)?))
            }
        })
    }
}
