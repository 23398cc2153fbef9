//! Jolokia's HTTP protocol as ActiveMQ's consoles serve it: bulk requests (reads, searches,
//! operations) each answered with its own status, the login, the console's origin check and the
//! answer's size handled once here.

use std::time::Duration;

use serde_json::{Value, json};

use crate::brokers::AdapterError;
use crate::secret::Secret;

/// Largest answer read from one console (a browse of big messages is refused past it).
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// One broker's Jolokia endpoint.
pub struct Jolokia {
    http: reqwest::Client,
    url: String,
    /// Artemis's console refuses requests without an `Origin` it allows; its own is allowed.
    origin: String,
    /// Host and port, as a broker is called before its name is known.
    address: String,
    /// The user and the password, its `${ENV}` references resolved.
    login: Option<(String, Secret)>,
    timeout: Duration,
}

impl std::fmt::Debug for Jolokia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jolokia").field("url", &self.url).finish_non_exhaustive()
    }
}

/// What one request of a bulk got: its value, or the error Jolokia gave for it.
pub type Answer = Result<Value, String>;

/// A read of `attributes` of every MBean matching `pattern`; errors on single attributes (an
/// attribute another version lacks) are left out rather than failing the read.
pub fn read(pattern: &str, attributes: &[&str]) -> Value {
    json!({"type": "read", "mbean": pattern, "attribute": attributes,
           "config": {"ignoreErrors": true}})
}

/// The names of the MBeans matching `pattern`.
pub fn search(pattern: &str) -> Value {
    json!({"type": "search", "mbean": pattern})
}

/// An operation (`name(java.lang.String,…)`) on `mbean`; collections in the answer are cut to
/// `max_items` entries.
pub fn exec(mbean: &str, operation: &str, arguments: Value, max_items: usize) -> Value {
    json!({"type": "exec", "mbean": mbean, "operation": operation, "arguments": arguments,
           "config": {"maxCollectionSize": max_items, "maxDepth": 4}})
}

impl Jolokia {
    pub fn new(
        http: reqwest::Client,
        url: &str,
        login: Option<(String, Secret)>,
        timeout: Duration,
    ) -> Result<Jolokia, AdapterError> {
        let parsed = url::Url::parse(url)
            .map_err(|e| AdapterError::Config(format!("management_urls: {url:?}: {e}")))?;
        let address = match (parsed.host_str(), parsed.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            _ => url.to_owned(),
        };
        Ok(Jolokia {
            http,
            url: url.trim_end_matches('/').to_owned(),
            origin: parsed.origin().ascii_serialization(),
            address,
            login,
            timeout,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Sends `requests` in one round trip; an answer per request, in order. An error only when
    /// the whole exchange failed (unreachable, login refused, not Jolokia).
    pub async fn bulk(&self, requests: &[Value]) -> Result<Vec<Answer>, AdapterError> {
        let body = serde_json::to_vec(requests).map_err(|e| AdapterError::Config(e.to_string()))?;
        let mut request = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .header(reqwest::header::ORIGIN, &self.origin)
            .body(body);
        if let Some((user, password)) = &self.login {
            request = request.basic_auth(user, Some(password.expose()));
        }
        let response = request.send().await.map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        if matches!(status.as_u16(), 401 | 403) {
            let who = match &self.login {
                Some((user, _)) => format!(
                    "user {user:?}: wrong username or password, or a user without the console role"
                ),
                None => "no login: set username and password".to_owned(),
            };
            return Err(AdapterError::Protocol(format!("{} refused {who} ({status})", self.url)));
        }
        let body = crate::brokers::read_body_capped(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| AdapterError::Protocol(format!("{}: {e}", self.url)))?;
        if !status.is_success() {
            return Err(AdapterError::Protocol(format!(
                "{} answered {status}: is it a Jolokia endpoint (/api/jolokia, Artemis: /console/jolokia)?",
                self.url
            )));
        }
        parse_bulk(&body, requests.len())
            .map_err(|e| AdapterError::Protocol(format!("{}: {e}", self.url)))
    }

    /// One request's value; its error as the cluster's answer.
    pub async fn one(&self, request: Value) -> Result<Value, AdapterError> {
        let answer = self.bulk(std::slice::from_ref(&request)).await?.pop();
        answer
            .unwrap_or_else(|| Err("no answer".into()))
            .map_err(|e| AdapterError::Protocol(format!("{}: {e}", self.url)))
    }

    fn transport_error(&self, e: &reqwest::Error) -> AdapterError {
        if e.is_timeout() {
            AdapterError::Timeout(self.timeout)
        } else {
            AdapterError::Unreachable(crate::telemetry::error_chain(e))
        }
    }
}

/// A bulk answer: an array with an answer per request. A single error object (Jolokia refusing
/// the whole request, as Artemis's origin check does) fails them all.
pub fn parse_bulk(body: &[u8], expected: usize) -> Result<Vec<Answer>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("not a Jolokia answer: {e}"))?;
    let answers = match value {
        Value::Array(answers) => answers,
        single @ Value::Object(_) => return Err(answer_error(&single)),
        _ => return Err("not a Jolokia answer: neither a list nor an object".into()),
    };
    if answers.len() != expected {
        return Err(format!("{} answers to {expected} requests", answers.len()));
    }
    Ok(answers.into_iter().map(answer).collect())
}

fn answer(mut value: Value) -> Answer {
    if value.get("status").and_then(Value::as_u64) == Some(200) {
        Ok(value.get_mut("value").map(Value::take).unwrap_or(Value::Null))
    } else {
        Err(answer_error(&value))
    }
}

fn answer_error(value: &Value) -> String {
    let status = value.get("status").and_then(Value::as_u64).unwrap_or(0);
    let error = value.get("error").and_then(Value::as_str).unwrap_or("an error without a message");
    let error: String = error.chars().take(300).collect();
    format!("{error} ({status})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_gets_its_value_or_its_error() {
        let body = br#"[{"status":200,"value":{"a":1}},
                        {"status":404,"error":"javax.management.InstanceNotFoundException : x"}]"#;
        let answers = parse_bulk(body, 2).unwrap();
        assert_eq!(answers[0], Ok(json!({"a": 1})));
        assert_eq!(answers[1], Err("javax.management.InstanceNotFoundException : x (404)".into()));
    }

    #[test]
    fn a_refused_bulk_or_garbage_is_an_error_for_all() {
        let refused = br#"{"error_type":"java.lang.Exception","error":"Origin null is not allowed to call this agent","status":403}"#;
        let error = parse_bulk(refused, 3).unwrap_err();
        assert!(error.contains("Origin null is not allowed") && error.contains("403"), "{error}");
        assert!(parse_bulk(b"<html>login</html>", 1).unwrap_err().starts_with("not a Jolokia"));
        assert!(parse_bulk(b"[]", 1).unwrap_err().contains("0 answers to 1"));
        assert!(parse_bulk(b"42", 1).is_err());
    }
}
