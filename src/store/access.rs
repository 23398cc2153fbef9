//! Access-control tables: users, login sessions, API tokens (only their hashes are stored) and
//! the audit log.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError};
use crate::domain::Millis;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredUser {
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    pub username: String,
    pub csrf: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredToken {
    pub id: String,
    pub name: String,
    pub username: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
}

/// One line of the audit log: who did what, where, when, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: String,
    pub at: Millis,
    pub actor: String,
    pub action: String,
    pub cluster: Option<String>,
    pub object: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub result: String,
    pub detail: Option<String>,
    pub remote: Option<String>,
}

fn user(row: &AnyRow) -> Result<StoredUser, StoreError> {
    Ok(StoredUser {
        username: row.try_get(0)?,
        password_hash: row.try_get(1)?,
        role: row.try_get(2)?,
        created_at: row.try_get(3)?,
        updated_at: row.try_get(4)?,
    })
}

const USER_COLUMNS: &str =
    "SELECT username, password_hash, role, created_at, updated_at FROM users";

impl Store {
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?.try_get(0)?)
    }

    pub async fn user(&self, username: &str) -> Result<Option<StoredUser>, StoreError> {
        let sql = self.dialect.sql(&format!("{USER_COLUMNS} WHERE username = ?")).into_owned();
        sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user)
            .transpose()
    }

    pub async fn users(&self) -> Result<Vec<StoredUser>, StoreError> {
        let sql = format!("{USER_COLUMNS} ORDER BY username");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(user).collect()
    }

    /// Creates a user; false when the name is taken.
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        if self.user(username).await?.is_some() {
            return Ok(false);
        }
        let sql = self.dialect.sql(
            "INSERT INTO users (username, password_hash, role, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?)",
        );
        sqlx::query(&sql)
            .bind(username)
            .bind(password_hash)
            .bind(role)
            .bind(now)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(true)
    }

    /// Changes a user's role and/or password hash; a new password ends the user's sessions.
    pub async fn update_user(
        &self,
        username: &str,
        role: Option<&str>,
        password_hash: Option<&str>,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_transaction().await?;
        let mut changed = false;
        if let Some(role) = role {
            let sql =
                self.dialect.sql("UPDATE users SET role = ?, updated_at = ? WHERE username = ?");
            let done =
                sqlx::query(&sql).bind(role).bind(now).bind(username).execute(&mut *tx).await?;
            changed |= done.rows_affected() > 0;
        }
        if let Some(hash) = password_hash {
            let sql = self
                .dialect
                .sql("UPDATE users SET password_hash = ?, updated_at = ? WHERE username = ?");
            let done =
                sqlx::query(&sql).bind(hash).bind(now).bind(username).execute(&mut *tx).await?;
            changed |= done.rows_affected() > 0;
            let sql = self.dialect.sql("DELETE FROM sessions WHERE username = ?");
            sqlx::query(&sql).bind(username).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Deletes a user with its sessions and tokens.
    pub async fn delete_user(&self, username: &str) -> Result<bool, StoreError> {
        let mut tx = self.write_transaction().await?;
        for table in ["sessions", "api_tokens"] {
            let sql =
                self.dialect.sql(&format!("DELETE FROM {table} WHERE username = ?")).into_owned();
            sqlx::query(&sql).bind(username).execute(&mut *tx).await?;
        }
        let sql = self.dialect.sql("DELETE FROM users WHERE username = ?");
        let done = sqlx::query(&sql).bind(username).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn create_session(
        &self,
        id_hash: &str,
        username: &str,
        csrf: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let sql = self.dialect.sql(
            "INSERT INTO sessions (id_hash, username, csrf, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?)",
        );
        sqlx::query(&sql)
            .bind(id_hash)
            .bind(username)
            .bind(csrf)
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The session if it has not expired at `now`.
    pub async fn session(
        &self,
        id_hash: &str,
        now: Millis,
    ) -> Result<Option<StoredSession>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT username, csrf, created_at, expires_at FROM sessions \
             WHERE id_hash = ? AND expires_at > ?",
        );
        let row = sqlx::query(&sql).bind(id_hash).bind(now).fetch_optional(&self.pool).await?;
        row.map(|row| {
            Ok(StoredSession {
                username: row.try_get(0)?,
                csrf: row.try_get(1)?,
                created_at: row.try_get(2)?,
                expires_at: row.try_get(3)?,
            })
        })
        .transpose()
    }

    pub async fn extend_session(
        &self,
        id_hash: &str,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        let sql = self.dialect.sql("UPDATE sessions SET expires_at = ? WHERE id_hash = ?");
        sqlx::query(&sql).bind(expires_at).bind(id_hash).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let sql = self.dialect.sql("DELETE FROM sessions WHERE id_hash = ?");
        sqlx::query(&sql).bind(id_hash).execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes sessions that expired before `now`.
    pub async fn prune_sessions(&self, now: Millis) -> Result<u64, StoreError> {
        let sql = self.dialect.sql("DELETE FROM sessions WHERE expires_at <= ?");
        Ok(sqlx::query(&sql).bind(now).execute(&self.pool).await?.rows_affected())
    }

    pub async fn create_token(
        &self,
        id: &str,
        token_hash: &str,
        name: &str,
        username: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let sql = self.dialect.sql(
            "INSERT INTO api_tokens (id, token_hash, name, username, created_at, last_used_at) \
             VALUES (?, ?, ?, ?, ?, NULL)",
        );
        sqlx::query(&sql)
            .bind(id)
            .bind(token_hash)
            .bind(name)
            .bind(username)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The token with this hash: (id, username).
    pub async fn token_owner(
        &self,
        token_hash: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let sql = self.dialect.sql("SELECT id, username FROM api_tokens WHERE token_hash = ?");
        let row = sqlx::query(&sql).bind(token_hash).fetch_optional(&self.pool).await?;
        Ok(row.map(|row| Ok::<_, sqlx::Error>((row.try_get(0)?, row.try_get(1)?))).transpose()?)
    }

    pub async fn touch_token(&self, id: &str, now: Millis) -> Result<(), StoreError> {
        let sql = self.dialect.sql("UPDATE api_tokens SET last_used_at = ? WHERE id = ?");
        sqlx::query(&sql).bind(now).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn tokens(&self) -> Result<Vec<StoredToken>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, username, created_at, last_used_at FROM api_tokens ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredToken {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    username: row.try_get(2)?,
                    created_at: row.try_get(3)?,
                    last_used_at: row.try_get(4)?,
                })
            })
            .collect()
    }

    pub async fn delete_token(&self, id: &str) -> Result<bool, StoreError> {
        let sql = self.dialect.sql("DELETE FROM api_tokens WHERE id = ?");
        Ok(sqlx::query(&sql).bind(id).execute(&self.pool).await?.rows_affected() > 0)
    }

    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let sql = self.dialect.sql(
            "INSERT INTO audit_log (id, ts, actor, action, cluster, object, result, detail, remote) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        );
        sqlx::query(&sql)
            .bind(&entry.id)
            .bind(entry.at)
            // Each text is bounded to its column: a refused login's actor is whatever name was typed (2 MB of
            // it would fill SQLite, and PostgreSQL and MySQL would refuse the row).
            .bind(super::alerts::bounded(&entry.actor, 64))
            .bind(super::alerts::bounded(&entry.action, 64))
            .bind(entry.cluster.as_deref().map(|c| super::alerts::bounded(c, 64)))
            .bind(entry.object.as_deref().map(|o| super::alerts::bounded(o, 512)))
            .bind(&entry.result)
            .bind(entry.detail.as_deref().map(|d| super::alerts::bounded(d, 2000)))
            .bind(entry.remote.as_deref().map(|r| super::alerts::bounded(r, 64)))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Rewrites the detail of entry `id` (a refusal that happened again).
    pub async fn audit_repeated(&self, id: &str, detail: &str) -> Result<(), StoreError> {
        let sql = self.dialect.sql("UPDATE audit_log SET detail = ? WHERE id = ?");
        let detail = super::alerts::bounded(detail, 2000);
        sqlx::query(&sql).bind(detail).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    pub async fn audit_entries(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = self.dialect.sql(
            "SELECT id, ts, actor, action, cluster, object, result, detail, remote FROM audit_log \
             ORDER BY ts DESC, id DESC LIMIT ?",
        );
        sqlx::query(&sql)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get(0)?,
                    at: row.try_get(1)?,
                    actor: row.try_get(2)?,
                    action: row.try_get(3)?,
                    cluster: row.try_get(4)?,
                    object: row.try_get(5)?,
                    result: row.try_get(6)?,
                    detail: row.try_get(7)?,
                    remote: row.try_get(8)?,
                })
            })
            .collect()
    }
}
