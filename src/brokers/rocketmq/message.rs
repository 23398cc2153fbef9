//! RocketMQ messages on the wire: the stored-message encoding pulls return (decoded defensively,
//! since it comes from the network) and the headers of send and pull requests.

use std::collections::BTreeMap;

use super::remoting::{Command, code};
use crate::domain::Millis;

const MAGIC_V1: u32 = 0xDAA3_20A7;
const MAGIC_V2: u32 = 0xDAA3_20AB;
/// sysFlag bits.
const BORNHOST_V6: i32 = 1 << 4;
const STOREHOST_V6: i32 = 1 << 5;
const COMPRESSED: i32 = 1;
/// sysFlag bits 8–10: the compression of a compressed body (none set: zlib, as before 5.0).
const COMPRESSION_TYPE: i32 = 0b111 << 8;
const COMPRESSION_ZLIB: i32 = 3 << 8;
/// Largest body a compressed message is inflated to for display.
const MAX_INFLATED: u64 = 16 * 1024 * 1024;
/// Pull sysFlag: take the subscription from the request rather than the broker's registry.
const PULL_FLAG_SUBSCRIPTION: i32 = 1 << 2;
/// Separators of the properties string.
const NAME_VALUE: char = '\u{1}';
const PROPERTY: char = '\u{2}';

/// A message as the broker stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub queue_id: i32,
    pub queue_offset: i64,
    pub born_timestamp: Millis,
    pub store_timestamp: Millis,
    pub reconsume_times: i32,
    /// The body as stored was compressed (`sys_flag` says how); [`StoredMessage::content`]
    /// inflates it.
    pub compressed: bool,
    pub sys_flag: i32,
    /// The body as stored (compressed or not); lists may drop it and keep `stored_size`.
    pub body: Vec<u8>,
    pub stored_size: usize,
    pub topic: String,
    pub properties: BTreeMap<String, String>,
    /// `host:port` of the producer and of the broker that stored it.
    pub born_host: String,
    pub store_host: String,
    /// Byte position in the broker's commit log.
    pub commit_log_offset: i64,
}

impl StoredMessage {
    /// The id the broker gave it (`msgId` in a send result, "offset message id"): the store
    /// host's IPv4 address and port and the commit-log offset, 32 hex digits. IPv6 store hosts
    /// make 56 digits.
    pub fn offset_id(&self) -> String {
        let (host, port) = self.store_host.rsplit_once(':').unwrap_or((&self.store_host, "0"));
        let mut bytes = match host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(v4)) => v4.octets().to_vec(),
            Ok(std::net::IpAddr::V6(v6)) => v6.octets().to_vec(),
            Err(_) => vec![0; 4],
        };
        bytes.extend_from_slice(&port.parse::<u32>().unwrap_or(0).to_be_bytes());
        bytes.extend_from_slice(&self.commit_log_offset.to_be_bytes());
        hex::encode_upper(bytes)
    }

    /// The id the producer gave it (UNIQ_KEY), which clients show as "message id"; the offset
    /// id when there is none.
    pub fn client_id(&self) -> String {
        self.properties.get("UNIQ_KEY").cloned().unwrap_or_else(|| self.offset_id())
    }

    pub fn tag(&self) -> Option<&str> {
        self.properties.get("TAGS").map(String::as_str)
    }

    pub fn keys(&self) -> Vec<&str> {
        self.properties.get("KEYS").map(|k| k.split_whitespace().collect()).unwrap_or_default()
    }
}

/// Where an offset message id points: the broker `host:port` and the commit-log offset.
pub fn parse_offset_id(id: &str) -> Option<(String, i64)> {
    let bytes = hex::decode(id.trim()).ok()?;
    let (ip, rest) = match bytes.len() {
        16 => {
            let octets: [u8; 4] = bytes[..4].try_into().ok()?;
            (std::net::IpAddr::from(octets).to_string(), &bytes[4..])
        }
        28 => {
            let octets: [u8; 16] = bytes[..16].try_into().ok()?;
            (format!("[{}]", std::net::IpAddr::from(octets)), &bytes[16..])
        }
        _ => return None,
    };
    let port = u32::from_be_bytes(rest[..4].try_into().ok()?);
    let offset = i64::from_be_bytes(rest[4..12].try_into().ok()?);
    (port > 0 && port <= 65535 && offset >= 0).then(|| (format!("{ip}:{port}"), offset))
}

/// A host field: 4 address bytes and a 4-byte port, or 16 and 4 for IPv6.
fn host(bytes: &[u8]) -> String {
    let port = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    match bytes.len() {
        8 => {
            let ip = std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]);
            format!("{ip}:{}", port(&bytes[4..]))
        }
        20 => {
            let octets: [u8; 16] = bytes[..16].try_into().unwrap_or([0; 16]);
            format!("[{}]:{}", std::net::Ipv6Addr::from(octets), port(&bytes[16..]))
        }
        _ => String::new(),
    }
}

/// Why a compressed body cannot be shown as what the producer sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("the body is compressed with LZ4 or Zstd, which Osprey does not inflate")]
    OtherCompression,
    #[error("the compressed body is corrupt")]
    Corrupt,
    #[error("the body inflates to more than {} MiB", MAX_INFLATED / (1024 * 1024))]
    TooLarge,
}

/// A compressed body inflated: zlib only (what the Java client uses unless told otherwise), up
/// to [`MAX_INFLATED`] bytes, so a small hostile body cannot take gigabytes.
fn inflate(sys_flag: i32, body: &[u8]) -> Result<Vec<u8>, Unreadable> {
    use std::io::Read;
    let kind = sys_flag & COMPRESSION_TYPE;
    if kind != 0 && kind != COMPRESSION_ZLIB {
        return Err(Unreadable::OtherCompression);
    }
    let mut inflated = Vec::new();
    let mut reader = flate2::read::ZlibDecoder::new(body).take(MAX_INFLATED + 1);
    reader.read_to_end(&mut inflated).map_err(|_| Unreadable::Corrupt)?;
    if inflated.len() as u64 > MAX_INFLATED {
        return Err(Unreadable::TooLarge);
    }
    Ok(inflated)
}

impl StoredMessage {
    /// The body as the producer sent it: as stored, or inflated.
    pub fn content(&self) -> Result<std::borrow::Cow<'_, [u8]>, Unreadable> {
        if self.compressed {
            inflate(self.sys_flag, &self.body).map(std::borrow::Cow::Owned)
        } else {
            Ok(std::borrow::Cow::Borrowed(&self.body))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored message at byte {at}: {what}")]
pub struct DecodeError {
    pub at: usize,
    pub what: &'static str,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or(DecodeError { at: self.at, what })?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        self.u32(what).map(|v| v as i32)
    }
    fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        let b = self.take(8, what)?;
        Ok(i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
}

/// Every message of a pull response body, in order.
pub fn decode_all(bytes: &[u8]) -> Result<Vec<StoredMessage>, DecodeError> {
    let mut messages = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let mut cursor = Cursor { bytes, at };
        let total = cursor.u32("total size")? as usize;
        if total < 4 || at.checked_add(total).is_none_or(|end| end > bytes.len()) {
            return Err(DecodeError { at, what: "total size runs past the body" });
        }
        let one = &bytes[at..at + total];
        messages.push(decode_one(one).map_err(|e| DecodeError { at: at + e.at, ..e })?);
        at += total;
    }
    Ok(messages)
}

fn decode_one(bytes: &[u8]) -> Result<StoredMessage, DecodeError> {
    let mut c = Cursor { bytes, at: 4 };
    let magic = c.u32("magic code")?;
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(DecodeError { at: 4, what: "unknown magic code" });
    }
    let _body_crc = c.u32("body crc")?;
    let queue_id = c.i32("queue id")?;
    let _flag = c.i32("flag")?;
    let queue_offset = c.i64("queue offset")?;
    let commit_log_offset = c.i64("physical offset")?;
    let sys_flag = c.i32("sys flag")?;
    let born_timestamp = c.i64("born timestamp")?;
    let born_host = host(c.take(if sys_flag & BORNHOST_V6 != 0 { 20 } else { 8 }, "born host")?);
    let store_timestamp = c.i64("store timestamp")?;
    let store_host = host(c.take(if sys_flag & STOREHOST_V6 != 0 { 20 } else { 8 }, "store host")?);
    let reconsume_times = c.i32("reconsume times")?;
    let _prepared_offset = c.i64("prepared transaction offset")?;
    let body_len = c.u32("body length")? as usize;
    let body = c.take(body_len, "body")?.to_vec();
    let topic_len = if magic == MAGIC_V2 {
        usize::from(c.u16("topic length")?)
    } else {
        usize::from(c.take(1, "topic length")?[0])
    };
    let topic = String::from_utf8_lossy(c.take(topic_len, "topic")?).into_owned();
    let properties_len = usize::from(c.u16("properties length")?);
    let properties =
        parse_properties(&String::from_utf8_lossy(c.take(properties_len, "properties")?));
    Ok(StoredMessage {
        queue_id,
        queue_offset,
        born_timestamp,
        store_timestamp,
        reconsume_times,
        compressed: sys_flag & COMPRESSED != 0,
        sys_flag,
        stored_size: body.len(),
        body,
        topic,
        properties,
        born_host,
        store_host,
        commit_log_offset,
    })
}

pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.split(PROPERTY)
        .filter_map(|pair| pair.split_once(NAME_VALUE))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

pub fn format_properties(properties: &BTreeMap<String, String>) -> String {
    properties.iter().map(|(k, v)| format!("{k}{NAME_VALUE}{v}{PROPERTY}")).collect()
}

/// A pull of up to `count` messages from `offset`, committing nothing and never held open.
pub fn pull_request(group: &str, topic: &str, queue_id: i32, offset: i64, count: i32) -> Command {
    Command::request(code::PULL_MESSAGE)
        .field("consumerGroup", group)
        .field("topic", topic)
        .field("queueId", queue_id)
        .field("queueOffset", offset)
        .field("maxMsgNums", count)
        .field("sysFlag", PULL_FLAG_SUBSCRIPTION)
        .field("commitOffset", 0)
        .field("suspendTimeoutMillis", 0)
        .field("subscription", "*")
        .field("subVersion", 0)
        .field("expressionType", "TAG")
}

/// A test message to send, as an operator typed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outgoing {
    pub topic: String,
    pub tag: Option<String>,
    /// Message keys (for lookup by key), space-separated on the wire.
    pub keys: Vec<String>,
    pub body: Vec<u8>,
    pub properties: BTreeMap<String, String>,
}

/// The SEND_MESSAGE request of `message` to queue `queue_id`; `unique_id` becomes the client-side
/// message id (UNIQ_KEY).
pub fn send_request(message: &Outgoing, queue_id: i32, unique_id: &str, now: Millis) -> Command {
    let mut properties = message.properties.clone();
    if let Some(tag) = message.tag.as_ref().filter(|t| !t.is_empty()) {
        properties.insert("TAGS".into(), tag.clone());
    }
    if !message.keys.is_empty() {
        properties.insert("KEYS".into(), message.keys.join(" "));
    }
    properties.insert("UNIQ_KEY".into(), unique_id.to_owned());
    properties.insert("WAIT".into(), "true".into());
    Command::request(code::SEND_MESSAGE)
        .field("producerGroup", "OSPREY_PRODUCER")
        .field("topic", &message.topic)
        .field("defaultTopic", "TBW102")
        .field("defaultTopicQueueNums", 4)
        .field("queueId", queue_id)
        .field("sysFlag", 0)
        .field("bornTimestamp", now)
        .field("flag", 0)
        .field("properties", format_properties(&properties))
        .field("reconsumeTimes", 0)
        .field("unitMode", false)
        .field("batch", false)
        .with_body(message.body.clone())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A stored message as a v1 broker encodes it (IPv4 hosts).
    pub(crate) fn encoded(
        queue_offset: i64,
        store_timestamp: i64,
        body: &[u8],
        properties: &str,
    ) -> Vec<u8> {
        let topic = b"orders";
        let mut m = Vec::new();
        m.extend_from_slice(&0u32.to_be_bytes()); // total size, set below
        m.extend_from_slice(&MAGIC_V1.to_be_bytes());
        m.extend_from_slice(&0u32.to_be_bytes()); // body crc
        m.extend_from_slice(&2i32.to_be_bytes()); // queue id
        m.extend_from_slice(&0i32.to_be_bytes()); // flag
        m.extend_from_slice(&queue_offset.to_be_bytes());
        m.extend_from_slice(&1234i64.to_be_bytes()); // physical offset
        m.extend_from_slice(&0i32.to_be_bytes()); // sys flag
        m.extend_from_slice(&(store_timestamp - 5).to_be_bytes()); // born
        m.extend_from_slice(&[127, 0, 0, 1, 0, 0, 0x27, 0x10]);
        m.extend_from_slice(&store_timestamp.to_be_bytes());
        m.extend_from_slice(&[127, 0, 0, 1, 0, 0, 0x2a, 0xa3]);
        m.extend_from_slice(&0i32.to_be_bytes()); // reconsume times
        m.extend_from_slice(&0i64.to_be_bytes()); // prepared transaction offset
        m.extend_from_slice(&(body.len() as u32).to_be_bytes());
        m.extend_from_slice(body);
        m.push(topic.len() as u8);
        m.extend_from_slice(topic);
        m.extend_from_slice(&(properties.len() as u16).to_be_bytes());
        m.extend_from_slice(properties.as_bytes());
        let total = m.len() as u32;
        m[..4].copy_from_slice(&total.to_be_bytes());
        m
    }

    #[test]
    fn stored_messages_decode_with_their_store_time_and_properties() {
        let mut body =
            encoded(7, 1_700_000_000_000, b"hello", "TAGS\u{1}a\u{2}KEYS\u{1}k1 k2\u{2}");
        body.extend(encoded(8, 1_700_000_000_500, b"", ""));
        let messages = decode_all(&body).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!((messages[0].queue_offset, messages[0].store_timestamp), (7, 1_700_000_000_000));
        assert_eq!((messages[0].queue_id, messages[0].topic.as_str()), (2, "orders"));
        assert_eq!(messages[0].body, b"hello");
        assert_eq!(messages[0].properties["KEYS"], "k1 k2");
        assert_eq!(messages[1].store_timestamp, 1_700_000_000_500);
        assert_eq!(
            (messages[0].born_host.as_str(), messages[0].store_host.as_str()),
            ("127.0.0.1:10000", "127.0.0.1:10915")
        );
    }

    #[test]
    fn offset_ids_name_the_store_host_and_commit_log_offset_both_ways() {
        let message = &decode_all(&encoded(7, 1_700_000_000_000, b"x", "")).unwrap()[0];
        // 127.0.0.1, port 10915, commit-log offset 1234, as the Java MessageDecoder writes it.
        assert_eq!(message.offset_id(), "7F00000100002AA300000000000004D2");
        assert_eq!(parse_offset_id(&message.offset_id()), Some(("127.0.0.1:10915".into(), 1234)));
        assert_eq!(message.client_id(), message.offset_id(), "no UNIQ_KEY");
        for not_an_id in ["", "zz", "7F000001", "7F00000100000000000000000000000"] {
            assert_eq!(parse_offset_id(not_an_id), None, "{not_an_id}");
        }
    }

    #[test]
    fn zlib_bodies_are_inflated_within_a_cap_and_other_compressions_said_so() {
        use std::io::Write;
        let deflate = |bytes: &[u8]| {
            let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            zlib.write_all(bytes).unwrap();
            zlib.finish().unwrap()
        };
        let deflated = deflate(&b"x".repeat(5000));
        assert_eq!(inflate(COMPRESSED, &deflated).unwrap(), b"x".repeat(5000));
        assert_eq!(inflate(COMPRESSED | COMPRESSION_ZLIB, &deflated).unwrap().len(), 5000);
        assert_eq!(inflate(COMPRESSED | (1 << 8), &deflated), Err(Unreadable::OtherCompression));
        assert_eq!(inflate(COMPRESSED, b"not zlib"), Err(Unreadable::Corrupt));
        // A bomb: 17 MiB of zeros deflate to a small body.
        let bomb = deflate(&vec![0; 17 * 1024 * 1024]);
        assert!(bomb.len() < 1024 * 1024);
        assert_eq!(inflate(COMPRESSED, &bomb), Err(Unreadable::TooLarge));
    }

    #[test]
    fn truncated_and_hostile_bodies_are_errors_not_panics() {
        let body = encoded(7, 1_700_000_000_000, b"hello", "TAGS\u{1}a\u{2}");
        for end in 1..body.len() {
            assert!(decode_all(&body[..end]).is_err(), "prefix of {end} bytes");
        }
        let mut huge_length = body.clone();
        huge_length[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_all(&huge_length).is_err());
        crate::testing::mutations(&body, 20_000, 3, |bytes| {
            let _ = decode_all(bytes);
        });
    }

    #[test]
    fn a_send_request_carries_tag_keys_and_properties() {
        let message = Outgoing {
            topic: "orders".into(),
            tag: Some("paid".into()),
            keys: vec!["o-1".into(), "o-2".into()],
            body: b"{}".to_vec(),
            properties: [("source".to_owned(), "osprey".to_owned())].into(),
        };
        let request = send_request(&message, 3, "ID1", 42);
        let properties = parse_properties(&request.ext_fields["properties"]);
        assert_eq!(properties["TAGS"], "paid");
        assert_eq!(properties["KEYS"], "o-1 o-2");
        assert_eq!(properties["source"], "osprey");
        assert_eq!(properties["UNIQ_KEY"], "ID1");
        assert_eq!(request.ext_fields["queueId"], "3");
        assert_eq!(request.body, b"{}");
    }
}
