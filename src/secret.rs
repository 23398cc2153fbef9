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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_reads_variables_and_names_the_missing_one() {
        let lookup = |n: &str| (n == "A").then(|| "1".to_string());
        assert_eq!(interpolate("x${A}y${A}", lookup), Ok("x1y1".into()));
        assert_eq!(interpolate("plain", lookup), Ok("plain".into()));
        assert_eq!(interpolate("${B}", lookup), Err("environment variable B is not set".into()));
        assert_eq!(env_names("${A}:${B}"), ["A", "B"]);
    }
}
