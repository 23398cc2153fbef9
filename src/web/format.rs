//! Numbers and times for people: `1.2k msg/s`, `12,345`, `3 min ago`, `2026-11-21 10:04:05 UTC`.
//! `now` is a field, never read from the clock here.

use std::borrow::Borrow;

use super::i18n::{Lang, Messages};
use crate::domain::Millis;
use crate::evaluator::{Drain, GroupSummary};

const DASH: &str = "–";

#[derive(Debug, Clone, Copy)]
pub struct Fmt {
    pub lang: Lang,
    pub now: Millis,
}

impl Fmt {
    pub fn new(lang: Lang, now: Millis) -> Self {
        Fmt { lang, now }
    }

    fn t(&self) -> &'static Messages {
        self.lang.messages()
    }

    /// `12,345`
    pub fn count(&self, n: impl Borrow<i64>) -> String {
        let n = *n.borrow();
        let digits = n.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if n < 0 {
            out.push('-');
        }
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        out
    }

    /// [`Fmt::count`] of an unsigned figure (RabbitMQ's counters).
    pub fn count_u64(&self, n: impl Borrow<u64>) -> String {
        self.count(i64::try_from(*n.borrow()).unwrap_or(i64::MAX))
    }

    pub fn size(&self, n: impl Borrow<usize>) -> String {
        let n = *n.borrow();
        self.count(i64::try_from(n).unwrap_or(i64::MAX))
    }

    pub fn opt_size(&self, n: impl Borrow<Option<usize>>) -> String {
        let n = *n.borrow();
        n.map_or_else(|| DASH.to_owned(), |n| self.size(n))
    }

    pub fn opt_count(&self, n: impl Borrow<Option<i64>>) -> String {
        let n = *n.borrow();
        n.map_or_else(|| DASH.to_owned(), |n| self.count(n))
    }

    pub fn opt_id(&self, n: impl Borrow<Option<i32>>) -> String {
        let n = *n.borrow();
        n.map_or_else(|| DASH.to_owned(), |n| n.to_string())
    }

    /// `950`, `1.2k`, `3.4M` in English; `950`, `1.2万`, `3.4亿` in Chinese.
    pub fn compact(&self, value: f64) -> String {
        let steps: &[(f64, &str)] = match self.lang {
            Lang::En => &[(1e9, "G"), (1e6, "M"), (1e3, "k")],
            Lang::Zh => &[(1e8, "亿"), (1e4, "万")],
        };
        for (size, suffix) in steps {
            if value.abs() >= *size {
                return format!("{}{suffix}", one_decimal(value / size));
            }
        }
        one_decimal(value)
    }

    /// `1.5 GiB`, `320.0 MiB`, `12 B`; `–` when unknown.
    pub fn bytes(&self, bytes: impl Borrow<Option<f64>>) -> String {
        let Some(bytes) = *bytes.borrow() else { return DASH.to_owned() };
        let units = [(1u64 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
        match units.iter().find(|(size, _)| bytes.abs() >= *size as f64) {
            Some((size, unit)) => format!("{:.1} {unit}", bytes / *size as f64),
            None => format!("{} B", one_decimal(bytes)),
        }
    }

    /// `1.2k msg/s`; `–` when unknown.
    pub fn rate(&self, per_sec: impl Borrow<Option<f64>>) -> String {
        let per_sec = *per_sec.borrow();
        match per_sec {
            Some(v) => format!("{} {}", self.compact(v), self.t().rate_unit),
            None => DASH.to_owned(),
        }
    }

    /// How fast a lag grows: `+12.5 msg/s`, `−3 msg/s` while it drains; `–` when unknown.
    pub fn trend(&self, per_sec: impl Borrow<Option<f64>>) -> String {
        match *per_sec.borrow() {
            Some(v) if v > 0.0 => format!("+{}", self.rate(Some(v))),
            Some(v) if v < 0.0 => format!("−{}", self.rate(Some(-v))),
            Some(_) => self.rate(Some(0.0)),
            None => DASH.to_owned(),
        }
    }

    /// `96 % used · lost in ~12 min`, `100 % used · 1,500 lost unread`, `12 % used`; `–` when the
    /// log start is not known.
    pub fn retention(&self, risk: &crate::evaluator::RetentionRisk) -> String {
        let t = self.t();
        let Some(share) = risk.used_pct else { return DASH.to_owned() };
        let share = Messages::fill(t.retention_used, &[("pct", &format!("{share:.0}"))]);
        if risk.lost > 0 {
            let lost = self.count(risk.lost);
            return format!("{share} · {}", Messages::fill(t.retention_lost, &[("count", &lost)]));
        }
        match risk.loss_eta_seconds {
            Some(eta) => {
                let eta = self.span(Some(eta));
                format!("{share} · {}", Messages::fill(t.retention_eta, &[("eta", &eta)]))
            }
            None => share,
        }
    }

    /// `passes 10,000 (billing-lag) in about 12 min`, or `past 10,000 (billing-lag)` already.
    pub fn forecast(&self, forecast: &crate::query::LagForecast) -> String {
        let t = self.t();
        let threshold = self.count(forecast.threshold.round() as i64);
        let template = if forecast.passes_in <= 0.0 { t.forecast_past } else { t.forecast_passes };
        let eta = self.span(Some(forecast.passes_in));
        Messages::fill(
            template,
            &[("threshold", &threshold), ("rule", &forecast.rule), ("eta", &eta)],
        )
    }

    /// `3 min ago`; `never` when unknown.
    pub fn ago(&self, at: impl Borrow<Option<Millis>>) -> String {
        let at = *at.borrow();
        let t = self.t();
        let Some(at) = at else {
            return t.never.to_owned();
        };
        let secs = (self.now - at).max(0) / 1000;
        let (template, n) = match secs {
            0..5 => return t.just_now.to_owned(),
            5..120 => (t.seconds_ago, secs),
            120..7200 => (t.minutes_ago, secs / 60),
            7200..172_800 => (t.hours_ago, secs / 3600),
            _ => (t.days_ago, secs / 86_400),
        };
        Messages::fill(template, &[("n", &n.to_string())])
    }

    /// `120 ms`, `2.5 s`
    pub fn millis(&self, ms: impl Borrow<Option<u64>>) -> String {
        let ms = *ms.borrow();
        match ms {
            None => DASH.to_owned(),
            Some(ms) if ms < 1000 => format!("{ms} ms"),
            Some(ms) => format!("{} s", one_decimal(ms as f64 / 1000.0)),
        }
    }

    pub fn seconds(&self, secs: impl Borrow<u64>) -> String {
        let secs = *secs.borrow();
        humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
    }

    /// A span of seconds for people: `42 s`, `3 min 20 s`, `2 h 5 min`, `3 d 4 h`; `–` when unknown.
    pub fn span(&self, secs: impl Borrow<Option<f64>>) -> String {
        let Some(secs) = *secs.borrow() else { return DASH.to_owned() };
        let secs = secs.max(0.0).round() as u64;
        let (units, zh) = (["d", "h", "min", "s"], ["天", "小时", "分", "秒"]);
        let parts = [secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60, secs % 60];
        let first = parts.iter().position(|&p| p > 0).unwrap_or(3);
        parts[first..]
            .iter()
            .zip(first..)
            .take(2)
            .filter(|(value, i)| **value > 0 || *i == first)
            .map(|(value, i)| match self.lang {
                Lang::En => format!("{value} {}", units[i]),
                Lang::Zh => format!("{value} {}", zh[i]),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `2026-11-21 10:04:05 UTC`
    pub fn time(&self, at: impl Borrow<Option<Millis>>) -> String {
        let at = *at.borrow();
        at.map_or_else(|| self.t().never.to_owned(), utc_text)
    }

    /// [`Fmt::time`] of a time that is always known.
    pub fn at(&self, at: impl Borrow<Millis>) -> String {
        utc_text(*at.borrow())
    }

    /// [`Fmt::ago`] of a time that is always known.
    pub fn ago_at(&self, at: impl Borrow<Millis>) -> String {
        self.ago(Some(*at.borrow()))
    }

    /// "The figures below are from the last good poll, <time>."
    pub fn data_from(&self, at: impl Borrow<Option<Millis>>) -> String {
        Messages::fill(self.t().showing_data_from, &[("when", &self.time(at))])
    }

    pub fn percent(&self, value: impl Borrow<Option<f64>>) -> String {
        let value = *value.borrow();
        value.map_or_else(|| DASH.to_owned(), |v| format!("{}%", one_decimal(v)))
    }

    /// A group's time to drain, by the evaluator's [`Drain`]: `0 s` without backlog, the span
    /// while draining, "not draining" when the backlog does not shrink, `–` before the rates are
    /// known. The same text on every page; never guessed from the status.
    pub fn drain(&self, summary: &GroupSummary) -> String {
        match summary.drain {
            Drain::Drained => self.span(Some(0.0)),
            Drain::Draining => self.span(summary.drain_seconds),
            Drain::NotDraining => self.t().never_drains.to_owned(),
            Drain::Unknown => DASH.to_owned(),
        }
    }

    /// The Kafka release of a `metadata.version` or `inter.broker.protocol.version` (`4.1`).
    pub fn kafka_release<'v>(&self, version: &'v str) -> &'v str {
        crate::domain::kraft::release_of(version)
    }

    /// What a topic config's raw value means, for people: `9223372036854775807` → unlimited;
    /// `*.ms` → a duration (`-1` forever); `*.bytes` → a size (`-1` unlimited). `None` for any
    /// other config or a value that is not such a number.
    pub fn config_hint(&self, name: &str, value: &str) -> Option<String> {
        let t = self.t();
        let value = value.trim();
        if value == i64::MAX.to_string() {
            return Some(t.config_unlimited.to_owned());
        }
        if name.ends_with(".ms") {
            return match value.parse::<i64>().ok()? {
                -1 => Some(t.config_forever.to_owned()),
                ms if ms < 0 => None,
                // Under a minute and not whole seconds: `120 ms`, `1.5 s`.
                ms if ms < 1_000 || (ms < 60_000 && ms % 1_000 != 0) => {
                    Some(self.millis(Some(ms as u64)))
                }
                ms => Some(self.span(Some(ms as f64 / 1000.0))),
            };
        }
        if name.ends_with(".bytes") {
            return match value.parse::<i64>().ok()? {
                -1 => Some(t.config_unlimited.to_owned()),
                bytes if bytes < 0 => None,
                bytes => Some(self.bytes(Some(bytes as f64))),
            };
        }
        None
    }
}

/// One decimal, dropped when it is zero or the number is large: `1.2`, `15`, `950`.
fn one_decimal(value: f64) -> String {
    if value.abs() >= 100.0 || (value.fract() * 10.0).round() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

pub use crate::clock::utc_text;

/// Bytes as text, pretty JSON (when they are JSON) or hex; long values are cut for the page.
pub fn show_bytes(bytes: &[u8], how: &str) -> String {
    const SHOWN: usize = 16 * 1024;
    let cut = &bytes[..bytes.len().min(SHOWN)];
    let mut out = match how {
        "hex" => cut
            .chunks(16)
            .map(|row| row.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n"),
        "json" => serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| String::from_utf8_lossy(cut).into_owned()),
        _ => String::from_utf8_lossy(cut).into_owned(),
    };
    if bytes.len() > SHOWN && how != "json" {
        out.push_str(&format!("\n… ({} bytes in all)", bytes.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_795_000_000_000;

    fn en() -> Fmt {
        Fmt::new(Lang::En, NOW)
    }

    fn zh() -> Fmt {
        Fmt::new(Lang::Zh, NOW)
    }

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(en().count(0), "0");
        assert_eq!(en().count(999), "999");
        assert_eq!(en().count(12_345), "12,345");
        assert_eq!(en().count(-1_234_567), "-1,234,567");
    }

    #[test]
    fn rates_are_compact_per_language() {
        assert_eq!(en().rate(Some(0.0)), "0 msg/s");
        assert_eq!(en().rate(Some(2.25)), "2.2 msg/s");
        assert_eq!(en().rate(Some(1_234.0)), "1.2k msg/s");
        assert_eq!(en().rate(Some(3_400_000.0)), "3.4M msg/s");
        assert_eq!(en().rate(None), "–");
        assert_eq!(zh().rate(Some(12_345.0)), "1.2万 条/秒");
        assert_eq!(zh().rate(Some(950.0)), "950 条/秒");
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(en().ago(Some(NOW - 1_000)), "just now");
        assert_eq!(en().ago(Some(NOW - 30_000)), "30 s ago");
        assert_eq!(en().ago(Some(NOW - 180_000)), "3 min ago");
        assert_eq!(en().ago(Some(NOW - 3 * 3_600_000)), "3 h ago");
        assert_eq!(en().ago(Some(NOW - 3 * 86_400_000)), "3 d ago");
        assert_eq!(zh().ago(Some(NOW - 180_000)), "3 分钟前");
        assert_eq!(en().ago(None), "never");
    }

    #[test]
    fn utc_times() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_text(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_text(1_795_000_000_000), "2026-11-18 11:06:40 UTC");
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(en().span(Some(42.4)), "42 s");
        assert_eq!(en().span(Some(200.0)), "3 min 20 s");
        assert_eq!(en().span(Some(7_500.0)), "2 h 5 min");
        assert_eq!(en().span(Some(7_200.0)), "2 h");
        assert_eq!(en().span(Some(0.0)), "0 s");
        assert_eq!(zh().span(Some(90_000.0)), "1 天 1 小时");
        assert_eq!(en().span(None), "–");
    }

    fn summary(lag: i64, drain: Drain, drain_seconds: Option<f64>) -> GroupSummary {
        GroupSummary {
            retention: Default::default(),
            lag_trend_per_sec: None,
            name: "billing".into(),
            state: "Stable".into(),
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            group_type: None,
            coordinator: Some(1),
            members: 1,
            status: crate::evaluator::PartitionStatus::Ok,
            status_thin: false,
            lag,
            max_lag: lag,
            lag_seconds: None,
            lag_seconds_floor: false,
            consume_per_sec: None,
            produce_per_sec: None,
            drain_seconds,
            drain,
            offsets_error: None,
        }
    }

    #[test]
    fn the_time_to_drain_reads_from_the_evaluators_drain_alone() {
        assert_eq!(en().drain(&summary(0, Drain::Drained, Some(0.0))), "0 s");
        assert_eq!(en().drain(&summary(1_500, Drain::Draining, Some(200.0))), "3 min 20 s");
        assert_eq!(en().drain(&summary(1_500, Drain::NotDraining, None)), "not draining");
        assert_eq!(zh().drain(&summary(1_500, Drain::NotDraining, None)), "未在减少");
        assert_eq!(en().drain(&summary(1_500, Drain::Unknown, None)), "–");
    }

    #[test]
    fn an_ok_group_that_falls_behind_reads_not_draining_like_any_other() {
        let mut ok = summary(1_500, Drain::NotDraining, None);
        let mut stopped = ok.clone();
        stopped.status = crate::evaluator::PartitionStatus::Stop;
        assert_eq!(en().drain(&ok), en().drain(&stopped));
        ok.drain = Drain::Unknown;
        assert_eq!(en().drain(&ok), "–", "unknown rates are not \"not draining\"");
    }

    #[test]
    fn the_largest_long_in_any_config_reads_unlimited() {
        assert_eq!(en().config_hint("retention.ms", "9223372036854775807").unwrap(), "unlimited");
        assert_eq!(
            en().config_hint("max.compaction.lag.ms", "9223372036854775807").unwrap(),
            "unlimited"
        );
        assert_eq!(en().config_hint("some.count", "9223372036854775807").unwrap(), "unlimited");
        assert_eq!(zh().config_hint("retention.bytes", "9223372036854775807").unwrap(), "无限制");
    }

    #[test]
    fn millisecond_configs_read_as_durations_and_minus_one_as_forever() {
        assert_eq!(en().config_hint("retention.ms", "604800000").unwrap(), "7 d");
        assert_eq!(en().config_hint("segment.ms", "90000000").unwrap(), "1 d 1 h");
        assert_eq!(en().config_hint("file.delete.delay.ms", "60000").unwrap(), "1 min");
        assert_eq!(en().config_hint("flush.ms", "30000").unwrap(), "30 s");
        assert_eq!(en().config_hint("flush.ms", "1500").unwrap(), "1.5 s");
        assert_eq!(en().config_hint("segment.jitter.ms", "0").unwrap(), "0 ms");
        assert_eq!(zh().config_hint("retention.ms", "604800000").unwrap(), "7 天");
        assert_eq!(en().config_hint("retention.ms", "-1").unwrap(), "forever");
        assert_eq!(zh().config_hint("retention.ms", "-1").unwrap(), "永久");
        assert_eq!(en().config_hint("local.retention.ms", "-2"), None, "-2 means: as retention.ms");
        assert_eq!(en().config_hint("retention.ms", "soon"), None);
    }

    #[test]
    fn byte_configs_read_as_sizes_and_minus_one_as_unlimited() {
        assert_eq!(en().config_hint("segment.bytes", "1073741824").unwrap(), "1.0 GiB");
        assert_eq!(en().config_hint("max.message.bytes", "1048588").unwrap(), "1.0 MiB");
        assert_eq!(en().config_hint("retention.bytes", "-1").unwrap(), "unlimited");
        assert_eq!(en().config_hint("local.retention.bytes", "-2"), None);
    }

    #[test]
    fn other_configs_have_no_hint() {
        assert_eq!(en().config_hint("cleanup.policy", "delete"), None);
        assert_eq!(en().config_hint("min.insync.replicas", "2"), None);
        assert_eq!(en().config_hint("message.timestamp.type", "CreateTime"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(en().millis(Some(120)), "120 ms");
        assert_eq!(en().millis(Some(2_500)), "2.5 s");
        assert_eq!(en().seconds(10), "10s");
    }
}
