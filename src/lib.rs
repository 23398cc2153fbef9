//! Osprey: one binary that polls message-queue clusters, keeps their history in SQL and serves a
//! dashboard and a JSON API. Data flows one way: brokers → poller → store; the web layer reads.

pub mod alerting;
pub mod app;
pub mod auth;
pub mod brokers;
pub mod canary;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod duration_text;
pub mod evaluator;
#[doc(hidden)]
pub mod fuzzing;
pub mod instances;
pub mod local_file;
pub mod operate;
pub mod poller;
pub mod query;
pub mod secret;
pub mod shutdown;
pub mod store;
pub mod tasks;
pub mod telemetry;
#[cfg(test)]
mod testing;
pub mod web;
