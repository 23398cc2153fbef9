//! Several instances on one database: instances and their heartbeats, leases with a fencing
//! epoch, and each cluster's latest state as its lease holder published it. Lease times are the
//! database's clock (`Dialect::now_millis`), the one clock every instance shares.

use super::*;

/// A lease as its holder took it. Every write made under a lease carries its fence and is
/// refused ([`StoreError::Fenced`]) once the lease expired or another instance took it over
/// (the epoch grows with every new holder), so an instance that was paused past its lease
/// writes nothing when it wakes up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fence {
    pub lease: String,
    pub holder: String,
    pub epoch: i64,
}

/// One instance as the Instances page shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InstanceRow {
    pub id: String,
    pub name: String,
    pub address: String,
    pub version: String,
    pub started_at: Millis,
    pub heartbeat_at: Millis,
    pub stopped_at: Option<Millis>,
    /// Its heartbeat is younger than the lease time and it did not stop.
    pub alive: bool,
    pub leases: Vec<LeaseRow>,
}

/// One lease held (or last held) by an instance.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LeaseRow {
    pub name: String,
    pub holder: String,
    pub epoch: i64,
    pub acquired_at: Millis,
    pub renewed_at: Millis,
    pub expires_at: Millis,
}

/// Instances not heard of for this long are forgotten.
const FORGET_INSTANCES_AFTER: Millis = 24 * 3_600_000;

impl Store {
    /// The database's clock.
    pub async fn database_now(&self) -> Result<Millis, StoreError> {
        let sql = format!("SELECT {}", self.dialect.now_millis());
        Ok(sqlx::query(&sql).fetch_one(&self.pool).await?.try_get(0)?)
    }

    /// Records a starting instance (and forgets the ones gone for a day).
    pub async fn register_instance(
        &self,
        id: &str,
        name: &str,
        address: &str,
        version: &str,
    ) -> Result<(), StoreError> {
        let (d, now) = (self.dialect, self.dialect.now_millis());
        sqlx::query(&d.sql(&format!("DELETE FROM instances WHERE heartbeat_at < {now} - ?")))
            .bind(FORGET_INSTANCES_AFTER)
            .execute(&self.pool)
            .await?;
        sqlx::query(&d.sql(&format!(
            "INSERT INTO instances (id, name, address, version, started_at, heartbeat_at, \
             stopped_at) VALUES (?, ?, ?, ?, {now}, {now}, NULL)"
        )))
        .bind(id)
        .bind(name)
        .bind(address)
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The instance's heartbeat and every lease it holds, extended by `ttl` from now; returns
    /// the leases it still holds (one taken over meanwhile is no longer among them).
    pub async fn renew_leases(&self, holder: &str, ttl: Millis) -> Result<Vec<Fence>, StoreError> {
        let (d, now) = (self.dialect, self.dialect.now_millis());
        sqlx::query(&d.sql(&format!("UPDATE instances SET heartbeat_at = {now} WHERE id = ?")))
            .bind(holder)
            .execute(&self.pool)
            .await?;
        sqlx::query(&d.sql(&format!(
            "UPDATE leases SET renewed_at = {now}, expires_at = {now} + ? WHERE holder = ?"
        )))
        .bind(ttl)
        .bind(holder)
        .execute(&self.pool)
        .await?;
        let rows = sqlx::query(&d.sql("SELECT name, epoch FROM leases WHERE holder = ?"))
            .bind(holder)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Fence {
                    lease: row.try_get(0)?,
                    holder: holder.to_owned(),
                    epoch: row.try_get(1)?,
                })
            })
            .collect()
    }

    /// The ids of the instances whose heartbeat is younger than `ttl`, in id order.
    pub async fn live_instances(&self, ttl: Millis) -> Result<Vec<String>, StoreError> {
        let (d, now) = (self.dialect, self.dialect.now_millis());
        let rows = sqlx::query(&d.sql(&format!(
            "SELECT id FROM instances WHERE stopped_at IS NULL AND heartbeat_at > {now} - ? \
             ORDER BY id"
        )))
        .bind(ttl)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
    }

    /// Takes the lease `name` for `ttl` when nobody holds it (never held, released, or expired:
    /// the epoch then grows by one); `None` while another instance holds it.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Millis,
    ) -> Result<Option<Fence>, StoreError> {
        let (d, now) = (self.dialect, self.dialect.now_millis());
        let taken = sqlx::query(&d.sql(&format!(
            "UPDATE leases SET holder = ?, epoch = epoch + 1, acquired_at = {now}, \
             renewed_at = {now}, expires_at = {now} + ? \
             WHERE name = ? AND (expires_at < {now} OR holder = '')"
        )))
        .bind(holder)
        .bind(ttl)
        .bind(name)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if taken == 0 {
            let inserted = sqlx::query(&d.sql(&format!(
                "INSERT INTO leases (name, holder, epoch, acquired_at, renewed_at, expires_at) \
                 VALUES (?, ?, 1, {now}, {now}, {now} + ?)"
            )))
            .bind(name)
            .bind(holder)
            .bind(ttl)
            .execute(&self.pool)
            .await;
            match inserted {
                Ok(_) => {}
                // Someone holds it (or took it first).
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        let row = sqlx::query(&d.sql("SELECT epoch FROM leases WHERE name = ? AND holder = ?"))
            .bind(name)
            .bind(holder)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(Fence {
                lease: name.to_owned(),
                holder: holder.to_owned(),
                epoch: row.try_get(0)?,
            }),
            None => None,
        })
    }

    /// Gives a lease up at once (its epoch stays: the next holder's is higher).
    pub async fn release_lease(&self, fence: &Fence) -> Result<(), StoreError> {
        sqlx::query(&self.dialect.sql(
            "UPDATE leases SET holder = '', expires_at = 0 WHERE name = ? AND holder = ? \
             AND epoch = ?",
        ))
        .bind(&fence.lease)
        .bind(&fence.holder)
        .bind(fence.epoch)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A stopping instance: every lease it holds released, the instance marked stopped.
    pub async fn stop_instance(&self, holder: &str) -> Result<(), StoreError> {
        let (d, now) = (self.dialect, self.dialect.now_millis());
        sqlx::query(&d.sql("UPDATE leases SET holder = '', expires_at = 0 WHERE holder = ?"))
            .bind(holder)
            .execute(&self.pool)
            .await?;
        sqlx::query(&d.sql(&format!("UPDATE instances SET stopped_at = {now} WHERE id = ?")))
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every known instance with the leases it holds, newest first; alive when its heartbeat
    /// is younger than `ttl`.
    pub async fn instances(&self, ttl: Millis) -> Result<Vec<InstanceRow>, StoreError> {
        let now = self.database_now().await?;
        let leases = sqlx::query(
            "SELECT name, holder, epoch, acquired_at, renewed_at, expires_at FROM leases \
             WHERE holder <> '' ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut leases: Vec<LeaseRow> = leases
            .iter()
            .map(|r| {
                Ok(LeaseRow {
                    name: r.try_get(0)?,
                    holder: r.try_get(1)?,
                    epoch: r.try_get(2)?,
                    acquired_at: r.try_get(3)?,
                    renewed_at: r.try_get(4)?,
                    expires_at: r.try_get(5)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let rows = sqlx::query(
            "SELECT id, name, address, version, started_at, heartbeat_at, stopped_at \
             FROM instances ORDER BY started_at DESC, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                let heartbeat_at: Millis = r.try_get(5)?;
                let stopped_at: Option<Millis> = r.try_get(6)?;
                let (held, rest): (Vec<LeaseRow>, Vec<LeaseRow>) =
                    leases.drain(..).partition(|l| l.holder == id);
                leases = rest;
                Ok(InstanceRow {
                    name: r.try_get(1)?,
                    address: r.try_get(2)?,
                    version: r.try_get(3)?,
                    started_at: r.try_get(4)?,
                    alive: stopped_at.is_none() && heartbeat_at > now - ttl,
                    heartbeat_at,
                    stopped_at,
                    leases: held,
                    id,
                })
            })
            .collect()
    }

    /// The state `cluster`'s lease holder published, when it is not the one published at
    /// `seen` (the caller's last): its publishing time and bytes.
    pub async fn published_state(
        &self,
        cluster: &str,
        seen: Option<Millis>,
    ) -> Result<Option<(Millis, Vec<u8>)>, StoreError> {
        let row = sqlx::query(&self.dialect.sql(
            "SELECT published_at, state FROM cluster_states WHERE cluster = ? \
             AND published_at <> ?",
        ))
        .bind(cluster)
        .bind(seen.unwrap_or(-1))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some((row.try_get(0)?, row.try_get(1)?))),
            None => Ok(None),
        }
    }
}

/// Refuses the transaction's writes unless `fence` still holds: the lease row is read and
/// locked, so a takeover waits for this transaction and a taken-over lease refuses it. An
/// expired lease nobody took over still holds: polls held through a database outage are
/// written once it is back, unless another instance polled meanwhile.
pub(super) async fn check_fence(
    conn: &mut sqlx::AnyConnection,
    dialect: Dialect,
    fence: &Fence,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT epoch FROM leases WHERE name = ? AND holder = ? AND epoch = ?{}",
        dialect.for_update()
    );
    let held = sqlx::query(&dialect.sql(&sql))
        .bind(&fence.lease)
        .bind(&fence.holder)
        .bind(fence.epoch)
        .fetch_optional(&mut *conn)
        .await?;
    match held {
        Some(_) => Ok(()),
        None => Err(StoreError::Fenced(fence.lease.clone())),
    }
}

/// Writes `state` as `cluster`'s latest, published at `at` under `fence`'s lease.
pub(super) async fn publish_state(
    conn: &mut sqlx::AnyConnection,
    dialect: Dialect,
    fence: &Fence,
    cluster: &str,
    at: Millis,
    state: &[u8],
) -> Result<(), StoreError> {
    sqlx::query(&dialect.sql("DELETE FROM cluster_states WHERE cluster = ?"))
        .bind(cluster)
        .execute(&mut *conn)
        .await?;
    sqlx::query(&dialect.sql(
        "INSERT INTO cluster_states (cluster, holder, epoch, published_at, state) \
         VALUES (?, ?, ?, ?, ?)",
    ))
    .bind(cluster)
    .bind(&fence.holder)
    .bind(fence.epoch)
    .bind(at)
    .bind(state.to_vec())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
