//! ActiveMQ at scale (issue 17): 1,000 queues holding a message each on ActiveMQ Classic and on
//! Artemis. Measures Osprey's poll of each broker (one Jolokia bulk request: the broker, every
//! destination by pattern, the JVM) and, in the same run, what a console does: one Jolokia read
//! per queue MBean, as hawtio's tree asks when it opens each (1,000 requests, 8 at a time), and
//! on Artemis the broker's own `listQueues` page of 1,000 (the Artemis console's queue list).
//!
//! Run through `scripts/bench.sh activemq` (it starts both brokers).

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use osprey::brokers::activemq::ActivemqAdapter;
use osprey::config::{ClusterConfig, Connection};
use osprey::secret::Secret;
use serde_json::{Value, json};

const QUEUES: usize = 1_000;
const RUNS: usize = 7;

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Times `run` RUNS times after one warm-up.
async fn timed<F: AsyncFnMut()>(mut run: F) -> String {
    run().await;
    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        run().await;
        samples.push(ms(started));
    }
    stats(samples)
}

/// A Jolokia endpoint with the test login and its own origin.
struct Console {
    http: reqwest::Client,
    url: String,
    origin: String,
    user: String,
    password: String,
}

impl Console {
    fn new(url: String) -> Console {
        let origin = url.split('/').take(3).collect::<Vec<_>>().join("/");
        Console {
            http: reqwest::Client::new(),
            url,
            origin,
            user: env("OSPREY_TEST_ACTIVEMQ_USER"),
            password: env("OSPREY_TEST_ACTIVEMQ_PASSWORD"),
        }
    }

    /// The answer; every request of it must have succeeded (a failed one is fast and would be
    /// timed as if it were the work).
    async fn post(&self, body: &Value) -> Value {
        let response = self
            .http
            .post(&self.url)
            .basic_auth(&self.user, Some(&self.password))
            .header("Origin", &self.origin)
            .json(body)
            .send()
            .await
            .unwrap();
        let answer: Value = response.json().await.unwrap();
        let answers = answer.as_array().cloned().unwrap_or_else(|| vec![answer.clone()]);
        for one in &answers {
            assert_eq!(one["status"], 200, "{one}");
        }
        answer
    }
}

/// Makes QUEUES queues with a message each through the broker's own operations, 100 a request.
async fn fill(console: &Console, broker: &str, artemis: bool) -> Vec<String> {
    let mut mbeans = Vec::new();
    for chunk in (0..QUEUES).collect::<Vec<_>>().chunks(100) {
        let mut requests = Vec::new();
        for i in chunk {
            let queue = format!("bench-{i:04}");
            let (create, mbean) = if artemis {
                let mbean = format!(
                    "org.apache.activemq.artemis:broker=\"{broker}\",component=addresses,address=\"{queue}\",subcomponent=queues,routing-type=\"anycast\",queue=\"{queue}\""
                );
                let create = json!({"type": "exec", "mbean": format!("org.apache.activemq.artemis:broker=\"{broker}\""),
                    "operation": "createQueue(java.lang.String,java.lang.String,java.lang.String)",
                    "arguments": [queue, queue, "ANYCAST"]});
                (create, mbean)
            } else {
                let mbean = format!(
                    "org.apache.activemq:type=Broker,brokerName={broker},destinationType=Queue,destinationName={queue}"
                );
                let create = json!({"type": "exec", "mbean": format!("org.apache.activemq:type=Broker,brokerName={broker}"),
                    "operation": "addQueue", "arguments": [queue]});
                (create, mbean)
            };
            requests.push(create);
            mbeans.push(mbean);
        }
        console.post(&Value::Array(requests)).await;
    }
    for chunk in mbeans.chunks(100) {
        let sends: Vec<Value> = chunk
            .iter()
            .map(|mbean| {
                if artemis {
                    json!({"type": "exec", "mbean": mbean,
                        "operation": "sendMessage(java.util.Map,int,java.lang.String,boolean,java.lang.String,java.lang.String)",
                        "arguments": [{}, 3, "job", true, null, null]})
                } else {
                    json!({"type": "exec", "mbean": mbean,
                        "operation": "sendTextMessage(java.lang.String)", "arguments": ["job"]})
                }
            })
            .collect();
        console.post(&Value::Array(sends)).await;
    }
    mbeans
}

async fn flavor(name: &str, url: String, artemis: bool) {
    let console = Console::new(url.clone());
    let mut cluster = ClusterConfig::activemq("bench", &url);
    if let Connection::Activemq(activemq) = &mut cluster.connection {
        activemq.username = Some(env("OSPREY_TEST_ACTIVEMQ_USER"));
        activemq.password = Some(Secret::new(env("OSPREY_TEST_ACTIVEMQ_PASSWORD")));
    }
    cluster.poll_timeout = Duration::from_secs(60);
    let Connection::Activemq(connection) = &cluster.connection else { unreachable!() };
    let adapter = ActivemqAdapter::from_cluster(&cluster, connection).unwrap();
    let broker = adapter.queue_snapshot(0).await.unwrap().nodes[0].name.clone();
    let mbeans = fill(&console, &broker, artemis).await;
    let queues = adapter.queue_snapshot(0).await.unwrap().queues.len();
    let osprey = timed(async || drop(adapter.queue_snapshot(0).await.unwrap())).await;
    println!("{name}, Osprey's poll ({queues} destinations): {osprey}");
    let attributes = if artemis {
        json!(["MessageCount", "DeliveringCount", "ConsumerCount", "MessagesAdded"])
    } else {
        json!(["QueueSize", "InFlightCount", "ConsumerCount", "EnqueueCount"])
    };
    let one_by_one = timed(async || {
        futures::stream::iter(&mbeans)
            .map(|mbean| {
                let request = json!({"type": "read", "mbean": mbean, "attribute": attributes});
                let console = &console;
                async move { console.post(&request).await }
            })
            .buffer_unordered(8)
            .for_each(|_| async {})
            .await;
    })
    .await;
    println!("{name}, one read per queue MBean (8 at a time): {one_by_one}");
    if artemis {
        // The options the console sends: no filter, sorted by name.
        let options =
            r#"{"field":"","operation":"","value":"","sortOrder":"asc","sortColumn":"name"}"#;
        let list = json!({"type": "exec", "mbean": format!("org.apache.activemq.artemis:broker=\"{broker}\""),
            "operation": "listQueues(java.lang.String,int,int)", "arguments": [options, 1, QUEUES]});
        let listed = timed(async || drop(console.post(&list).await)).await;
        println!("{name}, the broker's listQueues page of {QUEUES}: {listed}");
    }
}

#[tokio::main]
async fn main() {
    flavor("ActiveMQ Classic", env("OSPREY_TEST_ACTIVEMQ_JOLOKIA"), false).await;
    flavor("ActiveMQ Artemis", env("OSPREY_TEST_ARTEMIS_JOLOKIA"), true).await;
}
