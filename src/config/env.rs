//! `OSPREY__SECTION__KEY` environment variables laid over the file's TOML before it is read.

use super::*;

/// Applies `OSPREY__A__B=value` as `a.b = value`; a numeric segment indexes an array
/// (`OSPREY__CLUSTERS__0__NAME`). The value is read as a TOML value when it is one
/// (`8`, `true`), else as a string (`10s`, `127.0.0.1:8048`).
pub(super) fn apply_env_overrides(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let mut vars: Vec<(String, String)> =
        env.into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect();
    vars.sort();
    for (name, raw) in vars {
        let path: Vec<String> =
            name[ENV_PREFIX.len()..].split("__").map(|s| s.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) {
            return Err(key_error(name, "empty segment in variable name"));
        }
        let value = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(raw));
        set_path(table, &path, value).map_err(|message| key_error(name, message))?;
    }
    Ok(())
}

pub(super) fn set_path(
    table: &mut toml::Table,
    path: &[String],
    value: toml::Value,
) -> Result<(), String> {
    let (first, rest) = path.split_first().ok_or("empty path")?;
    if rest.is_empty() {
        table.insert(first.clone(), value);
        return Ok(());
    }
    let slot = table.entry(first.clone()).or_insert_with(|| new_container(&rest[0]));
    set_in_value(slot, rest, value)
}

pub(super) fn new_container(next_segment: &str) -> toml::Value {
    if next_segment.parse::<usize>().is_ok() {
        toml::Value::Array(Vec::new())
    } else {
        toml::Value::Table(toml::Table::new())
    }
}

pub(super) fn set_in_value(
    slot: &mut toml::Value,
    path: &[String],
    value: toml::Value,
) -> Result<(), String> {
    match slot {
        toml::Value::Table(t) => set_path(t, path, value),
        toml::Value::Array(items) => {
            let (index, rest) = path.split_first().ok_or("empty path")?;
            let index: usize =
                index.parse().map_err(|_| format!("{index:?} is not an array index"))?;
            if index > items.len() {
                return Err(format!("index {index} skips entries (there are {})", items.len()));
            }
            if index == items.len() {
                items.push(match rest.first() {
                    Some(next) => new_container(next),
                    None => value.clone(),
                });
            }
            if rest.is_empty() {
                items[index] = value;
                Ok(())
            } else {
                set_in_value(&mut items[index], rest, value)
            }
        }
        _ => Err("overrides a plain value with a table".into()),
    }
}
