//! Builds the running program from a configuration: store, one poller per cluster, background
//! jobs and the web server; runs until a shutdown signal and then drains every task. [`build`]
//! gives the same application without a listener or background tasks, for in-process tests.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::alerting::{self, Alerting};
use crate::auth::Auth;
use crate::brokers::kafka::canary::KafkaCanary;
use crate::brokers::rabbitmq::canary::RabbitCanary;
use crate::brokers::rocketmq::canary::RocketCanary;
use crate::brokers::{AdapterError, ClusterClient};
use crate::canary;
use crate::config::{ClusterConfig, Config, Connection};
use crate::instances::{self, Identity, Ownership};
use crate::poller::{self, ClusterState, Clusters};
use crate::store::{Store, StoreError};
use crate::tasks::Tasks;
use crate::web;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("config key `clusters[{index}]` ({cluster}): {source}")]
    Cluster { index: usize, cluster: String, source: AdapterError },
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    #[error("web server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("access control: {0}")]
    Auth(#[source] crate::auth::AuthError),
    #[error(
        "another Osprey already uses the SQLite database {path} (lock file {lock}): a SQLite file \
         serves one instance; run several on PostgreSQL or MySQL/MariaDB with scale_out.enabled"
    )]
    SqliteInUse { path: String, lock: String },
    #[error("cannot lock the SQLite database's lock file {lock}: {source}")]
    SqliteLock { lock: String, source: std::io::Error },
}

/// Creates every cluster's clients without connecting, so configuration mistakes in client
/// properties surface before anything starts; in configuration order.
pub fn connect_clusters(config: &Config) -> Result<Vec<ClusterClient>, AppError> {
    config
        .clusters
        .iter()
        .enumerate()
        .map(|(index, cluster)| {
            ClusterClient::connect(cluster).map_err(|source| AppError::Cluster {
                index,
                cluster: cluster.name.clone(),
                source,
            })
        })
        .collect()
}

/// Polls one cluster with the client built for it.
async fn poll_cluster(
    client: ClusterClient,
    cluster: ClusterConfig,
    shared: poller::PollerShared,
    canary: Option<canary::Readings>,
    state: watch::Sender<Arc<ClusterState>>,
    cancel: CancellationToken,
) {
    // Each kind has its own adapter type, so each arm runs its own (monomorphic) poller.
    macro_rules! run {
        ($adapter:expr) => {
            poller::run_cluster($adapter, cluster, shared, canary, state, cancel).await
        };
    }
    match client {
        ClusterClient::Kafka { poll, .. } => run!(poll),
        ClusterClient::Rabbitmq(adapter) => run!(adapter),
        ClusterClient::Rocketmq(adapter) => run!(adapter),
        ClusterClient::Beanstalkd(adapter) => run!(adapter),
        ClusterClient::Gearman(adapter) => run!(adapter),
        ClusterClient::Activemq(adapter) => run!(adapter),
    }
}

/// Starts the cluster's canary task when `[clusters.canary]` enables it, and gives the channel
/// its readings arrive on.
fn start_canary(
    tasks: &Tasks,
    cluster: &ClusterConfig,
    client: &ClusterClient,
    ownership: &Ownership,
) -> Option<canary::Readings> {
    if !cluster.canary.enabled {
        return None;
    }
    let task = canary::CanaryTask {
        cluster: cluster.name.clone(),
        topic: cluster.canary.topic_for(cluster.kind()),
        interval: cluster.canary.interval,
        timeout: cluster.canary.timeout(),
        ownership: ownership.clone(),
    };
    let (tx, rx) = watch::channel(None);
    let token = canary::marker_token(&cluster.name);
    let name = format!("canary:{}", cluster.name);
    // Each kind has its own probe type, so each arm runs its own (monomorphic) task.
    macro_rules! spawn {
        ($probe:expr) => {{
            let probe: Result<_, crate::brokers::AdapterError> = $probe;
            match probe {
                Ok(probe) => {
                    let probe = Arc::new(probe);
                    tasks.spawn_supervised(name, move |cancel| {
                        canary::run(probe.clone(), task.clone(), tx.clone(), cancel)
                    });
                }
                Err(error) => {
                    tracing::error!(cluster = %cluster.name, %error, "the canary cannot start");
                    return None;
                }
            }
        }};
    }
    match (client, &cluster.connection) {
        (ClusterClient::Kafka { actions, .. }, Connection::Kafka(kafka)) => {
            spawn!(KafkaCanary::new(cluster, kafka, actions.clone(), token))
        }
        (ClusterClient::Rabbitmq(adapter), _) => {
            spawn!(RabbitCanary::new(cluster, adapter.clone(), token))
        }
        (ClusterClient::Rocketmq(adapter), _) => {
            spawn!(Ok(RocketCanary::new(cluster, adapter.clone(), token)))
        }
        // Refused by the configuration's validation.
        _ => return None,
    }
    Some(rx)
}

/// A started Osprey: its address, its store, and the handle that stops it.
pub struct Running {
    pub addr: SocketAddr,
    pub store: Store,
    pub auth: Auth,
    pub clusters: Clusters,
    stop: CancellationToken,
    server: tokio::task::JoinHandle<Result<(), AppError>>,
}

impl Running {
    /// Stops the server and every background task, and waits for them.
    pub async fn stop(self) -> Result<(), AppError> {
        self.stop.cancel();
        self.server.await.unwrap_or(Ok(()))
    }
}

/// Osprey without a listener and without background tasks: the store (migrated, with the
/// config file's alert rules and channels applied), access control, alerting, the web
/// application, and one state channel per configured cluster, still in its "not polled yet"
/// state. [`start`] adds the pollers, background jobs and the server; tests drive `router`
/// in-process (`tower::ServiceExt::oneshot`) and publish fixture states with
/// [`Parts::publish`]. Nothing here contacts a broker (cluster clients are created, not used).
pub struct Parts {
    /// Every page and API route with its middleware, as [`start`] serves it. Requests without
    /// `ConnectInfo` are fine: the audit log then records the client as `unknown`.
    pub router: Router,
    pub store: Store,
    /// No first admin and no setup link yet: [`start`] runs `Auth::bootstrap`.
    pub auth: Auth,
    pub alerting: Alerting,
    /// What the web layer reads: the receiving ends of `publishers`.
    pub clusters: Clusters,
    /// Per configured cluster, in configuration order: its name and the sender its poller
    /// publishes the latest state on.
    pub publishers: Vec<(String, watch::Sender<Arc<ClusterState>>)>,
    /// Per configured cluster, in configuration order: its clients, shared by its poller and
    /// the operator actions.
    pub clients: Vec<ClusterClient>,
    /// Poll history on its way to the database (the pages say when it cannot get there).
    pub held: Arc<poller::writer::HistoryQueue>,
    /// Which clusters this instance polls: all of them, or with `scale_out` those it holds.
    pub ownership: Ownership,
}

impl Parts {
    /// Makes `state` the latest state of the configured cluster named `state.name`, as a poll
    /// would; false (and nothing published) when no configured cluster has that name.
    pub fn publish(&self, state: ClusterState) -> bool {
        match self.publishers.iter().find(|(name, _)| *name == state.name) {
            Some((_, sender)) => {
                sender.send_replace(Arc::new(state));
                true
            }
            None => false,
        }
    }
}

/// Builds everything [`start`] serves except the listener and the background tasks.
pub async fn build(config: &Config) -> Result<Parts, AppError> {
    let clients = connect_clusters(config)?;
    let store =
        Store::connect(config.database.url.expose(), config.database.max_connections).await?;
    tracing::info!(database = %config.database.url.redacted(), dialect = store.dialect().name(), "history store ready");

    let written = store
        .sync_alert_config(
            &config.alerts.channels,
            &config.alerts.rules,
            crate::clock::now_millis(),
        )
        .await?;
    if written > 0 {
        tracing::info!(
            definitions = written,
            "alert rules and channels from the config file applied"
        );
    }

    let mut clusters = Clusters::default();
    let mut publishers = Vec::with_capacity(config.clusters.len());
    for cluster in &config.clusters {
        let (tx, rx) = watch::channel(Arc::new(ClusterState::new(cluster)));
        clusters.push(cluster.name.clone(), rx);
        publishers.push((cluster.name.clone(), tx));
    }
    let ownership = match config.scale_out.enabled {
        true => Ownership::shared(identity(config)),
        false => Ownership::alone(),
    };
    let alerting = Alerting::new(store.clone(), config.alerts.clone());
    let auth = Auth::new(store.clone(), config.auth.clone());
    let operators = web::Operators::new(config.clusters.iter().zip(&clients));
    let held = Arc::new(poller::writer::HistoryQueue::default());
    let state = web::AppState::new(
        clusters.clone(),
        store.clone(),
        alerting.clone(),
        auth.clone(),
        operators,
        held.clone(),
    )
    .with_instances(ownership.clone(), config.scale_out.lease_ttl);
    let router = web::app(state, &config.server);
    Ok(Parts { router, store, auth, alerting, clusters, publishers, clients, held, ownership })
}

/// This instance as the others see it: a fresh id per start, the configured name or the host
/// name and port, the configured address or the one it listens on.
fn identity(config: &Config) -> Identity {
    let mut bytes = [0u8; 8];
    let id = match getrandom::fill(&mut bytes) {
        Ok(()) => hex::encode(bytes),
        Err(_) => format!("{:x}-{}", crate::clock::now_millis(), std::process::id()),
    };
    let port = config.server.listen.port();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    Identity {
        id,
        name: config.scale_out.name.clone().unwrap_or_else(|| format!("{host}:{port}")),
        address: config
            .scale_out
            .advertise_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.server.listen)),
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// Starts Osprey on `listener` and returns once it serves.
pub async fn start(config: Config, listener: TcpListener) -> Result<Running, AppError> {
    let Parts { router, store, auth, alerting, clusters, publishers, clients, held, ownership } =
        build(&config).await?;

    let tasks = Tasks::new();
    if ownership.identity().is_some() {
        let leases = config
            .clusters
            .iter()
            .map(|c| instances::cluster_lease(&c.name))
            .chain([instances::HISTORY_LEASE.to_owned()])
            .collect();
        let settings = instances::LeaseSettings { leases, ttl: config.scale_out.lease_ttl };
        let (lease_store, lease_ownership) = (store.clone(), ownership.clone());
        tasks.spawn_supervised("leases".into(), move |cancel| {
            instances::run(lease_store.clone(), lease_ownership.clone(), settings.clone(), cancel)
        });
    }
    let longest_interval =
        config.clusters.iter().map(|c| c.poll_interval).max().unwrap_or_default();
    let follow = Arc::new(poller::following::FollowSignals::new(
        config.clusters.iter().map(|c| c.name.as_str()),
        longest_interval,
    ));
    if ownership.identity().is_some() {
        let (notice_store, signals) = (store.clone(), follow.clone());
        tasks.spawn_supervised("follow:notices".into(), move |cancel| {
            signals.clone().listen(notice_store.clone(), cancel)
        });
    }
    let shared = poller::PollerShared {
        history: config.history.clone(),
        lag: config.lag.clone(),
        store: store.clone(),
        held: held.clone(),
        ownership: ownership.clone(),
        follow,
    };
    // `publishers` follows the configuration's order.
    for ((cluster, (_, tx)), client) in config.clusters.iter().zip(publishers).zip(clients) {
        let readings = start_canary(&tasks, cluster, &client, &ownership);
        let (cluster, shared) = (cluster.clone(), shared.clone());
        tasks.spawn_supervised(format!("poller:{}", cluster.name), move |cancel| {
            let (client, cluster, shared) = (client.clone(), cluster.clone(), shared.clone());
            poll_cluster(client, cluster, shared, readings.clone(), tx.clone(), cancel)
        });
    }
    let writer_store = store.clone();
    tasks.spawn_supervised("history:writer".into(), move |cancel| {
        poller::run_history_writer(writer_store.clone(), held.clone(), cancel)
    });
    let (history, history_store, history_held, history_ownership) =
        (config.history.clone(), store.clone(), shared.held.clone(), ownership.clone());
    tasks.spawn_supervised("history".into(), move |cancel| {
        poller::run_history(
            history_store.clone(),
            history.clone(),
            history_held.clone(),
            history_ownership.clone(),
            cancel,
        )
    });

    let (evaluator, evaluated, evaluating) =
        (alerting.clone(), clusters.clone(), ownership.clone());
    tasks.spawn_supervised("alerts:evaluate".into(), move |cancel| {
        alerting::service::run_evaluation(
            evaluator.clone(),
            evaluated.clone(),
            evaluating.clone(),
            cancel,
        )
    });
    let sender = alerting.clone();
    tasks.spawn_supervised("alerts:deliver".into(), move |cancel| {
        alerting::service::run_delivery(sender.clone(), cancel)
    });

    let addr = listener
        .local_addr()
        .map_err(|source| AppError::Listen { addr: "listener".into(), source })?;
    match auth.bootstrap(crate::clock::now_millis()).await {
        Ok(Some(token)) => {
            let base = config.alerts.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
            tracing::warn!(
                setup = %format!("{}/setup?token={token}", base.trim_end_matches('/')),
                "no user exists yet: open this one-time link to create the first admin"
            );
        }
        Ok(None) => {}
        Err(e) => return Err(AppError::Auth(e)),
    }
    let stop = CancellationToken::new();
    let server_stop = stop.clone();
    let leaving = ownership;
    let server_store = store.clone();
    let server = tokio::spawn(async move {
        let served =
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(server_stop.cancelled_owned())
                .await
                .map_err(AppError::Serve);
        tasks.shutdown().await;
        instances::leave(&server_store, &leaving).await;
        // A connection stuck in a hung database is not waited for.
        let closing = server_store.close();
        if tokio::time::timeout(std::time::Duration::from_secs(5), closing).await.is_err() {
            tracing::warn!("the database did not close its connections in time");
        }
        tracing::info!("stopped");
        served
    });
    tracing::info!(url = %format!("http://{addr}"), clusters = config.clusters.len(), "Osprey is serving");
    Ok(Running { addr, store, auth, clusters, stop, server })
}

/// Runs Osprey until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), AppError> {
    // Held until the process ends; the system drops it even when the process is killed.
    let _sqlite_lock = lock_sqlite(config.database.url.expose())?;
    let addr = config.server.listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| AppError::Listen { addr: addr.to_string(), source })?;
    let running = start(config, listener).await?;
    shutdown.await;
    tracing::info!("shutting down: draining requests and background tasks");
    running.stop().await
}

/// A SQLite database serves one Osprey: the first process takes an exclusive lock on
/// `PATH.lock` beside it, and a second one says so and exits. Nothing for the other databases
/// (or an in-memory SQLite).
fn lock_sqlite(url: &str) -> Result<Option<std::fs::File>, AppError> {
    let Some(rest) = url.strip_prefix("sqlite:") else { return Ok(None) };
    let path = rest.trim_start_matches("//");
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    if path.is_empty() || path.starts_with(':') {
        return Ok(None);
    }
    let lock = format!("{path}.lock");
    if let Some(parent) = std::path::Path::new(&lock).parent().filter(|p| !p.as_os_str().is_empty())
    {
        let _ = std::fs::create_dir_all(parent);
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|source| AppError::SqliteLock { lock: lock.clone(), source })?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(AppError::SqliteInUse { path: path.to_owned(), lock })
        }
        Err(std::fs::TryLockError::Error(source)) => Err(AppError::SqliteLock { lock, source }),
    }
}
