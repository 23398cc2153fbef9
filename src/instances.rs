//! Several Osprey instances on one database: who this instance is, which leases it holds (each
//! cluster's polling and alert evaluation, the history job), how leases spread over the live
//! instances, and the task that keeps them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::domain::Millis;
use crate::store::{Fence, Store};

/// The lease of the rollup and retention job.
pub const HISTORY_LEASE: &str = "history";

/// The lease under which one instance polls `cluster` and evaluates its alerts.
pub fn cluster_lease(cluster: &str) -> String {
    format!("cluster:{cluster}")
}

/// This instance as the others see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Unique per process start.
    pub id: String,
    pub name: String,
    /// Where its pages are served.
    pub address: String,
    pub version: &'static str,
}

/// What this instance may do about a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holding {
    /// Alone on its database: everything is this instance's, nothing is fenced.
    Alone,
    /// Held under this fence: act, and write with it.
    Held(Fence),
    /// Another instance's (or nobody's yet): read what it publishes.
    Elsewhere,
}

/// The leases this instance holds, shared by its pollers, its alert evaluation and its pages.
#[derive(Debug, Clone, Default)]
pub struct Ownership {
    shared: Option<Arc<Shared>>,
}

#[derive(Debug)]
struct Shared {
    identity: Identity,
    held: watch::Sender<BTreeMap<String, Fence>>,
}

impl Ownership {
    /// A single instance: holds everything.
    pub fn alone() -> Self {
        Ownership { shared: None }
    }

    /// One of several instances: holds nothing until [`run`] takes leases.
    pub fn shared(identity: Identity) -> Self {
        let (held, _) = watch::channel(BTreeMap::new());
        Ownership { shared: Some(Arc::new(Shared { identity, held })) }
    }

    pub fn identity(&self) -> Option<&Identity> {
        self.shared.as_ref().map(|s| &s.identity)
    }

    pub fn holding(&self, lease: &str) -> Holding {
        match &self.shared {
            None => Holding::Alone,
            Some(shared) => match shared.held.borrow().get(lease) {
                Some(fence) => Holding::Held(fence.clone()),
                None => Holding::Elsewhere,
            },
        }
    }

    /// Whether this instance acts for `lease` (alone, or holding it).
    pub fn acts_for(&self, lease: &str) -> bool {
        self.holding(lease) != Holding::Elsewhere
    }

    /// Wakes on every change of the leases held (never, for a single instance).
    pub fn watch(&self) -> Option<watch::Receiver<BTreeMap<String, Fence>>> {
        self.shared.as_ref().map(|s| s.held.subscribe())
    }

    /// The fences of every lease held.
    pub fn held(&self) -> BTreeMap<String, Fence> {
        self.shared.as_ref().map(|s| s.held.borrow().clone()).unwrap_or_default()
    }

    pub(crate) fn set(&self, held: BTreeMap<String, Fence>) {
        if let Some(shared) = &self.shared {
            shared.held.send_if_modified(|current| {
                let changed = *current != held;
                *current = held;
                changed
            });
        }
    }
}

/// The leases `me` should hold: each lease goes to the live instance ranking highest for it
/// (rendezvous hashing), so a new instance takes about its share from the others and a stopped
/// one's leases spread over the rest, while every other lease stays where it is.
pub fn share<'a>(leases: &'a [String], live: &[String], me: &str) -> BTreeSet<&'a str> {
    let rank = |lease: &str, instance: &str| {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{lease}\0{instance}"));
        u64::from_be_bytes([
            digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
        ])
    };
    leases
        .iter()
        .filter(|lease| {
            let mine = rank(lease, me);
            live.iter().filter(|i| *i != me).all(|other| rank(lease, other) < mine)
        })
        .map(String::as_str)
        .collect()
}

/// How the lease task is set up.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    /// Every lease the instances share out.
    pub leases: Vec<String>,
    /// How long a lease (and a heartbeat) lasts unrenewed.
    pub ttl: Duration,
}

fn millis(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Registers this instance, then every quarter of the lease time renews its heartbeat and
/// leases, takes the leases of its share that are free, and gives back those no longer its
/// share, until cancelled ([`leave`] then gives everything back).
pub async fn run(
    store: Store,
    ownership: Ownership,
    settings: LeaseSettings,
    cancel: CancellationToken,
) {
    let Some(identity) = ownership.identity().cloned() else { return };
    let ttl = millis(settings.ttl);
    loop {
        match store
            .register_instance(&identity.id, &identity.name, &identity.address, identity.version)
            .await
        {
            Ok(()) => break,
            Err(e) => {
                tracing::error!(error = %e, "cannot register this instance; retrying");
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(settings.ttl / 4) => {}
                }
            }
        }
    }
    tracing::info!(instance = %identity.name, id = %identity.id, "instance registered; taking its share of the clusters");
    let mut last_renewed = tokio::time::Instant::now();
    let mut ticker = tokio::time::interval(settings.ttl / 4);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        // Bounded: on a database that hangs, the round must still end for the leases to be
        // given up at the lease time below.
        let wait = settings.ttl.min(crate::store::BACKGROUND_WAIT);
        match crate::store::within(wait, keep(&store, &identity, &settings, ttl)).await {
            Ok(held) => {
                last_renewed = tokio::time::Instant::now();
                log_changes(&ownership.held(), &held);
                ownership.set(held);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot renew this instance's leases");
                // Past the lease time the others may have taken them: stop acting on them.
                if last_renewed.elapsed() >= settings.ttl && !ownership.held().is_empty() {
                    tracing::warn!("leases not renewed within the lease time: giving them up");
                    log_changes(&ownership.held(), &BTreeMap::new());
                    ownership.set(BTreeMap::new());
                }
            }
        }
    }
}

/// Gives every lease back and marks this instance stopped, so the others take its clusters at
/// their next round instead of after the lease time. Called once the pollers and the history
/// writer have stopped, so nothing written under a lease is refused for having given it back.
pub async fn leave(store: &Store, ownership: &Ownership) {
    let Some(identity) = ownership.identity() else { return };
    ownership.set(BTreeMap::new());
    match tokio::time::timeout(Duration::from_secs(5), store.stop_instance(&identity.id)).await {
        Ok(Ok(())) => tracing::info!("leases given back"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not give the leases back; they expire by themselves")
        }
        Err(_) => tracing::warn!("the database did not answer; the leases expire by themselves"),
    }
}

/// One round: renew, then take and give back leases toward this instance's share.
async fn keep(
    store: &Store,
    identity: &Identity,
    settings: &LeaseSettings,
    ttl: Millis,
) -> Result<BTreeMap<String, Fence>, crate::store::StoreError> {
    let mut held: BTreeMap<String, Fence> = store
        .renew_leases(&identity.id, ttl)
        .await?
        .into_iter()
        .map(|fence| (fence.lease.clone(), fence))
        .collect();
    let live = store.live_instances(ttl).await?;
    let mine = share(&settings.leases, &live, &identity.id);
    for lease in &mine {
        if !held.contains_key(*lease)
            && let Some(fence) = store.acquire_lease(lease, &identity.id, ttl).await?
        {
            held.insert(fence.lease.clone(), fence);
        }
    }
    let surplus: Vec<String> =
        held.keys().filter(|lease| !mine.contains(lease.as_str())).cloned().collect();
    for lease in surplus {
        if let Some(fence) = held.remove(&lease) {
            store.release_lease(&fence).await?;
        }
    }
    Ok(held)
}

fn log_changes(before: &BTreeMap<String, Fence>, after: &BTreeMap<String, Fence>) {
    for (lease, fence) in after {
        if before.get(lease).is_none_or(|old| old.epoch != fence.epoch) {
            tracing::info!(lease = %lease, epoch = fence.epoch, "lease gained");
        }
    }
    for lease in before.keys().filter(|lease| !after.contains_key(*lease)) {
        tracing::info!(lease = %lease, "lease lost or given back");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    #[test]
    fn every_lease_has_exactly_one_owner_among_the_live_instances() {
        let leases = names("cluster:c", 30);
        let live = names("instance-", 3);
        let mut owners = BTreeMap::<&str, usize>::new();
        for me in &live {
            for lease in share(&leases, &live, me) {
                *owners.entry(lease).or_default() += 1;
            }
        }
        assert_eq!(owners.len(), 30);
        assert!(owners.values().all(|&n| n == 1));
        let sizes: Vec<usize> = live.iter().map(|me| share(&leases, &live, me).len()).collect();
        assert!(sizes.iter().all(|&n| (5..=15).contains(&n)), "spread evenly enough: {sizes:?}");
    }

    #[test]
    fn a_stopped_instance_s_leases_move_and_the_others_stay() {
        let leases = names("cluster:c", 30);
        let three = names("instance-", 3);
        let two = &three[..2];
        for me in two {
            let before = share(&leases, &three, me);
            let after = share(&leases, two, me);
            assert!(before.is_subset(&after), "{me} keeps what it had");
        }
        let covered: BTreeSet<&str> = two.iter().flat_map(|me| share(&leases, two, me)).collect();
        assert_eq!(covered.len(), 30, "nothing is left without an owner");
    }

    #[test]
    fn an_instance_not_yet_seen_live_still_counts_itself() {
        let leases = names("cluster:c", 10);
        let alone = share(&leases, &[], "new");
        assert_eq!(alone.len(), 10);
    }
}
