//! A cluster's latest state as its lease holder publishes it through the database for the other
//! instances: MessagePack (keeps every float, NaN included, which JSON would turn into null)
//! compressed with gzip.

use std::io::{Read, Write};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ClusterState;
use crate::domain::ClusterSnapshot;
use crate::domain::metrics::ClusterMetrics;
use crate::evaluator::GroupLag;

/// Largest state accepted from the database once unpacked (a corrupt row must not exhaust
/// memory).
const MAX_UNPACKED: u64 = 512 * 1024 * 1024;

/// Everything the web layer reads of a cluster, the parts `ClusterState` leaves out of its own
/// serialization included.
#[derive(Serialize, Deserialize)]
struct Published {
    state: ClusterState,
    snapshot: Option<Arc<ClusterSnapshot>>,
    groups: Arc<Vec<GroupLag>>,
    metrics: Option<Arc<ClusterMetrics>>,
}

pub fn encode(state: &ClusterState) -> Result<Vec<u8>, String> {
    let published = Published {
        state: state.clone(),
        snapshot: state.snapshot.clone(),
        groups: Arc::clone(&state.groups),
        metrics: state.metrics.clone(),
    };
    let packed = rmp_serde::to_vec_named(&published).map_err(|e| e.to_string())?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&packed).map_err(|e| e.to_string())?;
    gz.finish().map_err(|e| e.to_string())
}

pub fn decode(bytes: &[u8]) -> Result<ClusterState, String> {
    let mut packed = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_UNPACKED)
        .read_to_end(&mut packed)
        .map_err(|e| format!("not a published state: {e}"))?;
    let published: Published =
        rmp_serde::from_slice(&packed).map_err(|e| format!("not a published state: {e}"))?;
    let Published { mut state, snapshot, groups, metrics } = published;
    state.snapshot = snapshot;
    state.groups = groups;
    state.metrics = metrics;
    Ok(state)
}
