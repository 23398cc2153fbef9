//! Sending without a thread that polls forever: a `BaseProducer` polled on the blocking pool only while a send waits for its delivery report.
//!
//! rdkafka's `FutureProducer` keeps a thread polling its producer every 100 ms for the life of
//! the producer, and rdkafka 0.39 hands librdkafka the time left in whole milliseconds, so the
//! last millisecond of every wait spins: 0.7 % of a core per idle producer, 82 % of an
//! instance's CPU across 30 clusters (BENCHMARKS.md).

use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, ProducerContext};
use rdkafka::{ClientConfig, ClientContext, Message};

/// How the producer compresses a send's batches (librdkafka's `compression.codec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    pub fn parse(text: &str) -> Option<Compression> {
        Compression::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Where a message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

type Report = mpsc::Sender<Result<Delivered, KafkaError>>;

/// Where a queued message's delivery report arrives.
pub type Reported = mpsc::Receiver<Result<Delivered, KafkaError>>;

/// Hands each delivery report to the send waiting for it.
struct Reports;

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    type DeliveryOpaque = Box<Report>;

    fn delivery(&self, result: &DeliveryResult<'_>, report: Self::DeliveryOpaque) {
        let outcome = match result {
            Ok(message) => {
                Ok(Delivered { partition: message.partition(), offset: message.offset() })
            }
            Err((error, _)) => Err(error.clone()),
        };
        // The send may have given up waiting: nobody to tell then.
        let _ = report.send(outcome);
    }
}

/// One message to send, owned so it can move to the blocking pool.
pub struct Outgoing {
    pub topic: String,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub partition: Option<i32>,
    pub headers: OwnedHeaders,
}

/// A producer that costs nothing while nobody sends.
#[derive(Clone)]
pub struct PolledProducer(Arc<BaseProducer<Reports>>);

/// How long one poll waits for events while a send waits for its report.
const POLL: Duration = Duration::from_millis(50);

impl PolledProducer {
    pub fn new(config: &ClientConfig) -> KafkaResult<PolledProducer> {
        config.create_with_context(Reports).map(|producer| PolledProducer(Arc::new(producer)))
    }

    /// Sends `message` and waits for its delivery report, at most `wait` (set it past the
    /// producer's `message.timeout.ms`, after which librdkafka reports a failure itself).
    pub async fn send(&self, message: Outgoing, wait: Duration) -> Result<Delivered, KafkaError> {
        let producer = self.clone();
        tokio::task::spawn_blocking(move || producer.send_and_poll(message, wait))
            .await
            .unwrap_or(Err(KafkaError::Canceled))
    }

    /// Queues `message` without waiting (call from the blocking pool): its delivery report
    /// arrives on the receiver once [`poll`](Self::poll) has handed it over.
    pub fn enqueue(&self, message: Outgoing) -> Result<Reported, KafkaError> {
        let (report, reported) = mpsc::channel();
        let mut record = BaseRecord::<Vec<u8>, Vec<u8>, Box<Report>>::with_opaque_to(
            &message.topic,
            Box::new(report),
        )
        .headers(message.headers);
        if let Some(key) = &message.key {
            record = record.key(key);
        }
        if let Some(payload) = &message.payload {
            record = record.payload(payload);
        }
        if let Some(partition) = message.partition {
            record = record.partition(partition);
        }
        self.0.send(record).map_err(|(error, _)| error)?;
        Ok(reported)
    }

    /// Serves delivery reports, waiting at most `wait` for one (blocking).
    pub fn poll(&self, wait: Duration) {
        self.0.poll(wait);
    }

    fn send_and_poll(&self, message: Outgoing, wait: Duration) -> Result<Delivered, KafkaError> {
        let reported = self.enqueue(message)?;
        let deadline = Instant::now() + wait;
        loop {
            self.poll(POLL);
            match reported.try_recv() {
                Ok(outcome) => return outcome,
                Err(mpsc::TryRecvError::Disconnected) => return Err(KafkaError::Canceled),
                Err(mpsc::TryRecvError::Empty) => {}
            }
            if Instant::now() >= deadline {
                return Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut));
            }
        }
    }
}
