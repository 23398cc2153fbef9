//! Alerting: rules and channels ([`definition`]), what a rule sees ([`rules`]), the pure
//! decision engine ([`engine`]), notice grouping ([`grouping`]), inhibition, routes and mute windows ([`policy`]), what a notice says ([`message`]), the notifiers
//! ([`notify`]) channel templates ([`templates`]) and the evaluation and delivery tasks around the durable outbox ([`service`]).

pub mod admin;
pub mod definition;
pub mod engine;
pub mod grouping;
pub mod message;
pub mod notify;
pub mod outbound;
pub mod policy;
pub mod rules;
pub mod service;
pub mod templates;

pub use engine::{AlertState, Engine, Notice, NoticeKind, Observation, RuleTiming, Silence};
pub use service::Alerting;
