//! Values that may hold credentials: [`Secret`] (redacted in `Debug` and logs) and `${NAME}`
//! references to the process environment, resolved only when a value is used.

use std::fmt;

use serde::Deserialize;

/// What is shown in place of a credential.
pub const REDACTED: &str = "<redacted>";

/// The variable names of every `${NAME}` in `text`.
pub fn env_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                names.push(after[..end].to_owned());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    names
}

/// Replaces every `${NAME}` in `text` with `lookup(NAME)`; names the first variable missing.
pub fn interpolate(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        let value =
            lookup(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A string that may hold a credential (a database URL with a password). `Debug` and
/// [`Secret::redacted`] hide the password; [`Secret::expose`] is the only way to the real value.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value with the password part of a URL replaced, safe to log and print.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut parsed) if parsed.password().is_some() => {
                let _ = parsed.set_password(Some(REDACTED));
                parsed.to_string()
            }
            _ => self.0.clone(),
        }
    }
}

impl fmt::Debug for Secret {
    /// A URL with a password shows with the password hidden; another URL shows only its scheme
    /// and host (a webhook's path or query may be its token); anything else may be a key or a
    /// password and shows as `<redacted>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = match url::Url::parse(&self.0) {
            Ok(parsed) if parsed.password().is_some() => self.redacted(),
            Ok(parsed) if parsed.host_str().is_some_and(|h| !h.is_empty()) => {
                format!("{}://{}/…", parsed.scheme(), parsed.host_str().unwrap_or_default())
            }
            _ => REDACTED.to_owned(),
        };
        write!(f, "{shown:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_a_secret() {
        let cases = [
            ("hunter2", "hunter2"),
            ("postgres://osprey:pg-pass@db:5432/osprey", "pg-pass"),
            ("https://hooks.slack.com/services/T000/B000/XXXXSECRET", "XXXXSECRET"),
            ("https://example.com/hook?token=tok-123", "tok-123"),
        ];
        for (value, secret) in cases {
            let shown = format!("{:?}", Secret::new(value));
            assert!(!shown.contains(secret), "{shown}");
        }
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "\"<redacted>\"");
        let db = format!("{:?}", Secret::new("postgres://osprey:pg-pass@db:5432/osprey"));
        assert!(db.contains("db:5432"), "where it points stays readable: {db}");
    }

    #[test]
    fn interpolation_reads_variables_and_names_the_missing_one() {
        let lookup = |n: &str| (n == "A").then(|| "1".to_string());
        assert_eq!(interpolate("x${A}y${A}", lookup), Ok("x1y1".into()));
        assert_eq!(interpolate("plain", lookup), Ok("plain".into()));
        assert_eq!(interpolate("${B}", lookup), Err("environment variable B is not set".into()));
        assert_eq!(env_names("${A}:${B}"), ["A", "B"]);
    }
}
