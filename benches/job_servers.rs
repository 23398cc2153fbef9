//! Job servers at scale (issue 17): 1,000 beanstalkd tubes and 1,000 Gearman functions, each
//! holding jobs. Measures Osprey's poll of each (beanstalkd: `stats`, `list-tubes` and one
//! `stats-tube` per tube over one connection; Gearman: `version`, `status`, `workers`) and, in the
//! same run, the reference clients doing the same: greenstalk (Python) asking every tube's
//! statistics, and `gearadmin --status` from gearman-tools.
//!
//! Run through `scripts/bench.sh job-servers` (it starts a beanstalkd and a gearmand).

mod common;

use std::time::{Duration, Instant};

use common::*;
use osprey::brokers::beanstalkd::{BeanstalkAdapter, Connection};
use osprey::brokers::gearman::{GearmanAdapter, Priority, submit_background};
use osprey::config::{ClusterConfig, Connection as Kind};

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

#[tokio::main]
async fn main() {
    let (beanstalkd, gearmand) = (env("OSPREY_TEST_BEANSTALKD"), env("OSPREY_TEST_GEARMAN"));
    let timeout = Duration::from_secs(30);

    let mut producer = Connection::open(&beanstalkd, timeout).await.unwrap();
    for i in 0..QUEUES {
        let tube = format!("bench-{i:04}");
        producer.put(&tube, 1024, Duration::ZERO, Duration::from_secs(60), b"job").await.unwrap();
    }
    let cluster = ClusterConfig::beanstalkd("bench", &beanstalkd);
    let Kind::Beanstalkd(connection) = &cluster.connection else { unreachable!() };
    let mut settings = cluster.clone();
    settings.poll_timeout = timeout;
    let adapter = BeanstalkAdapter::from_cluster(&settings, connection).unwrap();
    let tubes = adapter.queue_snapshot(0).await.unwrap().queues.len();
    let osprey = timed(async || drop(adapter.queue_snapshot(0).await.unwrap())).await;
    println!("beanstalkd, Osprey's poll ({tubes} tubes): {osprey}");
    let python = env("OSPREY_BENCH_PYTHON");
    let script = format!(
        "import greenstalk,time,sys\n\
         host,port=sys.argv[1].rsplit(':',1)\n\
         c=greenstalk.Client((host,int(port)))\n\
         t=[]\n\
         for _ in range({}):\n\
         \x20s=time.perf_counter(); c.stats(); [c.stats_tube(n) for n in c.tubes()]\n\
         \x20t.append((time.perf_counter()-s)*1000)\n\
         print(' '.join(f'{{x:.3f}}' for x in t[1:]))\n",
        RUNS + 1
    );
    let out = std::process::Command::new(&python)
        .args(["-c", &script, &beanstalkd])
        .output()
        .expect("python with greenstalk");
    let samples: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    println!("beanstalkd, greenstalk asking the same: {}", stats(samples));

    for i in 0..QUEUES {
        let function = format!("bench-{i:04}");
        submit_background(&gearmand, timeout, &function, b"job", Priority::Normal).await.unwrap();
    }
    let cluster = ClusterConfig::gearman("bench", &gearmand);
    let Kind::Gearman(connection) = &cluster.connection else { unreachable!() };
    let mut settings = cluster.clone();
    settings.poll_timeout = timeout;
    let adapter = GearmanAdapter::from_cluster(&settings, connection).unwrap();
    let functions = adapter.queue_snapshot(0).await.unwrap().queues.len();
    let osprey = timed(async || drop(adapter.queue_snapshot(0).await.unwrap())).await;
    println!("Gearman, Osprey's poll ({functions} functions): {osprey}");
    let (host, port) = gearmand.rsplit_once(':').unwrap();
    let gearadmin = timed(async || {
        let out = std::process::Command::new("gearadmin")
            .args(["-h", host, "-p", port, "--status"])
            .output()
            .expect("gearadmin");
        assert!(out.status.success());
    })
    .await;
    println!("Gearman, gearadmin --status: {gearadmin}");
}
