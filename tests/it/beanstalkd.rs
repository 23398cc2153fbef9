//! beanstalkd's protocol client against the real server from `scripts/peers.sh` (each test in a
//! tube of its own).

use std::time::Duration;

use osprey::brokers::AdapterError;
use osprey::brokers::beanstalkd::{Connection, Peek};

use crate::helpers::*;

async fn connect() -> Connection {
    Connection::open(&peer("OSPREY_TEST_BEANSTALKD"), Duration::from_secs(5)).await.unwrap()
}

#[tokio::test]
async fn jobs_are_put_peeked_counted_and_kicked() {
    let tube = unique("jobs");
    let mut server = connect().await;
    // A body with a line break inside is a body, not a second command.
    let ready = b"resize\r\nimage-1".to_vec();
    let id = server.put(&tube, 10, Duration::ZERO, Duration::from_secs(60), &ready).await.unwrap();
    server
        .put(&tube, 10, Duration::from_secs(3600), Duration::from_secs(60), b"later")
        .await
        .unwrap();

    let peeked = server.peek(&tube, Peek::Ready).await.unwrap().unwrap();
    assert_eq!((peeked.id, peeked.body), (id, ready));
    assert_eq!(server.peek(&tube, Peek::Delayed).await.unwrap().unwrap().body, b"later");
    assert!(server.peek(&tube, Peek::Buried).await.unwrap().is_none());

    assert!(server.tubes().await.unwrap().contains(&tube));
    let stats = server.tube_stats(&tube).await.unwrap().unwrap();
    assert_eq!(
        (stats["current-jobs-ready"].as_str(), stats["current-jobs-delayed"].as_str()),
        ("1", "1"),
        "{stats:?}"
    );
    assert!(server.tube_stats(&unique("never")).await.unwrap().is_none());
    // Nothing buried: kick moves the delayed job instead.
    assert_eq!(server.kick(&tube, 10).await.unwrap(), 1);
    let stats = server.tube_stats(&tube).await.unwrap().unwrap();
    assert_eq!(stats["current-jobs-ready"], "2", "{stats:?}");

    let about = server.stats().await.unwrap();
    assert!(about.get("version").is_some_and(|v| !v.is_empty()), "{about:?}");
    assert!(about.contains_key("uptime"), "{about:?}");
}

#[tokio::test]
async fn refusals_are_clear_and_the_connection_stays_usable() {
    let tube = unique("refusals");
    let mut server = connect().await;
    let hour = Duration::from_secs(3600);
    let injected = server.put("jobs\r\nkick 1000", 1, Duration::ZERO, hour, b"x").await;
    assert!(matches!(injected, Err(AdapterError::Config(_))), "{injected:?}");
    // Past the server's max-job-size (64 KiB by default).
    let big = vec![b'x'; 70_000];
    let error = server.put(&tube, 1, Duration::ZERO, hour, &big).await.unwrap_err();
    assert!(error.to_string().contains("JOB_TOO_BIG"), "{error}");
    assert!(server.stats().await.is_ok(), "still usable");

    let nobody = format!("127.0.0.1:{}", free_port());
    let closed = Connection::open(&nobody, Duration::from_secs(2)).await;
    assert!(matches!(closed, Err(AdapterError::Unreachable(_))), "{:?}", closed.err());
}
