//! Osprey's integration tests: one binary, real peers (Kafka-protocol brokers, PostgreSQL,
//! MariaDB, SQLite, RabbitMQ, a RocketMQ name server and broker, an SMTP server, headless Chromium; webhooks reach a
//! receiver the tests run). Run them through `scripts/test.sh`, which starts the peers
//! and passes their addresses in `OSPREY_TEST_*` variables.

// First, so its macros are in scope in the modules below.
#[macro_use]
mod helpers;

mod access;
mod activemq;
mod alerts;
mod apache_kafka;
mod apache_rocketmq;
mod beanstalkd;
mod browser;
mod cli;
mod faults;
mod gearman;
mod groups;
mod hostile;
mod kafka;
mod layers;
mod manage;
mod messages;
mod metrics;
mod notices;
mod partitions;
mod rabbitmq;
mod receivers;
mod rocketmq;
mod scale_out;
mod store;
mod web;
