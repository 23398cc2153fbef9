//! Durations as people write them in config files, forms and messages: `"10s"`, `"5m"`,
//! `"1h 30m"`, `"7d"` ⇄ [`Duration`], with serde adapters for both directions.
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(de)?;
    parse(&text).map_err(serde::de::Error::custom)
}

pub fn serialize<S: Serializer>(duration: &Duration, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(&format(*duration))
}

/// The same for an optional duration.
pub mod option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(de)?
            .map(|text| super::parse(&text).map_err(serde::de::Error::custom))
            .transpose()
    }

    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        ser: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(d) => ser.serialize_str(&super::format(*d)),
            None => ser.serialize_none(),
        }
    }
}

/// The duration in the largest unit that divides it: `365d`, `10m`, `90s`, `250ms`.
pub fn format(duration: Duration) -> String {
    let ms = duration.as_millis();
    let units = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s")];
    match units.iter().find(|(size, _)| ms >= *size && ms.is_multiple_of(*size)) {
        Some((size, unit)) => format!("{}{unit}", ms / size),
        None => format!("{ms}ms"),
    }
}

pub fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{text:?} is not a duration like \"10s\", \"5m\" or \"7d\" ({e})"))
}
