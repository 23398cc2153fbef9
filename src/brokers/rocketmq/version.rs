//! RocketMQ's version numbers as its users read them: clients report the ordinal of Java's
//! `MQVersion.Version` enum (513), dashboards show its name (`V5_5_0`).

/// The first sixteen names, from before the enum settled into a pattern.
const EARLY: [&str; 16] = [
    "V3_0_0_SNAPSHOT",
    "V3_0_0_ALPHA1",
    "V3_0_0_BETA1",
    "V3_0_0_BETA2",
    "V3_0_0_BETA3",
    "V3_0_0_BETA4",
    "V3_0_0_BETA5",
    "V3_0_0_BETA6_SNAPSHOT",
    "V3_0_0_BETA6",
    "V3_0_0_BETA7_SNAPSHOT",
    "V3_0_0_BETA7",
    "V3_0_0_BETA8_SNAPSHOT",
    "V3_0_0_BETA8",
    "V3_0_0_BETA9_SNAPSHOT",
    "V3_0_0_BETA9",
    "V3_0_0_FINAL",
];

/// The enum name of version ordinal `ordinal`, or `None` past the enum's end (a client newer
/// than the enum Osprey knows). After [`EARLY`], each release has a `_SNAPSHOT` entry and then its
/// own, in order: 3.0.1–3.0.15, 3.1.0–3.2.9, 3.3.1–3.9.9 (no x.x.0 there), then 4.0.0–5.9.9;
/// `HIGHER_VERSION` closes the list.
pub fn version_name(ordinal: i64) -> Option<String> {
    let index = usize::try_from(ordinal).ok()?;
    if let Some(name) = EARLY.get(index) {
        return Some((*name).to_owned());
    }
    let (release, snapshot) = ((index - EARLY.len()) / 2, index % 2 == 0);
    let (major, minor, patch) = match release {
        0..=14 => (3, 0, release + 1),
        15..=34 => (3, 1 + (release - 15) / 10, (release - 15) % 10),
        35..=97 => (3, 3 + (release - 35) / 9, 1 + (release - 35) % 9),
        98..=297 => (4 + (release - 98) / 100, (release - 98) / 10 % 10, (release - 98) % 10),
        // The one entry after 5.9.9's pair.
        298 if index == EARLY.len() + 2 * 298 => return Some("HIGHER_VERSION".into()),
        _ => return None,
    };
    let suffix = if snapshot { "_SNAPSHOT" } else { "" };
    Some(format!("V{major}_{minor}_{patch}{suffix}"))
}

/// A client's version as shown: the enum name for a number Osprey knows, else as reported.
pub fn version_text(reported: &serde_json::Value) -> String {
    match reported {
        serde_json::Value::Number(n) => {
            n.as_i64().and_then(version_name).unwrap_or_else(|| n.to_string())
        }
        other => super::poll::text_of(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_name_the_same_versions_as_javas_enum() {
        // Pinned against `MQVersion.Version.values()` of rocketmq-common 5.5.0.
        let java = [
            (0, "V3_0_0_SNAPSHOT"),
            (7, "V3_0_0_BETA6_SNAPSHOT"),
            (15, "V3_0_0_FINAL"),
            (16, "V3_0_1_SNAPSHOT"),
            (17, "V3_0_1"),
            (45, "V3_0_15"),
            (46, "V3_1_0_SNAPSHOT"),
            (85, "V3_2_9"),
            (86, "V3_3_1_SNAPSHOT"),
            (87, "V3_3_1"),
            (211, "V3_9_9"),
            (212, "V4_0_0_SNAPSHOT"),
            (401, "V4_9_4"),
            (513, "V5_5_0"),
            (611, "V5_9_9"),
            (612, "HIGHER_VERSION"),
        ];
        for (ordinal, name) in java {
            assert_eq!(version_name(ordinal).as_deref(), Some(name), "{ordinal}");
        }
        assert_eq!(version_name(613), None);
        assert_eq!(version_name(-1), None);
    }

    #[test]
    fn reported_versions_show_as_names_or_as_they_came() {
        assert_eq!(version_text(&serde_json::json!(513)), "V5_5_0");
        assert_eq!(version_text(&serde_json::json!(9000)), "9000");
        assert_eq!(version_text(&serde_json::json!("V5_5_0")), "V5_5_0");
        assert_eq!(version_text(&serde_json::Value::Null), "");
    }
}
