//! Message traces as RocketMQ clients write them to the trace topic: records separated by
//! `\u{2}`, fields by `\u{1}` (the Java client's `TraceDataEncoder` layout), decoded leniently —
//! a record too short or with an unknown type is skipped, never a panic.

use serde::Serialize;

use crate::domain::Millis;

const RECORD: char = '\u{2}';
const FIELD: char = '\u{1}';

/// One step of a message's life as a client recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    /// A producer sent it.
    Pub,
    /// A consumer is about to hand it to the application.
    SubBefore,
    /// The application returned.
    SubAfter,
    /// A transactional message was committed or rolled back.
    EndTransaction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    pub kind: TraceKind,
    pub timestamp: Option<Millis>,
    /// Producer group (Pub, EndTransaction) or consumer group (SubBefore).
    pub group: Option<String>,
    /// Pairs a SubBefore with its SubAfter.
    pub request_id: Option<String>,
    pub msg_id: String,
    pub topic: Option<String>,
    pub tags: Option<String>,
    pub keys: Option<String>,
    pub store_host: Option<String>,
    pub client_host: Option<String>,
    pub cost_ms: Option<i64>,
    pub success: Option<bool>,
    pub retry_times: Option<i32>,
    pub offset_msg_id: Option<String>,
    /// Transaction state of an EndTransaction.
    pub transaction_state: Option<String>,
}

impl TraceEvent {
    fn new(kind: TraceKind, msg_id: &str) -> Self {
        TraceEvent {
            kind,
            timestamp: None,
            group: None,
            request_id: None,
            msg_id: msg_id.to_owned(),
            topic: None,
            tags: None,
            keys: None,
            store_host: None,
            client_host: None,
            cost_ms: None,
            success: None,
            retry_times: None,
            offset_msg_id: None,
            transaction_state: None,
        }
    }

    /// Orders a trace: by time, a consumption's end after its start.
    pub fn order_key(&self) -> (Millis, u8, String) {
        let step = match self.kind {
            TraceKind::Pub => 0,
            TraceKind::EndTransaction => 1,
            TraceKind::SubBefore => 2,
            TraceKind::SubAfter => 3,
        };
        (self.timestamp.unwrap_or(Millis::MAX), step, self.request_id.clone().unwrap_or_default())
    }
}

/// A field as text, `None` when absent, empty or the Java `null`.
fn text(fields: &[&str], at: usize) -> Option<String> {
    fields.get(at).map(|f| f.trim()).filter(|f| !f.is_empty() && *f != "null").map(str::to_owned)
}

fn number<T: std::str::FromStr>(fields: &[&str], at: usize) -> Option<T> {
    fields.get(at)?.trim().parse().ok()
}

/// Every record of a trace message's body.
pub fn decode_trace(data: &str) -> Vec<TraceEvent> {
    data.split(RECORD)
        .filter_map(|record| decode_record(&record.split(FIELD).collect::<Vec<_>>()))
        .collect()
}

fn decode_record(f: &[&str]) -> Option<TraceEvent> {
    let event = match *f.first()? {
        "Pub" if f.len() >= 13 => {
            let mut e = TraceEvent::new(TraceKind::Pub, f[5]);
            e.timestamp = number(f, 1);
            e.group = text(f, 3);
            e.topic = text(f, 4);
            e.tags = text(f, 6);
            e.keys = text(f, 7);
            e.store_host = text(f, 8);
            e.cost_ms = number(f, 10);
            // 13 fields: success last; 14 or more: the offset id, then success, then the
            // client host (newer clients).
            if f.len() == 13 {
                e.success = number(f, 12);
            } else {
                e.offset_msg_id = text(f, 12);
                e.success = number(f, 13);
                e.client_host = text(f, 14);
            }
            e
        }
        "SubBefore" if f.len() >= 8 => {
            let mut e = TraceEvent::new(TraceKind::SubBefore, f[5]);
            e.timestamp = number(f, 1);
            e.group = text(f, 3);
            e.request_id = text(f, 4);
            e.retry_times = number(f, 6);
            e.keys = text(f, 7);
            e.client_host = text(f, 8);
            e
        }
        "SubAfter" if f.len() >= 6 => {
            let mut e = TraceEvent::new(TraceKind::SubAfter, f[2]);
            e.request_id = text(f, 1);
            e.cost_ms = number(f, 3);
            e.success = number(f, 4);
            e.keys = text(f, 5);
            e.timestamp = number(f, 7);
            e.group = text(f, 8);
            e
        }
        "EndTransaction" if f.len() >= 13 => {
            let mut e = TraceEvent::new(TraceKind::EndTransaction, f[5]);
            e.timestamp = number(f, 1);
            e.group = text(f, 3);
            e.topic = text(f, 4);
            e.tags = text(f, 6);
            e.keys = text(f, 7);
            e.store_host = text(f, 8);
            e.transaction_state = text(f, 11);
            e
        }
        _ => return None,
    };
    (!event.msg_id.is_empty()).then_some(event)
}

/// A consumption as a trace shows it: the SubBefore of a request with its SubAfter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TracedConsumption {
    pub group: Option<String>,
    pub client_host: Option<String>,
    pub started_at: Option<Millis>,
    pub retry_times: Option<i32>,
    pub cost_ms: Option<i64>,
    /// `None` while the consumer has not reported the end.
    pub success: Option<bool>,
}

/// The consumptions of a trace, in the order they started.
pub fn consumptions(events: &[TraceEvent]) -> Vec<TracedConsumption> {
    events
        .iter()
        .filter(|e| e.kind == TraceKind::SubBefore)
        .map(|before| {
            let after = events.iter().find(|e| {
                e.kind == TraceKind::SubAfter
                    && e.request_id.is_some()
                    && e.request_id == before.request_id
            });
            TracedConsumption {
                group: before.group.clone(),
                client_host: before.client_host.clone(),
                started_at: before.timestamp,
                retry_times: before.retry_times,
                cost_ms: after.and_then(|a| a.cost_ms),
                success: after.and_then(|a| a.success),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[&str]) -> String {
        fields.join("\u{1}") + "\u{2}"
    }

    #[test]
    fn a_trace_message_decodes_into_its_publish_and_consumption() {
        let body = [
            record(&[
                "Pub",
                "1700000000000",
                "DefaultRegion",
                "pg",
                "orders",
                "ID1",
                "paid",
                "o-1",
                "127.0.0.1:10911",
                "5",
                "3",
                "0",
                "OFF1",
                "true",
            ]),
            record(&[
                "SubBefore",
                "1700000000100",
                "DefaultRegion",
                "billing",
                "REQ1",
                "ID1",
                "0",
                "o-1",
            ]),
            record(&[
                "SubAfter",
                "REQ1",
                "ID1",
                "7",
                "true",
                "o-1",
                "0",
                "1700000000107",
                "billing",
            ]),
        ]
        .concat();
        let events = decode_trace(&body);
        assert_eq!(events.len(), 3);
        let publish = &events[0];
        assert_eq!((publish.kind.clone(), publish.group.as_deref()), (TraceKind::Pub, Some("pg")));
        assert_eq!(publish.offset_msg_id.as_deref(), Some("OFF1"));
        assert_eq!((publish.success, publish.cost_ms), (Some(true), Some(3)));
        let consumed = consumptions(&events);
        assert_eq!(consumed.len(), 1);
        assert_eq!(consumed[0].group.as_deref(), Some("billing"));
        assert_eq!((consumed[0].cost_ms, consumed[0].success), (Some(7), Some(true)));
    }

    #[test]
    fn old_short_and_garbage_records_are_read_or_skipped() {
        let old =
            record(&["Pub", "1", "r", "pg", "t", "ID", "null", "", "h", "1", "2", "0", "false"]);
        let events = decode_trace(&old);
        assert_eq!((events[0].success, events[0].tags.clone()), (Some(false), None));
        for garbage in
            ["", "Pub", "Pub\u{1}x", "Nope\u{1}1\u{1}2", "\u{2}\u{2}", "SubAfter\u{1}\u{1}\u{1}"]
        {
            assert!(decode_trace(garbage).is_empty(), "{garbage:?}");
        }
        crate::testing::mutations(old.as_bytes(), 5_000, 3, |bytes| {
            let _ = decode_trace(&String::from_utf8_lossy(bytes));
        });
    }
}
