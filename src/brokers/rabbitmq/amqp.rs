//! AMQP 0-9-1, as much as the canary speaks: a connection with a PLAIN login, one channel in
//! confirm mode, publishes to the default exchange and a consumer that needs no acks. Frames are
//! read by [`decode_frame`] and put together into [`Event`]s by [`Assembler`], both pure.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use crate::brokers::tls::{self, Stream};

const PROTOCOL_HEADER: &[u8; 8] = b"AMQP\x00\x00\x09\x01";
const FRAME_METHOD: u8 = 1;
const FRAME_HEADER: u8 = 2;
const FRAME_BODY: u8 = 3;
const FRAME_HEARTBEAT: u8 = 8;
const FRAME_END: u8 = 0xCE;
/// The largest frame Osprey offers and accepts; RabbitMQ's default is this size too.
pub const FRAME_MAX: u32 = 131_072;
/// Bytes of a delivered body kept: a marker is far shorter, the rest of a stranger's is skipped.
const BODY_KEPT: usize = 4096;
/// The only channel opened.
const CHANNEL: u16 = 1;

const CONNECTION: u16 = 10;
const CHANNEL_CLASS: u16 = 20;
const BASIC: u16 = 60;
const CONFIRM: u16 = 85;

/// One frame off the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Method { channel: u16, class: u16, method: u16, arguments: Vec<u8> },
    Header { channel: u16, body_size: u64 },
    Body { channel: u16, bytes: Vec<u8> },
    Heartbeat,
}

/// Reads one frame from the front of `buffer`: `Ok(None)` while it is incomplete, else the frame
/// and how many bytes it took. A frame larger than `frame_max` is an error, not an allocation.
pub fn decode_frame(buffer: &[u8], frame_max: u32) -> Result<Option<(Frame, usize)>, String> {
    let [kind, c0, c1, s0, s1, s2, s3, rest @ ..] = buffer else { return Ok(None) };
    if buffer.starts_with(b"AMQP") {
        return Err(
            "the server speaks another AMQP version (it answered with its own header)".into()
        );
    }
    let size = u32::from_be_bytes([*s0, *s1, *s2, *s3]);
    if size > frame_max {
        return Err(format!("a frame of {size} bytes, more than the {frame_max} agreed"));
    }
    let size = size as usize;
    let Some((payload, [end, ..])) = rest.split_at_checked(size) else { return Ok(None) };
    if *end != FRAME_END {
        return Err(format!("a frame does not end with 0xCE (found {end:#04x})"));
    }
    let channel = u16::from_be_bytes([*c0, *c1]);
    let mut reader = Reader(payload);
    let frame = match *kind {
        FRAME_METHOD => Frame::Method {
            channel,
            class: reader.u16()?,
            method: reader.u16()?,
            arguments: reader.0.to_vec(),
        },
        FRAME_HEADER => {
            let _class = reader.u16()?;
            let _weight = reader.u16()?;
            Frame::Header { channel, body_size: reader.u64()? }
        }
        FRAME_BODY => Frame::Body { channel, bytes: payload.to_vec() },
        FRAME_HEARTBEAT => Frame::Heartbeat,
        other => return Err(format!("a frame of unknown type {other}")),
    };
    Ok(Some((frame, 7 + size + 1)))
}

/// What the broker said, put together from its frames.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Publisher confirms: the publishes up to `tag` (or only it) were taken, or refused.
    Confirmed { tag: u64, multiple: bool, taken: bool },
    /// A publish came back unroutable (`mandatory`), with the broker's reason.
    Returned { reason: String },
    /// A message for the consumer: its body (the first [`BODY_KEPT`] bytes).
    Delivered { body: Vec<u8> },
    /// The broker closed the channel or the connection, or cancelled the consumer.
    Closed { reason: String },
}

/// A message whose body is still arriving.
#[derive(Debug)]
struct Content {
    returned: Option<String>,
    size: Option<u64>,
    seen: u64,
    kept: Vec<u8>,
}

/// Puts frames together into events: a delivery or a return is a method, a header and bodies.
#[derive(Debug, Default)]
pub struct Assembler {
    content: Option<Content>,
}

impl Assembler {
    /// The event `frame` completes, if any.
    pub fn take(&mut self, frame: Frame) -> Result<Option<Event>, String> {
        match frame {
            Frame::Heartbeat => Ok(None),
            Frame::Method { class, method, arguments, .. } => {
                if self.content.is_some() {
                    return Err("a method arrived in the middle of a message".into());
                }
                self.method(class, method, &arguments)
            }
            Frame::Header { body_size, .. } => {
                let Some(content) = self.content.as_mut().filter(|c| c.size.is_none()) else {
                    return Err("a content header without its method".into());
                };
                content.size = Some(body_size);
                Ok(self.finished())
            }
            Frame::Body { bytes, .. } => {
                let Some(content) = self.content.as_mut().filter(|c| c.size.is_some()) else {
                    return Err("a content body without its header".into());
                };
                content.seen += bytes.len() as u64;
                let room = BODY_KEPT.saturating_sub(content.kept.len());
                content.kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
                if content.size.is_some_and(|size| content.seen > size) {
                    return Err("a message body longer than its header said".into());
                }
                Ok(self.finished())
            }
        }
    }

    fn method(
        &mut self,
        class: u16,
        method: u16,
        arguments: &[u8],
    ) -> Result<Option<Event>, String> {
        let mut reader = Reader(arguments);
        let event = match (class, method) {
            (BASIC, 80) | (BASIC, 120) => {
                let tag = reader.u64()?;
                let multiple = reader.u8()? & 1 == 1;
                Event::Confirmed { tag, multiple, taken: method == 80 }
            }
            (BASIC, 50) => {
                let code = reader.u16()?;
                let text = reader.short_string()?;
                self.content = Some(content(Some(format!("{code} {text}"))));
                return Ok(None);
            }
            (BASIC, 60) => {
                self.content = Some(content(None));
                return Ok(None);
            }
            (BASIC, 30) => Event::Closed {
                reason: "the broker cancelled the consumer (was the queue deleted?)".into(),
            },
            (CONNECTION, 50) | (CHANNEL_CLASS, 40) => {
                let code = reader.u16()?;
                let text = reader.short_string()?;
                let what = if class == CONNECTION { "connection" } else { "channel" };
                Event::Closed { reason: format!("the broker closed the {what}: {code} {text}") }
            }
            // Connection.Blocked/Unblocked, Basic.ConsumeOk and the like: nothing to act on.
            _ => return Ok(None),
        };
        Ok(Some(event))
    }

    fn finished(&mut self) -> Option<Event> {
        let content = self.content.as_ref()?;
        if content.size != Some(content.seen) {
            return None;
        }
        let content = self.content.take()?;
        Some(match content.returned {
            Some(reason) => Event::Returned { reason },
            None => Event::Delivered { body: content.kept },
        })
    }
}

fn content(returned: Option<String>) -> Content {
    Content { returned, size: None, seen: 0, kept: Vec::new() }
}

/// Method arguments, read front to back.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8], String> {
        let Some((head, rest)) = self.0.split_at_checked(n) else {
            return Err("a frame shorter than its fields".into());
        };
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, String> {
        let b = self.bytes(8)?;
        Ok(u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    fn short_string(&mut self) -> Result<String, String> {
        let n = usize::from(self.u8()?);
        Ok(String::from_utf8_lossy(self.bytes(n)?).into_owned())
    }

    /// A long string or a field table: both are a 32-bit length and bytes.
    fn long_bytes(&mut self) -> Result<&[u8], String> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }
}

/// Method arguments, written front to back.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u8(mut self, value: u8) -> Self {
        self.0.push(value);
        self
    }

    fn u16(mut self, value: u16) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    fn u32(mut self, value: u32) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    fn u64(mut self, value: u64) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// A short string; the callers' are checked to fit in 255 bytes.
    fn short(mut self, value: &str) -> Self {
        let bytes = &value.as_bytes()[..value.len().min(255)];
        self.0.push(bytes.len() as u8);
        self.0.extend_from_slice(bytes);
        self
    }

    fn long(self, value: &[u8]) -> Self {
        let mut this = self.u32(value.len() as u32);
        this.0.extend_from_slice(value);
        this
    }

    /// A field table entry holding a long string.
    fn text_field(self, key: &str, value: &str) -> Self {
        self.short(key).u8(b'S').long(value.as_bytes())
    }
}

fn frame(kind: u8, channel: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.push(kind);
    out.extend_from_slice(&channel.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out.push(FRAME_END);
    out
}

fn method_frame(channel: u16, class: u16, method: u16, arguments: Writer) -> Vec<u8> {
    let payload = Writer::default().u16(class).u16(method);
    frame(FRAME_METHOD, channel, &[payload.0, arguments.0].concat())
}

/// A publish to the default exchange (`mandatory`: an unroutable one comes back), its content
/// header (no properties) and its body, split to fit `frame_max`.
pub fn publish_frames(routing_key: &str, body: &[u8], frame_max: u32) -> Vec<u8> {
    let arguments = Writer::default().u16(0).short("").short(routing_key).u8(1);
    let mut out = method_frame(CHANNEL, BASIC, 40, arguments);
    // class, weight, body size, property flags (none)
    let header = Writer::default().u16(BASIC).u16(0).u64(body.len() as u64).u16(0);
    out.extend(frame(FRAME_HEADER, CHANNEL, &header.0));
    let chunk = (frame_max as usize).saturating_sub(8).max(1);
    for piece in body.chunks(chunk) {
        out.extend(frame(FRAME_BODY, CHANNEL, piece));
    }
    out
}

/// Where and as whom the canary connects.
#[derive(Clone)]
pub struct AmqpLogin {
    /// `host:port`.
    pub addr: String,
    pub tls: Option<TlsConnector>,
    pub username: String,
    pub password: String,
    pub vhost: String,
}

impl std::fmt::Debug for AmqpLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpLogin")
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .field("username", &self.username)
            .field("vhost", &self.vhost)
            .finish_non_exhaustive()
    }
}

/// One open connection with its channel in confirm mode.
pub struct AmqpSession {
    stream: Box<dyn Stream>,
    buffer: Vec<u8>,
    assembler: Assembler,
    frame_max: u32,
    published: u64,
}

impl AmqpSession {
    /// Connects, logs in, opens the vhost and a channel, and puts it in confirm mode; each step
    /// within `timeout`.
    pub async fn open(login: &AmqpLogin, timeout: Duration) -> Result<AmqpSession, String> {
        let stream = tls::connect(&login.addr, timeout, login.tls.as_ref()).await?;
        let mut session = AmqpSession {
            stream,
            buffer: Vec::new(),
            assembler: Assembler::default(),
            frame_max: FRAME_MAX,
            published: 0,
        };
        tokio::time::timeout(timeout, session.handshake(login))
            .await
            .map_err(|_| format!("AMQP login at {}: no answer within {timeout:?}", login.addr))??;
        Ok(session)
    }

    async fn handshake(&mut self, login: &AmqpLogin) -> Result<(), String> {
        self.write(PROTOCOL_HEADER).await?;
        let start = self.expect(CONNECTION, 10).await?;
        let mut reader = Reader(&start);
        let (_major, _minor) = (reader.u8()?, reader.u8()?);
        let _server_properties = reader.long_bytes()?;
        let mechanisms = String::from_utf8_lossy(reader.long_bytes()?).into_owned();
        if !mechanisms.split(' ').any(|m| m == "PLAIN") {
            return Err(format!("the broker offers no PLAIN login (it offers {mechanisms})"));
        }
        // authentication_failure_close: a refused login is a Connection.Close with the reason,
        // not a dropped socket.
        let capabilities = Writer::default().short("authentication_failure_close").u8(b't').u8(1);
        let properties = Writer::default()
            .text_field("product", "osprey")
            .text_field("connection_name", "osprey canary")
            .short("capabilities")
            .u8(b'F')
            .long(&capabilities.0);
        let response =
            [b"\0", login.username.as_bytes(), b"\0", login.password.as_bytes()].concat();
        let start_ok =
            Writer::default().long(&properties.0).short("PLAIN").long(&response).short("en_US");
        self.send(CONNECTION, 11, start_ok).await?;
        let tune = self.expect(CONNECTION, 30).await?;
        let mut reader = Reader(&tune);
        let (channel_max, frame_max) = (reader.u16()?, reader.u32()?);
        self.frame_max = match frame_max {
            0 => FRAME_MAX,
            offered => offered.min(FRAME_MAX),
        };
        // Heartbeats off: a session lives between canary rounds, read only during them.
        let channels = if channel_max == 0 { CHANNEL } else { channel_max.min(CHANNEL) };
        self.send(CONNECTION, 31, Writer::default().u16(channels).u32(self.frame_max).u16(0))
            .await?;
        self.send(CONNECTION, 40, Writer::default().short(&login.vhost).short("").u8(0)).await?;
        self.expect(CONNECTION, 41).await?;
        self.send(CHANNEL_CLASS, 10, Writer::default().short("")).await?;
        self.expect(CHANNEL_CLASS, 11).await?;
        self.send(CONFIRM, 10, Writer::default().u8(0)).await?;
        self.expect(CONFIRM, 11).await?;
        Ok(())
    }

    /// Consumes `queue` with automatic acknowledgement: what is delivered is gone.
    pub async fn consume(&mut self, queue: &str, timeout: Duration) -> Result<(), String> {
        // reserved, queue, consumer tag (the broker's), no-ack, arguments
        let arguments = Writer::default().u16(0).short(queue).short("").u8(0b10).u32(0);
        self.send(BASIC, 20, arguments).await?;
        tokio::time::timeout(timeout, self.expect(BASIC, 21))
            .await
            .map_err(|_| format!("AMQP consume: no answer within {timeout:?}"))??;
        Ok(())
    }

    /// Publishes `body` to `queue` through the default exchange; the confirm's tag.
    pub async fn publish(&mut self, queue: &str, body: &[u8]) -> Result<u64, String> {
        let frames = publish_frames(queue, body, self.frame_max);
        self.write(&frames).await?;
        self.published += 1;
        Ok(self.published)
    }

    /// The next event; heartbeats and acknowledgements of methods are read past.
    pub async fn next_event(&mut self) -> Result<Event, String> {
        loop {
            let frame = self.next_frame().await?;
            if let Some(event) = self.assembler.take(frame)? {
                return Ok(event);
            }
        }
    }

    async fn next_frame(&mut self) -> Result<Frame, String> {
        loop {
            if let Some((frame, used)) = decode_frame(&self.buffer, self.frame_max)? {
                self.buffer.drain(..used);
                return Ok(frame);
            }
            let mut chunk = [0u8; 16 * 1024];
            let read = self.stream.read(&mut chunk).await.map_err(|e| format!("AMQP read: {e}"))?;
            if read == 0 {
                return Err("the broker closed the AMQP connection".into());
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }

    /// Reads to the method `class.method` (during the handshake and setup nothing else comes
    /// first but a close, which is the error).
    async fn expect(&mut self, class: u16, method: u16) -> Result<Vec<u8>, String> {
        loop {
            match self.next_frame().await? {
                Frame::Heartbeat => {}
                Frame::Method { class: c, method: m, arguments, .. }
                    if (c, m) == (class, method) =>
                {
                    return Ok(arguments);
                }
                frame => {
                    if let Some(Event::Closed { reason }) = self.assembler.take(frame)? {
                        return Err(reason);
                    }
                }
            }
        }
    }

    async fn send(&mut self, class: u16, method: u16, arguments: Writer) -> Result<(), String> {
        let channel = if class == CONNECTION { 0 } else { CHANNEL };
        let frame = method_frame(channel, class, method, arguments);
        self.write(&frame).await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream.write_all(bytes).await.map_err(|e| format!("AMQP write: {e}"))?;
        self.stream.flush().await.map_err(|e| format!("AMQP write: {e}"))
    }
}

#[cfg(test)]
mod tests;
