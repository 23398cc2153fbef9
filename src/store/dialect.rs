//! The few places where SQLite, PostgreSQL and MySQL/MariaDB SQL differ.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

impl Dialect {
    pub fn from_url(url: &str) -> Option<Dialect> {
        match url.split_once(':')?.0 {
            "sqlite" => Some(Dialect::Sqlite),
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
        }
    }

    /// Queries are written with `?`; PostgreSQL numbers its placeholders (`$1`, `$2`, …).
    /// Our SQL never has `?` inside string literals.
    pub fn sql<'a>(self, query: &'a str) -> Cow<'a, str> {
        if self != Dialect::Postgres || !query.contains('?') {
            return Cow::Borrowed(query);
        }
        let mut out = String::with_capacity(query.len() + 16);
        let mut n = 0;
        for ch in query.chars() {
            if ch == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(ch);
            }
        }
        Cow::Owned(out)
    }

    /// `prefix` followed by `rows` groups of `columns` placeholders, in this dialect.
    pub fn multi_row_insert(self, prefix: &str, columns: usize, rows: usize) -> String {
        let group = format!("({})", vec!["?"; columns].join(", "));
        let mut sql = String::with_capacity(prefix.len() + rows * (group.len() + 2));
        sql.push_str(prefix);
        sql.push_str(&vec![group.as_str(); rows].join(", "));
        self.sql(&sql).into_owned()
    }

    /// Start of the time bucket of `column`; the bucket width is the next bound parameter.
    pub fn bucket(self, column: &str) -> String {
        format!("({column} - ({column} % ?))")
    }

    /// Casts an aggregate to a float every driver decodes as `f64` (AVG over integers is
    /// NUMERIC in PostgreSQL and DECIMAL in MySQL).
    pub fn as_double(self, expr: &str) -> String {
        match self {
            Dialect::Sqlite => format!("CAST({expr} AS REAL)"),
            Dialect::Postgres => format!("CAST({expr} AS DOUBLE PRECISION)"),
            Dialect::Mysql => format!("CAST({expr} AS DOUBLE)"),
        }
    }

    /// Casts an aggregate to a 64-bit integer (SUM is NUMERIC/DECIMAL in PostgreSQL/MySQL).
    pub fn as_bigint(self, expr: &str) -> String {
        match self {
            Dialect::Sqlite => format!("CAST({expr} AS INTEGER)"),
            Dialect::Postgres => format!("CAST({expr} AS BIGINT)"),
            Dialect::Mysql => format!("CAST({expr} AS SIGNED)"),
        }
    }

    /// The database server's clock in epoch milliseconds: leases expire by the one clock every
    /// instance shares, whatever their own clocks say.
    pub fn now_millis(self) -> &'static str {
        match self {
            Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
            Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
            Dialect::Mysql => "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)",
        }
    }

    /// Locks the rows a SELECT reads until the transaction ends (SQLite's write transaction
    /// already holds the whole database).
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres | Dialect::Mysql => " FOR UPDATE",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_follows_the_url_scheme() {
        assert_eq!(Dialect::from_url("sqlite://data/x.db"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_url("sqlite::memory:"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_url("postgresql://a@b/c"), Some(Dialect::Postgres));
        assert_eq!(Dialect::from_url("mariadb://a@b/c"), Some(Dialect::Mysql));
        assert_eq!(Dialect::from_url("oracle://x"), None);
    }

    #[test]
    fn postgres_numbers_placeholders() {
        assert_eq!(Dialect::Postgres.sql("a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(Dialect::Mysql.sql("a = ? AND b = ?"), "a = ? AND b = ?");
        assert_eq!(
            Dialect::Postgres.multi_row_insert("INSERT INTO t (a, b) VALUES ", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
    }
}
