//! beanstalkd's text protocol over one TCP connection: server and tube statistics, the tube list,
//! peeks, puts and kicks — every answer line and body read with a cap, every tube name checked
//! before it goes into a command line.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::brokers::{AdapterError, read_announced};

/// Longest answer line accepted (`FOUND <id> <bytes>` and the like are short).
const MAX_LINE: usize = 256;
/// Largest body accepted: statistics are a few KB, jobs at most the server's `max-job-size`.
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Longest tube name beanstalkd takes.
const MAX_TUBE_NAME: usize = 200;

/// A job as a peek shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: u64,
    pub body: Vec<u8>,
}

/// Which job a peek looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Peek {
    Ready,
    Delayed,
    Buried,
}

impl Peek {
    pub const ALL: [Peek; 3] = [Peek::Ready, Peek::Delayed, Peek::Buried];

    pub fn as_str(self) -> &'static str {
        match self {
            Peek::Ready => "ready",
            Peek::Delayed => "delayed",
            Peek::Buried => "buried",
        }
    }

    fn command(self) -> &'static str {
        match self {
            Peek::Ready => "peek-ready",
            Peek::Delayed => "peek-delayed",
            Peek::Buried => "peek-buried",
        }
    }
}

/// `name` if beanstalkd takes it as a tube name: letters, digits and `-+/;.$_()`, not starting
/// with `-`, at most 200 bytes. Anything else (a space, a line break) would change the command.
pub fn check_tube_name(name: &str) -> Result<&str, AdapterError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-+/;.$_()".contains(c);
    if name.is_empty()
        || name.len() > MAX_TUBE_NAME
        || name.starts_with('-')
        || !name.chars().all(allowed)
    {
        return Err(AdapterError::Config(format!(
            "{:?} is not a beanstalkd tube name (letters, digits and -+/;.$_(), at most \
             {MAX_TUBE_NAME} bytes, not starting with -)",
            name.chars().take(64).collect::<String>()
        )));
    }
    Ok(name)
}

/// The `key: value` lines of a statistics answer (beanstalkd's YAML dictionary, one level).
pub fn parse_map(body: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "statistics are not UTF-8".to_owned())?;
    let mut map = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty() && l.trim() != "---") {
        let (key, value) =
            line.split_once(':').ok_or_else(|| format!("not a `key: value` line: {line:?}"))?;
        map.insert(key.trim().to_owned(), value.trim().trim_matches('"').to_owned());
    }
    Ok(map)
}

/// The `- item` lines of a list answer (`list-tubes`).
pub fn parse_list(body: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the list is not UTF-8".to_owned())?;
    text.lines()
        .filter(|l| !l.trim().is_empty() && l.trim() != "---")
        .map(|line| {
            line.strip_prefix("- ")
                .map(|item| item.trim().to_owned())
                .ok_or_else(|| format!("not a `- item` line: {line:?}"))
        })
        .collect()
}

/// One connection to one beanstalkd server. After a timeout or an answer cut short it refuses
/// every further command: unread bytes would make the next answer the previous one's.
pub struct Connection {
    stream: BufReader<TcpStream>,
    address: String,
    timeout: Duration,
    out_of_step: bool,
}

impl Connection {
    pub async fn open(address: &str, timeout: Duration) -> Result<Connection, AdapterError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(address))
            .await
            .map_err(|_| AdapterError::Timeout(timeout))?
            .map_err(|e| AdapterError::Unreachable(format!("{address}: {e}")))?;
        let address = address.to_owned();
        Ok(Connection { stream: BufReader::new(stream), address, timeout, out_of_step: false })
    }

    /// Server statistics (`stats`).
    pub async fn stats(&mut self) -> Result<BTreeMap<String, String>, AdapterError> {
        let body = self.ok_body("stats").await?;
        parse_map(&body).map_err(|e| self.garbage(&e))
    }

    /// Every tube (`list-tubes`).
    pub async fn tubes(&mut self) -> Result<Vec<String>, AdapterError> {
        let body = self.ok_body("list-tubes").await?;
        parse_list(&body).map_err(|e| self.garbage(&e))
    }

    /// A tube's statistics; `None` when the tube does not exist (any more).
    pub async fn tube_stats(
        &mut self,
        tube: &str,
    ) -> Result<Option<BTreeMap<String, String>>, AdapterError> {
        let line = format!("stats-tube {}", check_tube_name(tube)?);
        let (status, body) = self.call(&line, None).await?;
        match status.as_str() {
            "NOT_FOUND" => Ok(None),
            _ => {
                parse_map(&self.expect_body(&status, body)?).map(Some).map_err(|e| self.garbage(&e))
            }
        }
    }

    /// The statistics of every tube in `tubes`, in order (`None` for a tube gone meanwhile),
    /// asked in batches without waiting for each answer: one round trip per batch, not per
    /// tube, which is what a poll of a thousand tubes costs.
    pub async fn tubes_stats(
        &mut self,
        tubes: &[String],
    ) -> Result<Vec<Option<BTreeMap<String, String>>>, AdapterError> {
        const BATCH: usize = 100;
        let mut all = Vec::with_capacity(tubes.len());
        for batch in tubes.chunks(BATCH) {
            let mut request = Vec::new();
            for tube in batch {
                request.extend_from_slice(
                    format!("stats-tube {}\r\n", check_tube_name(tube)?).as_bytes(),
                );
            }
            let answers = self.guarded(async |this: &mut Self| {
                this.send(&request).await?;
                let mut answers = Vec::with_capacity(batch.len());
                for _ in batch {
                    answers.push(this.read_answer().await?);
                }
                Ok(answers)
            });
            for (status, body) in answers.await? {
                all.push(match status.as_str() {
                    "NOT_FOUND" => None,
                    _ => Some(
                        parse_map(&self.expect_body(&status, body)?)
                            .map_err(|e| self.garbage(&e))?,
                    ),
                });
            }
        }
        Ok(all)
    }

    /// Puts a job into `tube`; its id.
    pub async fn put(
        &mut self,
        tube: &str,
        priority: u32,
        delay: Duration,
        time_to_run: Duration,
        body: &[u8],
    ) -> Result<u64, AdapterError> {
        self.use_tube(tube).await?;
        let line =
            format!("put {priority} {} {} {}", delay.as_secs(), time_to_run.as_secs(), body.len());
        let (status, _) = self.call(&line, Some(body)).await?;
        match status.split_once(' ') {
            Some(("INSERTED", id)) => id.parse().map_err(|_| self.garbage(&status)),
            Some(("BURIED", _)) => Err(AdapterError::Protocol(format!(
                "{}: the server is out of memory and buried the job",
                self.address
            ))),
            _ => Err(self.refused(&line, &status)),
        }
    }

    /// The next job of `tube` in `which` state, without taking it.
    pub async fn peek(&mut self, tube: &str, which: Peek) -> Result<Option<Job>, AdapterError> {
        self.use_tube(tube).await?;
        let (status, body) = self.call(which.command(), None).await?;
        match status.split_whitespace().collect::<Vec<_>>()[..] {
            ["NOT_FOUND"] => Ok(None),
            ["FOUND", id, _] => Ok(Some(Job {
                id: id.parse().map_err(|_| self.garbage(&status))?,
                body: body.unwrap_or_default(),
            })),
            _ => Err(self.refused(which.command(), &status)),
        }
    }

    /// Moves up to `count` buried (or else delayed) jobs of `tube` to ready; how many moved.
    pub async fn kick(&mut self, tube: &str, count: u32) -> Result<u64, AdapterError> {
        self.use_tube(tube).await?;
        let line = format!("kick {count}");
        let (status, _) = self.call(&line, None).await?;
        match status.split_once(' ') {
            Some(("KICKED", n)) => n.parse().map_err(|_| self.garbage(&status)),
            _ => Err(self.refused(&line, &status)),
        }
    }

    /// A job's statistics (`stats-job`: tube, state, priority, age, reserves, buries, kicks);
    /// `None` when it is gone.
    pub async fn job_stats(
        &mut self,
        id: u64,
    ) -> Result<Option<BTreeMap<String, String>>, AdapterError> {
        let (status, body) = self.call(&format!("stats-job {id}"), None).await?;
        match status.as_str() {
            "NOT_FOUND" => Ok(None),
            _ => {
                parse_map(&self.expect_body(&status, body)?).map(Some).map_err(|e| self.garbage(&e))
            }
        }
    }

    /// Deletes a job; whether it was there to delete (a job reserved by another client is not).
    pub async fn delete(&mut self, id: u64) -> Result<bool, AdapterError> {
        let line = format!("delete {id}");
        let (status, _) = self.call(&line, None).await?;
        match status.as_str() {
            "DELETED" => Ok(true),
            "NOT_FOUND" => Ok(false),
            _ => Err(self.refused(&line, &status)),
        }
    }

    async fn use_tube(&mut self, tube: &str) -> Result<(), AdapterError> {
        let line = format!("use {}", check_tube_name(tube)?);
        let (status, _) = self.call(&line, None).await?;
        match status.strip_prefix("USING ") {
            Some(using) if using == tube => Ok(()),
            _ => Err(self.refused(&line, &status)),
        }
    }

    async fn ok_body(&mut self, line: &str) -> Result<Vec<u8>, AdapterError> {
        let (status, body) = self.call(line, None).await?;
        self.expect_body(&status, body).map_err(|_| self.refused(line, &status))
    }

    fn expect_body(&self, status: &str, body: Option<Vec<u8>>) -> Result<Vec<u8>, AdapterError> {
        match body {
            Some(body) if status.starts_with("OK ") => Ok(body),
            _ => Err(self.garbage(status)),
        }
    }

    /// Sends `line` (and `data`), returns the answer's status line and, for `OK <n>` and
    /// `FOUND <id> <n>`, its body — within the timeout.
    async fn call(
        &mut self,
        line: &str,
        data: Option<&[u8]>,
    ) -> Result<(String, Option<Vec<u8>>), AdapterError> {
        self.guarded(async |this: &mut Self| this.exchange(line, data).await).await
    }

    /// Runs `exchange` within the timeout; after a failure the connection refuses every further
    /// command (answers may be left unread).
    async fn guarded<T>(
        &mut self,
        exchange: impl AsyncFnOnce(&mut Self) -> Result<T, AdapterError>,
    ) -> Result<T, AdapterError> {
        if self.out_of_step {
            return Err(AdapterError::Unreachable(format!(
                "{}: the connection lost step with the server; open a new one",
                self.address
            )));
        }
        let timeout = self.timeout;
        let answer = tokio::time::timeout(timeout, exchange(self))
            .await
            .map_err(|_| AdapterError::Timeout(timeout))
            .and_then(|answer| answer);
        self.out_of_step = answer.is_err();
        answer
    }

    async fn exchange(
        &mut self,
        line: &str,
        data: Option<&[u8]>,
    ) -> Result<(String, Option<Vec<u8>>), AdapterError> {
        let mut request = Vec::with_capacity(line.len() + 2 + data.map_or(0, |d| d.len() + 2));
        request.extend_from_slice(line.as_bytes());
        request.extend_from_slice(b"\r\n");
        if let Some(data) = data {
            request.extend_from_slice(data);
            request.extend_from_slice(b"\r\n");
        }
        self.send(&request).await?;
        self.read_answer().await
    }

    async fn send(&mut self, request: &[u8]) -> Result<(), AdapterError> {
        let address = &self.address;
        let io = |e: std::io::Error| AdapterError::Unreachable(format!("{address}: {e}"));
        self.stream.get_mut().write_all(request).await.map_err(io)
    }

    /// One answer: its status line and, for `OK <n>` and `FOUND <id> <n>`, its body.
    async fn read_answer(&mut self) -> Result<(String, Option<Vec<u8>>), AdapterError> {
        let address = self.address.clone();
        let io = |e: std::io::Error| AdapterError::Unreachable(format!("{address}: {e}"));
        let mut status = Vec::new();
        let read = (&mut self.stream)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut status)
            .await
            .map_err(io)?;
        if read == 0 {
            return Err(AdapterError::Unreachable(format!("{address}: connection closed")));
        }
        let status = String::from_utf8_lossy(&status);
        let Some(status) = status.strip_suffix("\r\n") else {
            return Err(self.garbage("an answer line without its end"));
        };
        let status = status.to_owned();
        let announced = match status.split_whitespace().collect::<Vec<_>>()[..] {
            ["OK", bytes] | ["FOUND", _, bytes] => Some(bytes),
            _ => None,
        };
        let Some(announced) = announced else { return Ok((status, None)) };
        let length = announced
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= MAX_BODY)
            .ok_or_else(|| self.garbage(&format!("an answer of {announced} bytes")))?;
        let mut body = read_announced(&mut self.stream, length + 2).await.map_err(io)?;
        if !body.ends_with(b"\r\n") {
            return Err(self.garbage("a body without its line end"));
        }
        body.truncate(length);
        Ok((status, Some(body)))
    }

    fn garbage(&self, what: &str) -> AdapterError {
        let what: String = what.chars().take(120).collect();
        AdapterError::Protocol(format!("{} answered garbage: {what}", self.address))
    }

    fn refused(&self, line: &str, status: &str) -> AdapterError {
        let command = line.split(' ').next().unwrap_or(line);
        let status: String = status.chars().take(120).collect();
        AdapterError::Protocol(format!("{}: {command} answered {status}", self.address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `stats-tube` as beanstalkd 1.12 (Debian 12) answered it, body only.
    const TUBE_STATS: &[u8] = b"---\nname: jobs\ncurrent-jobs-urgent: 1\ncurrent-jobs-ready: 1\n\
        current-jobs-reserved: 0\ncurrent-jobs-delayed: 0\ncurrent-jobs-buried: 0\ntotal-jobs: 1\n\
        current-using: 1\ncurrent-watching: 0\ncurrent-waiting: 0\ncmd-delete: 0\n\
        cmd-pause-tube: 0\npause: 0\npause-time-left: 0\n";

    #[test]
    fn statistics_read_as_a_map() {
        let map = parse_map(TUBE_STATS).unwrap();
        assert_eq!(map["name"], "jobs");
        assert_eq!(map["current-jobs-ready"], "1");
        assert_eq!(map.len(), 14);
        let server =
            parse_map(b"---\nversion: \"1.12\"\ndraining: false\nos: #1 SMP x: y\n").unwrap();
        assert_eq!((server["version"].as_str(), server["os"].as_str()), ("1.12", "#1 SMP x: y"));
        assert!(parse_map(b"---\nno colon here\n").is_err());
        assert!(parse_map(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn tube_lists_read_as_names() {
        assert_eq!(parse_list(b"---\n- default\n- jobs\n").unwrap(), ["default", "jobs"]);
        assert!(parse_list(b"---\njobs\n").is_err());
    }

    #[test]
    fn tube_names_cannot_change_the_command() {
        for good in ["jobs", "a-b+c/d;e.f$g_h(i)", &"x".repeat(200)] {
            assert!(check_tube_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-jobs", "jobs\r\nkick 1000", "two words", "tube\u{e9}", &"x".repeat(201)] {
            assert!(check_tube_name(bad).is_err(), "{bad:?}");
        }
    }
}
