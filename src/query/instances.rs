//! The instances sharing the database and the leases each holds, for the Instances page, its
//! API and `/metrics`.

use std::time::Duration;

use serde::Serialize;

use super::QueryError;
use crate::domain::Millis;
use crate::instances::Ownership;
use crate::store::{InstanceRow, PAGE_WAIT, Store, within};

#[derive(Debug, Clone, Serialize)]
pub struct InstancesView {
    /// Whether instances share the clusters (`scale_out.enabled`); when not, this instance
    /// polls every cluster and no instance is recorded.
    pub scale_out: bool,
    /// This instance's id, among `instances`.
    pub this: Option<String>,
    /// How long a lease lasts unrenewed.
    pub lease_ttl_ms: Millis,
    /// Newest first; leases by name.
    pub instances: Vec<InstanceRow>,
}

pub async fn instances(
    store: &Store,
    ownership: &Ownership,
    lease_ttl: Duration,
) -> Result<InstancesView, QueryError> {
    let ttl = i64::try_from(lease_ttl.as_millis()).unwrap_or(i64::MAX);
    let this = ownership.identity().map(|i| i.id.clone());
    let instances = match this {
        Some(_) => within(PAGE_WAIT, store.instances(ttl)).await?,
        None => Vec::new(),
    };
    Ok(InstancesView { scale_out: this.is_some(), this, lease_ttl_ms: ttl, instances })
}
