//! What operators do to clusters beyond one broker call, shared by pages and API and knowing
//! nothing of HTTP: send expansion, topic checks and config merging, offset-reset planning.
//! Pure: the web layer asks the brokers (offsets at a time) and passes the answers in; refusals
//! name the field that is wrong.

mod reset;
mod send;
mod topics;

pub use reset::{OffsetChange, ResetOutcome, ResetRequest, plan_reset, reset_scope, reset_time};
pub use send::{MAX_COPIES, SendRequest, expand};
pub use topics::{
    TopicRequest, check_new_topic, check_topic_name, explicit_configs, merge_configs,
};

/// A request refused as it stands, naming the field that is wrong when one is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    pub field: Option<&'static str>,
    pub message: String,
}

impl Refused {
    pub fn field(field: &'static str, message: impl Into<String>) -> Refused {
        Refused { field: Some(field), message: message.into() }
    }

    pub fn whole(message: impl Into<String>) -> Refused {
        Refused { field: None, message: message.into() }
    }
}
