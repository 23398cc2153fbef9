//! Gearman's two protocols as Osprey speaks them: the administrative text protocol (`status`,
//! `workers`, `version`; every answer line and the number of lines capped) and, to submit a
//! background job, one binary request (`SUBMIT_JOB_BG`) and its `JOB_CREATED` answer.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::brokers::{AdapterError, read_announced};

/// Longest administrative answer line accepted (a worker line lists its functions).
const MAX_LINE: usize = 64 * 1024;
/// Most lines one administrative answer may have (functions, connections).
const MAX_LINES: usize = 100_000;
/// Largest binary answer accepted (a job handle or an error text).
const MAX_PACKET: usize = 64 * 1024;
/// Largest job payload Osprey submits.
pub const MAX_PAYLOAD: usize = 16 * 1024 * 1024;
/// Longest function name accepted.
const MAX_FUNCTION_NAME: usize = 512;

/// One function as `status` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionStatus {
    pub name: String,
    /// Jobs queued, the running ones included.
    pub total: u64,
    pub running: u64,
    /// Workers that registered the function.
    pub workers: u64,
}

/// One connection as `workers` lists it: a worker has functions, a client none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLine {
    pub address: String,
    pub client_id: String,
    pub functions: Vec<String>,
}

/// How urgent a submitted job is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Low, Priority::Normal, Priority::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
        }
    }

    /// The background submit packet of this priority.
    fn packet(self) -> u32 {
        match self {
            Priority::Normal => 18, // SUBMIT_JOB_BG
            Priority::High => 32,   // SUBMIT_JOB_HIGH_BG
            Priority::Low => 34,    // SUBMIT_JOB_LOW_BG
        }
    }
}

const JOB_CREATED: u32 = 8;
const ERROR: u32 = 19;

/// `name` if it can travel as a function name in both protocols: no NUL (the binary field
/// separator), no white space or control characters (the text protocol's separators).
pub fn check_function_name(name: &str) -> Result<&str, AdapterError> {
    if name.is_empty()
        || name.len() > MAX_FUNCTION_NAME
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AdapterError::Config(format!(
            "{} is not a Gearman function name (1 to {MAX_FUNCTION_NAME} bytes, no spaces or \
             control characters)",
            crate::domain::clipped(name)
        )));
    }
    Ok(name)
}

/// The lines of a `status` answer (`function\ttotal\trunning\tworkers`).
pub fn parse_status(lines: &[String]) -> Result<Vec<FunctionStatus>, String> {
    lines
        .iter()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let number = |i: usize| fields.get(i).and_then(|f| f.trim().parse::<u64>().ok());
            match (fields.first(), number(1), number(2), number(3), fields.len()) {
                (Some(name), Some(total), Some(running), Some(workers), 4) => {
                    Ok(FunctionStatus { name: (*name).to_owned(), total, running, workers })
                }
                _ => Err(format!("not a status line: {:?}", clip(line))),
            }
        })
        .collect()
}

/// The lines of a `workers` answer (`fd address client-id : function …`).
pub fn parse_workers(lines: &[String]) -> Result<Vec<ConnectionLine>, String> {
    lines
        .iter()
        .map(|line| {
            let (who, functions) = line
                .split_once(" :")
                .ok_or_else(|| format!("not a worker line: {:?}", clip(line)))?;
            let mut who = who.split_whitespace().skip(1);
            Ok(ConnectionLine {
                address: who.next().unwrap_or_default().to_owned(),
                client_id: who.next().unwrap_or_default().to_owned(),
                functions: functions.split_whitespace().map(str::to_owned).collect(),
            })
        })
        .collect()
}

fn clip(text: &str) -> String {
    text.chars().take(120).collect()
}

/// One administrative connection to one server. After a timeout or an answer cut short it
/// refuses further commands: unread lines would become the next answer.
pub struct AdminConnection {
    stream: BufReader<TcpStream>,
    address: String,
    timeout: Duration,
    out_of_step: bool,
}

async fn connect(address: &str, timeout: Duration) -> Result<TcpStream, AdapterError> {
    tokio::time::timeout(timeout, TcpStream::connect(address))
        .await
        .map_err(|_| AdapterError::Timeout(timeout))?
        .map_err(|e| AdapterError::Unreachable(format!("{address}: {e}")))
}

impl AdminConnection {
    pub async fn open(address: &str, timeout: Duration) -> Result<AdminConnection, AdapterError> {
        let stream = BufReader::new(connect(address, timeout).await?);
        Ok(AdminConnection { stream, address: address.to_owned(), timeout, out_of_step: false })
    }

    /// Every function with its queued and running jobs and its workers.
    pub async fn status(&mut self) -> Result<Vec<FunctionStatus>, AdapterError> {
        let lines = self.listing("status").await?;
        parse_status(&lines).map_err(|e| self.garbage(&e))
    }

    /// Every connection: workers with their functions, clients.
    pub async fn workers(&mut self) -> Result<Vec<ConnectionLine>, AdapterError> {
        let lines = self.listing("workers").await?;
        parse_workers(&lines).map_err(|e| self.garbage(&e))
    }

    /// The server's version (`OK 1.1.20`).
    pub async fn version(&mut self) -> Result<String, AdapterError> {
        let line = self.exchange("version", false).await?.into_iter().next().unwrap_or_default();
        match line.strip_prefix("OK ") {
            Some(version) => Ok(version.trim().to_owned()),
            None => Err(self.garbage(&line)),
        }
    }

    async fn listing(&mut self, command: &str) -> Result<Vec<String>, AdapterError> {
        self.exchange(command, true).await
    }

    /// Sends `command`; reads one line, or with `listing` every line up to the lone `.`.
    async fn exchange(
        &mut self,
        command: &str,
        listing: bool,
    ) -> Result<Vec<String>, AdapterError> {
        if self.out_of_step {
            return Err(AdapterError::Unreachable(format!(
                "{}: the connection lost step with the server; open a new one",
                self.address
            )));
        }
        let timeout = self.timeout;
        let answer = tokio::time::timeout(timeout, self.read_answer(command, listing))
            .await
            .map_err(|_| AdapterError::Timeout(timeout))
            .and_then(|answer| answer);
        self.out_of_step = answer.is_err();
        answer
    }

    async fn read_answer(
        &mut self,
        command: &str,
        listing: bool,
    ) -> Result<Vec<String>, AdapterError> {
        let address = self.address.clone();
        let io = |e: std::io::Error| AdapterError::Unreachable(format!("{address}: {e}"));
        self.stream.get_mut().write_all(format!("{command}\n").as_bytes()).await.map_err(io)?;
        let mut lines = Vec::new();
        loop {
            let mut line = Vec::new();
            let read = (&mut self.stream)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut line)
                .await
                .map_err(io)?;
            if read == 0 {
                return Err(AdapterError::Unreachable(format!("{address}: connection closed")));
            }
            if line.last() != Some(&b'\n') {
                return Err(self.garbage("a line longer than the limit or without its end"));
            }
            let line = String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_owned();
            if line.starts_with("ERR ") {
                return Err(AdapterError::Protocol(format!(
                    "{}: {command} answered {}",
                    self.address,
                    clip(&line)
                )));
            }
            if !listing {
                return Ok(vec![line]);
            }
            if line == "." {
                return Ok(lines);
            }
            if lines.len() == MAX_LINES {
                return Err(self.garbage(&format!("more than {MAX_LINES} lines")));
            }
            lines.push(line);
        }
    }

    fn garbage(&self, what: &str) -> AdapterError {
        AdapterError::Protocol(format!("{} answered garbage: {}", self.address, clip(what)))
    }
}

/// Submits a background job for `function` on the server at `address`; its job handle.
pub async fn submit_background(
    address: &str,
    timeout: Duration,
    function: &str,
    payload: &[u8],
    priority: Priority,
) -> Result<String, AdapterError> {
    check_function_name(function)?;
    if payload.len() > MAX_PAYLOAD {
        return Err(AdapterError::Config(format!(
            "a payload of {} bytes is larger than {MAX_PAYLOAD} bytes",
            payload.len()
        )));
    }
    let exchange = async {
        let io = |e: std::io::Error| AdapterError::Unreachable(format!("{address}: {e}"));
        let mut stream = connect(address, timeout).await?;
        let unique = format!("osprey-{}", crate::clock::now_millis());
        let mut data = Vec::with_capacity(function.len() + unique.len() + payload.len() + 2);
        data.extend_from_slice(function.as_bytes());
        data.push(0);
        data.extend_from_slice(unique.as_bytes());
        data.push(0);
        data.extend_from_slice(payload);
        let size = u32::try_from(data.len())
            .map_err(|_| AdapterError::Config("the job is too large".into()))?;
        let mut request = Vec::with_capacity(12 + data.len());
        request.extend_from_slice(b"\0REQ");
        request.extend_from_slice(&priority.packet().to_be_bytes());
        request.extend_from_slice(&size.to_be_bytes());
        request.extend_from_slice(&data);
        stream.write_all(&request).await.map_err(io)?;
        let mut header = [0u8; 12];
        stream.read_exact(&mut header).await.map_err(io)?;
        let garbage = |what: String| AdapterError::Protocol(format!("{address} answered {what}"));
        let (magic, kind, size) = decode_header(&header);
        if magic != *b"\0RES" {
            return Err(garbage(format!(
                "{:?} where a response packet starts",
                clip(&String::from_utf8_lossy(&header))
            )));
        }
        let size = usize::try_from(size)
            .ok()
            .filter(|n| *n <= MAX_PACKET)
            .ok_or_else(|| garbage(format!("a packet of {size} bytes")))?;
        let body = read_announced(&mut stream, size).await.map_err(io)?;
        match kind {
            JOB_CREATED => Ok(String::from_utf8_lossy(&body).into_owned()),
            ERROR => {
                let text = String::from_utf8_lossy(&body).replace('\0', ": ");
                Err(AdapterError::Protocol(format!("{address} refused the job: {}", clip(&text))))
            }
            other => Err(garbage(format!("packet type {other} instead of JOB_CREATED"))),
        }
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| AdapterError::Timeout(timeout))?
}

fn decode_header(header: &[u8; 12]) -> ([u8; 4], u32, u32) {
    let word =
        |i: usize| u32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    ([header[0], header[1], header[2], header[3]], word(4), word(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn status_lines_read_as_functions() {
        // As gearmand 1.1.20 (Debian 12) answered, the final "." taken off.
        let status = parse_status(&lines("other\t0\t0\t1\nresize\t2\t1\t0")).unwrap();
        assert_eq!(
            status[1],
            FunctionStatus { name: "resize".into(), total: 2, running: 1, workers: 0 }
        );
        assert!(parse_status(&lines("resize\t2\t1")).is_err());
        assert!(parse_status(&lines("resize\tx\t1\t0")).is_err());
    }

    #[test]
    fn worker_lines_read_as_connections_with_their_functions() {
        let workers =
            parse_workers(&lines("21 127.0.0.1 - :\n20 127.0.0.1 w-1 : other resize")).unwrap();
        assert!(workers[0].functions.is_empty());
        assert_eq!(workers[1].client_id, "w-1");
        assert_eq!(workers[1].functions, ["other", "resize"]);
        assert!(parse_workers(&lines("no colon")).is_err());
    }

    #[test]
    fn function_names_cannot_break_either_protocol() {
        assert!(check_function_name("image.resize-v2").is_ok());
        for bad in ["", "two words", "tab\there", "nul\0", "line\nbreak", &"x".repeat(513)] {
            assert!(check_function_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn response_headers_decode_big_endian() {
        let header = *b"\0RES\0\0\0\x08\0\0\0\x0a";
        assert_eq!(decode_header(&header), (*b"\0RES", JOB_CREATED, 10));
    }
}
