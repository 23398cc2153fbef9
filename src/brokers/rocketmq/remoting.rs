//! The RocketMQ remoting protocol: frames (`total length | serialize type and header length | JSON
//! header | body`), commands, ACL signatures and a small pool of connections per address. Pooled
//! connections idle past `max_idle` are dropped (servers close channels idle for 120 s), and a
//! call whose pooled connection turns out closed before answering is retried once on a fresh one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::brokers::AdapterError;

/// Largest frame accepted from a server. Topic lists and consume stats of big clusters stay far
/// below it; a garbage length prefix cannot make us allocate more.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// Idle connections kept per address.
const POOL_PER_ADDRESS: usize = 8;

/// How long a connection may sit in the pool and still be handed out: well below the 120 s after
/// which RocketMQ servers close idle channels.
pub const DEFAULT_MAX_IDLE: Duration = Duration::from_secs(60);

/// Request codes (`org.apache.rocketmq.remoting.protocol.RequestCode`).
pub mod code {
    pub const SEND_MESSAGE: i32 = 10;
    pub const PULL_MESSAGE: i32 = 11;
    pub const QUERY_MESSAGE: i32 = 12;
    pub const UPDATE_CONSUMER_OFFSET: i32 = 15;
    pub const UPDATE_AND_CREATE_TOPIC: i32 = 17;
    pub const GET_ALL_TOPIC_CONFIG: i32 = 21;
    pub const GET_BROKER_RUNTIME_INFO: i32 = 28;
    pub const SEARCH_OFFSET_BY_TIMESTAMP: i32 = 29;
    pub const GET_MAX_OFFSET: i32 = 30;
    pub const VIEW_MESSAGE_BY_ID: i32 = 33;
    pub const HEART_BEAT: i32 = 34;
    pub const GET_ROUTEINFO_BY_TOPIC: i32 = 105;
    pub const GET_BROKER_CLUSTER_INFO: i32 = 106;
    pub const UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: i32 = 200;
    pub const GET_ALL_SUBSCRIPTIONGROUP_CONFIG: i32 = 201;
    pub const GET_TOPIC_STATS_INFO: i32 = 202;
    pub const GET_CONSUMER_CONNECTION_LIST: i32 = 203;
    pub const GET_PRODUCER_CONNECTION_LIST: i32 = 204;
    pub const GET_ALL_TOPIC_LIST_FROM_NAMESERVER: i32 = 206;
    pub const DELETE_SUBSCRIPTIONGROUP: i32 = 207;
    pub const GET_CONSUME_STATS: i32 = 208;
    pub const DELETE_TOPIC_IN_BROKER: i32 = 215;
    pub const DELETE_TOPIC_IN_NAMESRV: i32 = 216;
    pub const INVOKE_BROKER_TO_RESET_OFFSET: i32 = 222;
    pub const QUERY_TOPIC_CONSUME_BY_WHO: i32 = 300;
    pub const CONSUME_MESSAGE_DIRECTLY: i32 = 309;
}

/// Response codes that callers tell apart.
pub mod response {
    pub const SUCCESS: i32 = 0;
    /// ACL: not authenticated or not authorised.
    pub const NO_PERMISSION: i32 = 16;
    pub const TOPIC_NOT_EXIST: i32 = 17;
    pub const PULL_NOT_FOUND: i32 = 19;
    pub const PULL_RETRY_IMMEDIATELY: i32 = 20;
    pub const PULL_OFFSET_MOVED: i32 = 21;
    pub const QUERY_NOT_FOUND: i32 = 22;
    pub const CONSUMER_NOT_ONLINE: i32 = 206;
}

const FLAG_RESPONSE: i32 = 1;
const SERIALIZE_JSON: u8 = 0;

/// One request or response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Command {
    pub code: i32,
    #[serde(default)]
    pub language: String,
    #[serde(default)]
    pub version: i32,
    #[serde(default)]
    pub opaque: i32,
    #[serde(default)]
    pub flag: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    #[serde(default, deserialize_with = "ext_fields")]
    pub ext_fields: BTreeMap<String, String>,
    /// Servers close the connection on requests without it.
    #[serde(default = "json_type", rename = "serializeTypeCurrentRPC")]
    pub serialize_type_current_rpc: String,
    #[serde(skip)]
    pub body: Vec<u8>,
}

fn json_type() -> String {
    "JSON".into()
}

/// Servers write ext field values as strings, some as numbers or booleans; keep them as text.
fn ext_fields<'de, D: serde::Deserializer<'de>>(
    de: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let fields: Option<BTreeMap<String, serde_json::Value>> = Deserialize::deserialize(de)?;
    Ok(fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect())
}

impl Command {
    pub fn request(code: i32) -> Command {
        Command {
            code,
            language: "OTHER".into(),
            // MQVersion V4_9_4: old enough for every 4.x and 5.x server to understand.
            version: 435,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: BTreeMap::new(),
            serialize_type_current_rpc: json_type(),
            body: Vec::new(),
        }
    }

    pub fn field(mut self, name: &str, value: impl ToString) -> Command {
        self.ext_fields.insert(name.to_owned(), value.to_string());
        self
    }

    pub fn with_body(mut self, body: Vec<u8>) -> Command {
        self.body = body;
        self
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// The frame on the wire.
    pub fn encode(&self) -> Result<Vec<u8>, AdapterError> {
        let header = serde_json::to_vec(self).map_err(|e| AdapterError::Config(e.to_string()))?;
        if header.len() >= 1 << 24 {
            return Err(AdapterError::Config("request header too large".into()));
        }
        let total = 4 + header.len() + self.body.len();
        let mut frame = Vec::with_capacity(4 + total);
        frame.extend_from_slice(&(total as u32).to_be_bytes());
        frame.extend_from_slice(
            &((header.len() as u32) | (u32::from(SERIALIZE_JSON) << 24)).to_be_bytes(),
        );
        frame.extend_from_slice(&header);
        frame.extend_from_slice(&self.body);
        Ok(frame)
    }

    /// A frame's content (after its length prefix) as a command.
    pub fn decode(frame: &[u8]) -> Result<Command, FrameError> {
        let word = frame.get(..4).ok_or(FrameError::Short)?;
        let word = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        let (serialize_type, header_len) = ((word >> 24) as u8, (word & 0x00ff_ffff) as usize);
        if serialize_type != SERIALIZE_JSON {
            return Err(FrameError::SerializeType(serialize_type));
        }
        let header = frame.get(4..4 + header_len).ok_or(FrameError::HeaderLength(header_len))?;
        let mut command: Command =
            serde_json::from_slice(header).map_err(|e| FrameError::Header(e.to_string()))?;
        command.body = frame[4 + header_len..].to_vec();
        Ok(command)
    }

    /// Adds `AccessKey` and `Signature` as RocketMQ's ACL 1.0 checks them: HMAC-SHA1 over the ext
    /// field values sorted by name, then the body.
    pub fn sign(&mut self, access_key: &str, secret_key: &str) -> Result<(), AdapterError> {
        self.ext_fields.insert("AccessKey".into(), access_key.to_owned());
        self.ext_fields.remove("Signature");
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret_key.as_bytes())
            .map_err(|e| AdapterError::Config(format!("secret_key: {e}")))?;
        for value in self.ext_fields.values() {
            mac.update(value.as_bytes());
        }
        mac.update(&self.body);
        let signature =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        self.ext_fields.insert("Signature".into(), signature);
        Ok(())
    }
}

/// Why bytes from a server are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame shorter than its header")]
    Short,
    #[error("frame of {0} bytes is larger than the {MAX_FRAME} accepted")]
    TooLarge(usize),
    #[error("header length {0} runs past the frame")]
    HeaderLength(usize),
    #[error("serialization type {0} is not JSON")]
    SerializeType(u8),
    #[error("header is not a remoting command: {0}")]
    Header(String),
}

/// Connections to name servers and brokers, reused across polls.
#[derive(Debug)]
pub struct Remoting {
    idle: Mutex<HashMap<String, Vec<Pooled>>>,
    next_opaque: AtomicI32,
    timeout: Duration,
    credentials: Option<(String, String)>,
    /// Pooled connections idle this long or longer are dropped instead of reused.
    max_idle: Duration,
}

/// An idle connection and when it was put back.
#[derive(Debug)]
struct Pooled {
    stream: TcpStream,
    since: Instant,
}

impl Remoting {
    pub fn new(timeout: Duration, credentials: Option<(String, String)>) -> Remoting {
        Remoting {
            idle: Mutex::default(),
            next_opaque: AtomicI32::new(1),
            timeout,
            credentials,
            max_idle: DEFAULT_MAX_IDLE,
        }
    }

    /// Reuses pooled connections only while they have been idle for less than `max_idle`
    /// ([`DEFAULT_MAX_IDLE`] unless set); zero never reuses one.
    pub fn with_max_idle(mut self, max_idle: Duration) -> Remoting {
        self.max_idle = max_idle;
        self
    }

    /// Sends `request` to `address` and waits for its response; any transport or framing error
    /// drops the connection. The response may carry an error code: see [`Command::code`].
    ///
    /// A pooled connection that fails before the server can have answered (the request could
    /// not be written, or the peer closed or reset the connection before the first byte of an
    /// answer) was most likely closed by the server while idle: the request is sent once more on
    /// a fresh connection. Never after a timeout or a partial answer, so a send is not repeated
    /// once the server may have processed it. The timeout covers both attempts.
    pub async fn call(&self, address: &str, mut request: Command) -> Result<Command, AdapterError> {
        request.opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
        if let Some((access_key, secret_key)) = &self.credentials {
            request.sign(access_key, secret_key)?;
        }
        let frame = request.encode()?;
        let opaque = request.opaque;
        let attempts = async {
            if let Some(stream) = self.take(address) {
                match exchange(stream, address, &frame, opaque).await {
                    Ok(done) => return Ok(done),
                    Err(failure) if failure.stale => {}
                    Err(failure) => return Err(failure.error),
                }
            }
            let stream = TcpStream::connect(address)
                .await
                .map_err(|e| AdapterError::Unreachable(format!("{address}: {e}")))?;
            exchange(stream, address, &frame, opaque).await.map_err(|failure| failure.error)
        };
        let (stream, response) = tokio::time::timeout(self.timeout, attempts)
            .await
            .map_err(|_| AdapterError::Timeout(self.timeout))??;
        self.give_back(address, stream);
        Ok(response)
    }

    /// Like [`Remoting::call`], but any code other than SUCCESS is an error naming the request.
    pub async fn call_ok(&self, address: &str, request: Command) -> Result<Command, AdapterError> {
        let code = request.code;
        let response = self.call(address, request).await?;
        if response.code == response::SUCCESS {
            Ok(response)
        } else {
            Err(refused(address, code, &response))
        }
    }

    /// The most recently returned connection to `address` that has been idle for less than
    /// `max_idle`; older ones are dropped.
    fn take(&self, address: &str) -> Option<TcpStream> {
        let mut idle = self.idle.lock().ok()?;
        let streams = idle.get_mut(address)?;
        streams.retain(|pooled| pooled.since.elapsed() < self.max_idle);
        streams.pop().map(|pooled| pooled.stream)
    }

    fn give_back(&self, address: &str, stream: TcpStream) {
        if let Ok(mut idle) = self.idle.lock() {
            let streams = idle.entry(address.to_owned()).or_default();
            if streams.len() < POOL_PER_ADDRESS {
                streams.push(Pooled { stream, since: Instant::now() });
            }
        }
    }
}

/// Why one exchange on one connection failed.
struct Failure {
    error: AdapterError,
    /// The request was not fully written, or the peer closed or reset the connection before the
    /// first byte of an answer: what a connection the server closed while idle looks like, and
    /// the server cannot have answered.
    stale: bool,
}

impl Failure {
    fn stale(error: AdapterError) -> Failure {
        Failure { error, stale: true }
    }
}

impl From<AdapterError> for Failure {
    fn from(error: AdapterError) -> Failure {
        Failure { error, stale: false }
    }
}

/// Writes `frame` on `stream` and reads until the response to `opaque`; the stream comes back
/// with it for reuse.
async fn exchange(
    mut stream: TcpStream,
    address: &str,
    frame: &[u8],
    opaque: i32,
) -> Result<(TcpStream, Command), Failure> {
    stream.set_nodelay(true).ok();
    // A write error means the whole request never left: the server cannot have processed it.
    stream.write_all(frame).await.map_err(|e| Failure::stale(io_error(address, &e)))?;
    let mut skipped = false;
    loop {
        // After a skipped frame the server was alive and may have read the request.
        let response = read_frame(&mut stream, address)
            .await
            .map_err(|failure| Failure { stale: failure.stale && !skipped, ..failure })?;
        // A late answer to an abandoned request on a reused connection is skipped.
        if response.is_response() && response.opaque == opaque {
            return Ok((stream, response));
        }
        skipped = true;
    }
}

/// The error of a request the server answered with a failure code.
pub fn refused(address: &str, request_code: i32, response: &Command) -> AdapterError {
    let remark = response.remark.as_deref().unwrap_or("(no remark)");
    if response.code == response::NO_PERMISSION {
        // An ACL broker: the keys are missing, wrong, or lack the right.
        return AdapterError::Protocol(format!(
            "{address} denied request {request_code} (ACL, code 16): {remark}; check the \
             cluster's access_key and secret_key"
        ));
    }
    AdapterError::Protocol(format!(
        "{address} refused request {request_code}: code {} {remark}",
        response.code
    ))
}

fn io_error(address: &str, error: &std::io::Error) -> AdapterError {
    AdapterError::Unreachable(format!("{address}: {error}"))
}

/// The peer closed or reset the connection.
fn closed_by_peer(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    matches!(error.kind(), ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof)
}

/// Reads one frame. The failure is stale when the peer closed or reset the connection before its
/// first byte.
async fn read_frame(stream: &mut TcpStream, address: &str) -> Result<Command, Failure> {
    let closed =
        || AdapterError::Protocol(format!("{address} closed the connection without answering"));
    let mut length = [0u8; 4];
    // The first byte on its own, to tell a connection closed before answering anything from one
    // closed in the middle of an answer.
    match stream.read(&mut length[..1]).await {
        Ok(0) => return Err(Failure::stale(closed())),
        Ok(_) => {}
        Err(e) if closed_by_peer(&e) => return Err(Failure::stale(io_error(address, &e))),
        Err(e) => return Err(io_error(address, &e).into()),
    }
    stream.read_exact(&mut length[1..]).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof { closed() } else { io_error(address, &e) }
    })?;
    let length = u32::from_be_bytes(length) as usize;
    let garbage =
        |e: FrameError| AdapterError::Protocol(format!("{address} answered garbage: {e}"));
    if length > MAX_FRAME {
        return Err(garbage(FrameError::TooLarge(length)).into());
    }
    if length < 4 {
        return Err(garbage(FrameError::Short).into());
    }
    let frame =
        crate::brokers::read_announced(stream, length).await.map_err(|e| io_error(address, &e))?;
    Command::decode(&frame).map_err(|e| Failure::from(garbage(e)))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use tokio::net::TcpListener;
    use tokio::sync::oneshot;

    use super::*;

    fn frame_content(command: &Command) -> Vec<u8> {
        command.encode().unwrap()[4..].to_vec()
    }

    #[test]
    fn an_acl_refusal_says_so_and_names_the_keys_to_check() {
        let mut answer = Command::request(0);
        answer.code = response::NO_PERMISSION;
        answer.remark = Some("check signature failed.".into());
        let error = refused("10.0.0.1:10911", code::GET_BROKER_RUNTIME_INFO, &answer).to_string();
        assert!(
            error.contains("denied request 28 (ACL, code 16): check signature failed."),
            "{error}"
        );
        assert!(error.contains("access_key and secret_key"), "{error}");
        answer.code = 1;
        let other = refused("10.0.0.1:10911", 28, &answer).to_string();
        assert!(other.contains("refused request 28: code 1 check signature failed."), "{other}");
    }

    async fn local_server() -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        (listener, address)
    }

    /// One request as a server reads it, or None once the client closed the connection.
    async fn read_request(stream: &mut TcpStream) -> Option<Command> {
        let mut length = [0u8; 4];
        stream.read_exact(&mut length).await.ok()?;
        let mut content = vec![0u8; u32::from_be_bytes(length) as usize];
        stream.read_exact(&mut content).await.ok()?;
        Some(Command::decode(&content).unwrap())
    }

    async fn answer(stream: &mut TcpStream, request: &Command) {
        let mut response = Command::request(response::SUCCESS);
        response.flag = FLAG_RESPONSE;
        response.opaque = request.opaque;
        stream.write_all(&response.encode().unwrap()).await.unwrap();
    }

    fn remoting() -> Remoting {
        Remoting::new(Duration::from_secs(10), None)
    }

    fn closed_without_answering(error: &AdapterError) -> bool {
        let AdapterError::Protocol(message) = error else { return false };
        message.ends_with("closed the connection without answering")
    }

    fn ping() -> Command {
        Command::request(code::GET_BROKER_CLUSTER_INFO)
    }

    /// Answers every request on every connection and counts the connections.
    fn serve_everything(listener: TcpListener) -> Arc<AtomicUsize> {
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    while let Some(request) = read_request(&mut stream).await {
                        answer(&mut stream, &request).await;
                    }
                });
            }
        });
        accepted
    }

    #[tokio::test]
    async fn a_pooled_connection_the_server_closed_is_retried_once_on_a_fresh_one() {
        let (listener, address) = local_server().await;
        let (closed_tx, closed_rx) = oneshot::channel();
        let server = tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.unwrap();
            let request = read_request(&mut first).await.unwrap();
            answer(&mut first, &request).await;
            // As a RocketMQ server does with a channel idle for 120 s.
            drop(first);
            closed_tx.send(()).unwrap();
            let (mut second, _) = listener.accept().await.unwrap();
            let request = read_request(&mut second).await.unwrap();
            answer(&mut second, &request).await;
        });
        let remoting = remoting();
        assert_eq!(remoting.call(&address, ping()).await.unwrap().code, response::SUCCESS);
        closed_rx.await.unwrap();
        assert_eq!(remoting.call(&address, ping()).await.unwrap().code, response::SUCCESS);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_connection_idle_for_max_idle_is_not_reused() {
        let (listener, address) = local_server().await;
        let accepted = serve_everything(listener);
        let remoting = remoting().with_max_idle(Duration::ZERO);
        remoting.call(&address, ping()).await.unwrap();
        remoting.call(&address, ping()).await.unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_connection_idle_for_less_than_max_idle_is_reused() {
        let (listener, address) = local_server().await;
        let accepted = serve_everything(listener);
        let remoting = remoting();
        remoting.call(&address, ping()).await.unwrap();
        remoting.call(&address, ping()).await.unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_fresh_connection_closed_without_an_answer_is_an_error_and_not_retried() {
        let (listener, address) = local_server().await;
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                // Read before closing, so the client sees end of stream rather than a reset.
                if read_request(&mut stream).await.is_some() {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        let error = remoting().call(&address, ping()).await.unwrap_err();
        assert!(closed_without_answering(&error), "{error:?}");
        // The client sees the close only after the server counted the request it read.
        assert_eq!(requests.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_retry_that_is_closed_without_an_answer_too_is_an_error_and_not_retried_again() {
        let (listener, address) = local_server().await;
        let (closed_tx, closed_rx) = oneshot::channel();
        let later_requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&later_requests);
        tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.unwrap();
            let request = read_request(&mut first).await.unwrap();
            answer(&mut first, &request).await;
            drop(first);
            closed_tx.send(()).unwrap();
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                if read_request(&mut stream).await.is_some() {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        let remoting = remoting();
        remoting.call(&address, ping()).await.unwrap();
        closed_rx.await.unwrap();
        let error = remoting.call(&address, ping()).await.unwrap_err();
        assert!(closed_without_answering(&error), "{error:?}");
        assert_eq!(later_requests.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_request_round_trips_through_its_frame() {
        let request = Command::request(code::GET_ROUTEINFO_BY_TOPIC)
            .field("topic", "orders")
            .with_body(b"payload".to_vec());
        let frame = request.encode().unwrap();
        let total = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(total, frame.len() - 4);
        let header_text = String::from_utf8_lossy(&frame[8..frame.len() - 7]).to_string();
        assert!(header_text.contains("\"serializeTypeCurrentRPC\":\"JSON\""), "{header_text}");
        assert!(header_text.contains("\"extFields\":{\"topic\":\"orders\"}"), "{header_text}");
        let decoded = Command::decode(&frame[4..]).unwrap();
        assert_eq!(decoded, request);
    }

    #[test]
    fn ext_fields_of_any_json_type_are_read_as_text() {
        let header = br#"{"code":0,"flag":1,"opaque":7,"extFields":{"queueId":3,"ok":true,"n":null,"msgId":"AB"}}"#;
        let mut content = ((header.len() as u32).to_be_bytes()).to_vec();
        content.extend_from_slice(header);
        let command = Command::decode(&content).unwrap();
        assert!(command.is_response());
        assert_eq!(command.ext_fields["queueId"], "3");
        assert_eq!(command.ext_fields["ok"], "true");
        assert!(!command.ext_fields.contains_key("n"));
    }

    #[test]
    fn truncated_and_hostile_frames_are_errors_not_panics() {
        let content =
            frame_content(&Command::request(code::GET_CONSUME_STATS).field("consumerGroup", "g"));
        for end in 0..content.len() {
            // A prefix either lacks the header or cuts it: never a command, never a panic.
            let Ok(command) = Command::decode(&content[..end]) else { continue };
            panic!("a prefix of {end} bytes decoded: {command:?}");
        }
        let mut binary = content.clone();
        binary[0] = 1;
        assert_eq!(Command::decode(&binary), Err(FrameError::SerializeType(1)));
        let mut long_header = content.clone();
        long_header[1..4].copy_from_slice(&[0xff, 0xff, 0xff]);
        assert!(matches!(Command::decode(&long_header), Err(FrameError::HeaderLength(_))));
        crate::testing::mutations(&content, 20_000, 4, |bytes| {
            let _ = Command::decode(bytes);
        });
    }

    #[test]
    fn the_acl_signature_covers_sorted_field_values_then_the_body() {
        let mut request = Command::request(code::GET_BROKER_CLUSTER_INFO)
            .field("b", "2")
            .field("a", "1")
            .with_body(b"xyz".to_vec());
        request.sign("RocketMQ", "12345678").unwrap();
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"12345678").unwrap();
        // Sorted by name: AccessKey, a, b; then the body.
        mac.update(b"RocketMQ12xyz");
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(request.ext_fields["Signature"], expected);
        assert_eq!(request.ext_fields["AccessKey"], "RocketMQ");
    }
}
