//! Osprey's integration tests: one binary, real peers (Kafka-protocol brokers, PostgreSQL,
//! MariaDB, SQLite, headless Chromium). Run them through `scripts/test.sh`, which starts the peers
//! and passes their addresses in `OSPREY_TEST_*` variables.

mod browser;
mod cli;
mod groups;
mod helpers;
mod kafka;
mod store;
