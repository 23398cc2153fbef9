//! Entry points of the fuzz targets in `fuzz/`: each feeds bytes a peer could send to the
//! decoder that reads them, the way the adapters call it. Every error is a value; a panic, an
//! abort or a runaway allocation here is a bug.

use kafka_protocol::messages::{
    ApiVersionsRequest, DescribeLogDirsRequest, DescribeQuorumRequest, FindCoordinatorRequest,
    ListOffsetsRequest, OffsetFetchRequest,
};
use kafka_protocol::protocol::Request;

use crate::brokers::kafka::{assignment, wire};
use crate::brokers::rabbitmq::amqp;
use crate::brokers::rocketmq::{lenient, message, remoting, trace};
use crate::brokers::scrape::{jmx, prometheus};
use crate::brokers::{beanstalkd, gearman};

/// A RocketMQ remoting frame (after its length prefix): the command, then its body read as
/// every body the adapter asks for, as stored messages, and as trace data.
pub fn rocketmq_frame(frame: &[u8]) {
    let Ok(command) = remoting::Command::decode(frame) else { return };
    rocketmq_body(&command.body);
}

/// A RocketMQ answer body, read every way the adapter reads one.
pub fn rocketmq_body(body: &[u8]) {
    crate::brokers::rocketmq::bodies::read_as_every_body(body);
    let _ = lenient::parse(body);
    if let Ok(messages) = message::decode_all(body) {
        for stored in &messages {
            if let Ok(content) = stored.content() {
                let _ = trace::decode_trace(&String::from_utf8_lossy(&content));
            }
        }
    }
}

/// A Kafka response as the wire client reads it: two bytes naming the API (its key), two its
/// version, then the frame after the length prefix (header and body). Only the APIs the wire
/// client sends are decoded.
pub fn kafka_response(input: &[u8]) {
    let [k0, k1, v0, v1, frame @ ..] = input else { return };
    let (key, version) = (i16::from_be_bytes([*k0, *k1]), i16::from_be_bytes([*v0, *v1]));
    let frame = frame.to_vec();
    // The correlation id is whatever the frame says: a mismatch is a tested error path, not
    // the interesting one.
    let correlation = frame.get(..4).map_or(0, |c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    match key {
        ApiVersionsRequest::KEY => drop(decode::<ApiVersionsRequest>(frame, version, correlation)),
        FindCoordinatorRequest::KEY => {
            drop(decode::<FindCoordinatorRequest>(frame, version, correlation));
        }
        OffsetFetchRequest::KEY => drop(decode::<OffsetFetchRequest>(frame, version, correlation)),
        ListOffsetsRequest::KEY => drop(decode::<ListOffsetsRequest>(frame, version, correlation)),
        DescribeLogDirsRequest::KEY => {
            drop(decode::<DescribeLogDirsRequest>(frame, version, correlation));
        }
        DescribeQuorumRequest::KEY => {
            if let Some(answer) = decode::<DescribeQuorumRequest>(frame, version, correlation) {
                let _ = wire::quorum_of(&answer);
            }
        }
        _ => {}
    }
}

/// Decodes a response of `R` at `version` when the crate knows that version (the wire client
/// never asks for another).
fn decode<R: Request>(frame: Vec<u8>, version: i16, correlation: i32) -> Option<R::Response> {
    if !(R::VERSIONS.min..=R::VERSIONS.max).contains(&version) {
        return None;
    }
    wire::decode_response::<R>(frame, version, correlation).ok()
}

/// A consumer group member's assignment (the consumer protocol's bytes).
pub fn member_assignment(bytes: &[u8]) {
    let _ = assignment::decode(bytes);
}

/// A Prometheus text exposition, as the scraper reads one.
pub fn prometheus_text(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    if let Ok(samples) = prometheus::parse(text, prometheus::Limits::default()) {
        let _ = jmx::from_prometheus(&samples);
    }
}

/// A Jolokia bulk answer, as the scraper and the ActiveMQ adapter read one.
pub fn jolokia_json(bytes: &[u8]) {
    crate::brokers::activemq::read_every_way(bytes);
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(bytes) else { return };
    let _ = jmx::from_jolokia(&answer);
}

/// An answer of a job server: the first byte says whose and which (`b` a beanstalkd
/// dictionary, `l` a beanstalkd list, `s` Gearman's `status`, `w` Gearman's `workers`), the rest
/// is the answer as the adapter reads it (Gearman's lines without the final `.`).
pub fn job_server_text(input: &[u8]) {
    let Some((&which, answer)) = input.split_first() else { return };
    let lines = || -> Vec<String> {
        answer.split(|&b| b == b'\n').map(|l| String::from_utf8_lossy(l).into_owned()).collect()
    };
    match which {
        b'b' => drop(beanstalkd::parse_map(answer)),
        b'l' => drop(beanstalkd::parse_list(answer)),
        b's' => drop(gearman::parse_status(&lines())),
        b'w' => drop(gearman::parse_workers(&lines())),
        _ => {}
    }
}

/// What a RabbitMQ AMQP listener sends the canary: frames, read one after another as the
/// session reads them and put together into events, until the bytes run out or one is refused.
pub fn amqp_frames(mut input: &[u8]) {
    let mut assembler = amqp::Assembler::default();
    while let Ok(Some((frame, used))) = amqp::decode_frame(input, amqp::FRAME_MAX) {
        if assembler.take(frame).is_err() {
            return;
        }
        input = &input[used..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds checked into `fuzz/seeds` go through every entry point without a panic (the
    /// fuzzers start from them; this keeps them readable by the code as it changes).
    #[test]
    fn every_seed_is_read_without_a_panic() {
        let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
        type Target = (&'static str, fn(&[u8]));
        let targets: [Target; 8] = [
            ("rocketmq_frame", rocketmq_frame),
            ("rocketmq_body", rocketmq_body),
            ("kafka_response", kafka_response),
            ("member_assignment", member_assignment),
            ("prometheus_text", prometheus_text),
            ("jolokia_json", jolokia_json),
            ("job_server_text", job_server_text),
            ("amqp_frames", amqp_frames),
        ];
        for (target, read) in targets {
            let dir = seeds.join(target);
            let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
            let mut count = 0;
            for entry in entries {
                read(&std::fs::read(entry.unwrap().path()).unwrap());
                count += 1;
            }
            assert!(count > 0, "no seeds for {target}");
        }
    }
}
