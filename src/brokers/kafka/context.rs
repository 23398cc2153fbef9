//! The librdkafka client context of the poller's clients: it keeps the last connection-level
//! failure (authentication, TLS), which librdkafka reports only to this callback, so a poll that
//! fails with "all brokers down" can say why.

use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode as Code;

/// Why the cluster refused the last connection, shared by the clients of one cluster.
#[derive(Debug, Default)]
pub struct ConnectionFailure(Mutex<Option<String>>);

impl ConnectionFailure {
    /// The failure seen since the last [`ConnectionFailure::clear`], if any.
    pub fn last(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn record(&self, reason: &str) -> bool {
        let reason = plain(reason);
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let new = last.as_deref() != Some(reason.as_str());
        *last = Some(reason);
        new
    }
}

/// A refusal as operators read it: without librdkafka's thread tag and its retry bookkeeping
/// ("(after 337ms in state AUTH_REQ, 1 identical error(s) suppressed)"), so repeats compare equal.
fn plain(reason: &str) -> String {
    let reason = match reason.strip_prefix("[thrd:") {
        Some(rest) => rest.split_once("]: ").map_or(rest, |(_, after)| after),
        None => reason,
    };
    let reason = match reason.rfind(" (after ") {
        Some(at) if reason.ends_with(')') => &reason[..at],
        _ => reason,
    };
    reason.trim().to_owned()
}

/// Whether librdkafka's error is the cluster refusing us rather than not being there.
fn is_refusal(code: Option<Code>) -> bool {
    matches!(code, Some(Code::Authentication | Code::SSL | Code::SaslAuthenticationFailed))
}

pub struct Diagnosing {
    pub cluster: String,
    pub failure: Arc<ConnectionFailure>,
}

/// Whether a librdkafka log line is a connection the brokers refused (bad credentials, an
/// untrusted certificate). librdkafka logs these from its broker threads at once, while the same
/// error reaches [`ClientContext::error`] only when the client's queue is served.
fn is_refusal_log(level: RDKafkaLogLevel, facility: &str, message: &str) -> bool {
    matches!(
        level,
        RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error
    ) && facility == "FAIL"
        && (message.contains("SASL") || message.contains("SSL"))
}

impl ClientContext for Diagnosing {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        if is_refusal_log(level, facility, message) {
            if self.failure.record(message) {
                tracing::error!(cluster = %self.cluster, reason = %message, "the cluster refused the connection");
            }
            return;
        }
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", cluster = %self.cluster, "{facility} {message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", cluster = %self.cluster, "{facility} {message}")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", cluster = %self.cluster, "{facility} {message}")
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(target: "librdkafka", cluster = %self.cluster, "{facility} {message}")
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        if is_refusal(code) {
            // A wrong password is reported on every reconnect: log it when it changes.
            if self.failure.record(reason) {
                tracing::error!(cluster = %self.cluster, %reason, "the cluster refused the connection");
            }
        } else if code != Some(Code::AllBrokersDown) {
            tracing::warn!(cluster = %self.cluster, %error, %reason, "librdkafka error");
        }
    }
}

impl ConsumerContext for Diagnosing {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_kept_until_cleared() {
        let failure = Arc::new(ConnectionFailure::default());
        let context = Diagnosing { cluster: "c".into(), failure: Arc::clone(&failure) };
        context.error(KafkaError::Global(Code::AllBrokersDown), "0/1 brokers are down");
        assert_eq!(failure.last(), None, "being down is not a refusal");
        let reason =
            "SASL authentication error: invalid credentials with SASL mechanism SCRAM-SHA-512";
        context.error(KafkaError::Global(Code::Authentication), reason);
        assert_eq!(failure.last().as_deref(), Some(reason));
        assert!(!failure.record(&format!("{reason} (after 9ms in state AUTH_REQ)")), "a repeat");
        failure.clear();
        assert_eq!(failure.last(), None);
    }

    #[test]
    fn repeats_of_a_refusal_read_the_same() {
        let first = "[thrd:sasl_ssl://h:1/bootstrap]: sasl_ssl://h:1/bootstrap: SASL authentication error: bad (after 353ms in state AUTH_REQ)";
        let again = "sasl_ssl://h:1/bootstrap: SASL authentication error: bad (after 320ms in state AUTH_REQ, 1 identical error(s) suppressed)";
        assert_eq!(plain(first), "sasl_ssl://h:1/bootstrap: SASL authentication error: bad");
        assert_eq!(plain(first), plain(again));
    }

    #[test]
    fn refused_connections_are_told_from_other_log_lines() {
        let sasl =
            "sasl_ssl://127.0.0.1:19591/bootstrap: SASL authentication error: invalid credentials";
        assert!(is_refusal_log(RDKafkaLogLevel::Error, "FAIL", sasl));
        let tls =
            "ssl://127.0.0.1:19491/bootstrap: SSL handshake failed: certificate verify failed";
        assert!(is_refusal_log(RDKafkaLogLevel::Error, "FAIL", tls));
        let refused =
            "127.0.0.1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed: Connection refused";
        assert!(!is_refusal_log(RDKafkaLogLevel::Error, "FAIL", refused));
        assert!(!is_refusal_log(RDKafkaLogLevel::Debug, "FAIL", sasl));
    }
}
