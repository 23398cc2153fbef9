//! Alerting: the pure decision engine (which notices are due, per rule and subject). Rules from
//! config and the database, the durable outbox and the e-mail and webhook notifiers build on it.

pub mod engine;

pub use engine::{AlertState, Engine, Notice, NoticeKind, Observation, RuleTiming, Silence};
