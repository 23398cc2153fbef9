//! Turning a send request into the messages it stands for: copies numbered with `{{i}}`, JSON
//! checked, sizes checked before any copy is built.

use serde::Deserialize;

use super::Refused;
use crate::brokers::kafka::actions::{Compression, OutgoingMessage};

/// Most copies one send may make.
pub const MAX_COPIES: usize = 1_000;
/// Most bytes the copies of one send may take together (a thousand 2 MB copies would be 2 GB).
pub const MAX_SEND_BYTES: usize = 32 * 1024 * 1024;

/// What a person asks to send.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    /// `text` (default) or `json` (checked to be JSON).
    #[serde(default)]
    pub value_format: Option<String>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub partition: Option<i32>,
    /// Copies to send; `{{i}}` in key, value and headers becomes 1, 2, …
    #[serde(default)]
    pub count: Option<usize>,
    /// RocketMQ: the message tag. (There `key` holds space-separated keys, `headers` the user
    /// properties and `partition` the queue's index in the topic's queue list.)
    #[serde(default)]
    pub tag: Option<String>,
    /// Kafka: the codec the producer compresses with (`none`, `gzip`, `snappy`, `lz4`, `zstd`).
    #[serde(default)]
    pub compression: Option<Compression>,
}

/// The messages a request stands for, checked against the topic's size limit.
pub fn expand(request: &SendRequest, max_bytes: usize) -> Result<Vec<OutgoingMessage>, Refused> {
    let count = request.count.unwrap_or(1);
    if count == 0 || count > MAX_COPIES {
        return Err(Refused::field("count", format!("copies must be between 1 and {MAX_COPIES}")));
    }
    if request.value_format.as_deref() == Some("json")
        && let Some(value) = &request.value
        && let Err(e) = serde_json::from_str::<serde_json::Value>(&value.replace("{{i}}", "1"))
    {
        return Err(Refused::field("value", format!("the value is not JSON: {e}")));
    }
    // Sizes first, before any copy is built: `{{i}}` grows by at most the digits of `count`.
    let template = request.key.as_deref().map_or(0, str::len)
        + request.value.as_deref().map_or(0, str::len)
        + request.headers.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    if template > max_bytes {
        return Err(too_big(template, max_bytes));
    }
    let digits = count.to_string().len();
    let placeholders = [request.key.as_deref(), request.value.as_deref()]
        .into_iter()
        .flatten()
        .chain(request.headers.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]))
        .map(|text| text.matches("{{i}}").count())
        .sum::<usize>();
    let largest = template + placeholders * digits.saturating_sub(5);
    if largest.saturating_mul(count) > MAX_SEND_BYTES {
        return Err(Refused::field(
            "count",
            format!(
                "{count} copies of {largest} bytes take more than {} MiB: send fewer or smaller",
                MAX_SEND_BYTES / (1024 * 1024)
            ),
        ));
    }
    let fill = |text: &str, i: usize| text.replace("{{i}}", &i.to_string()).into_bytes();
    let messages: Vec<OutgoingMessage> = (1..=count)
        .map(|i| OutgoingMessage {
            key: request.key.as_deref().filter(|k| !k.is_empty()).map(|k| fill(k, i)),
            value: request.value.as_deref().map(|v| fill(v, i)),
            headers: request
                .headers
                .iter()
                .map(|(k, v)| (k.replace("{{i}}", &i.to_string()), fill(v, i)))
                .collect(),
            partition: request.partition,
        })
        .collect();
    if let Some(big) = messages.iter().map(OutgoingMessage::size).max().filter(|s| *s > max_bytes) {
        return Err(too_big(big, max_bytes));
    }
    Ok(messages)
}

fn too_big(size: usize, max_bytes: usize) -> Refused {
    Refused::field(
        "value",
        format!(
            "the message takes {size} bytes; the topic accepts at most {max_bytes} (max.message.bytes)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_number_themselves_and_sizes_are_checked() {
        let request = SendRequest {
            key: Some("k{{i}}".into()),
            value: Some("{\"n\": {{i}}}".into()),
            value_format: Some("json".into()),
            headers: vec![("trace".into(), "t{{i}}".into())],
            count: Some(3),
            ..SendRequest::default()
        };
        let messages = expand(&request, 1_000_000).unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[2].key.as_deref(), Some(&b"k3"[..]));
        assert_eq!(messages[2].value.as_deref(), Some(&b"{\"n\": 3}"[..]));
        assert_eq!(messages[1].headers[0].1, b"t2");
        let big = SendRequest { value: Some("x".repeat(2_000)), ..SendRequest::default() };
        let error = expand(&big, 1_000).unwrap_err().to_string();
        assert!(error.contains("at most 1000 (max.message.bytes)"), "{error}");
        let not_json = SendRequest {
            value: Some("{".into()),
            value_format: Some("json".into()),
            ..SendRequest::default()
        };
        assert!(expand(&not_json, 1_000).unwrap_err().to_string().contains("not JSON"));
        let too_many = SendRequest { count: Some(MAX_COPIES + 1), ..SendRequest::default() };
        assert_eq!(expand(&too_many, 1_000).unwrap_err().field, Some("count"));
        // The size is refused before any copy is built.
        let huge = SendRequest {
            value: Some("x".repeat(2_000)),
            count: Some(MAX_COPIES),
            ..SendRequest::default()
        };
        assert_eq!(expand(&huge, 1_000).unwrap_err().field, Some("value"));
        // Each copy fits, all of them together do not: refused before any is built.
        let many = SendRequest {
            value: Some("x".repeat(1024 * 1024)),
            count: Some(MAX_COPIES),
            ..SendRequest::default()
        };
        let refused = expand(&many, 2 * 1024 * 1024).unwrap_err();
        assert_eq!(refused.field, Some("count"), "{refused}");
        let fine = SendRequest { count: Some(30), ..many };
        assert_eq!(expand(&fine, 2 * 1024 * 1024).unwrap().len(), 30);
    }
}
