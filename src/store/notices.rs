//! PostgreSQL notices of published cluster states: the holder notifies in the poll's transaction, followers listen on one connection.

use super::*;

/// The channel a holder notifies on when it publishes a cluster's state; the payload is the
/// cluster's name.
const STATE_CHANNEL: &str = "osprey_cluster_states";

/// Notifies the listeners that `cluster`'s state was published, when `conn`'s transaction
/// commits (PostgreSQL only; nothing elsewhere).
pub(super) async fn notify_published(
    conn: &mut sqlx::AnyConnection,
    dialect: Dialect,
    cluster: &str,
) -> Result<(), StoreError> {
    if dialect == Dialect::Postgres {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(STATE_CHANNEL)
            .bind(cluster)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A connection listening for published states.
pub struct StateNotices {
    listener: sqlx::postgres::PgListener,
}

/// What the next call to [`StateNotices::next`] brought.
#[derive(Debug, PartialEq, Eq)]
pub enum StateNotice {
    /// This cluster's holder published a new state.
    Published(String),
    /// The connection was lost and made again: notices sent meanwhile are gone.
    Reconnected,
}

impl StateNotices {
    /// Waits for the next notice. An error means the connection is lost and could not be made
    /// again yet; the next call tries again.
    pub async fn next(&mut self) -> Result<StateNotice, StoreError> {
        match self.listener.try_recv().await.map_err(StoreError::Connect)? {
            Some(notice) => Ok(StateNotice::Published(notice.payload().to_owned())),
            None => Ok(StateNotice::Reconnected),
        }
    }
}

impl Store {
    /// Listens for published states on a connection of its own (PostgreSQL; `None` elsewhere:
    /// followers read the states on a timer instead).
    pub async fn state_notices(&self) -> Result<Option<StateNotices>, StoreError> {
        let Some(url) = self.listen_url.as_deref() else { return Ok(None) };
        let mut listener =
            sqlx::postgres::PgListener::connect(url).await.map_err(StoreError::Connect)?;
        listener.listen(STATE_CHANNEL).await.map_err(StoreError::Connect)?;
        Ok(Some(StateNotices { listener }))
    }
}
