//! The commented rendering of a configuration (`print-config`, `osprey.example.toml`): every
//! key with its value and a comment, credentials redacted, derived values commented out.

use super::*;

impl Config {
    /// The configuration shipped as `osprey.example.toml`: defaults plus one local cluster.
    pub fn example() -> Config {
        Config {
            clusters: vec![ClusterConfig::kafka("local", "127.0.0.1:9092")],
            ..Config::default()
        }
    }

    /// Every key with its value and a comment, as TOML that [`Config::load`] reads back.
    /// Credentials are redacted.
    pub fn render_commented(&self) -> String {
        let mut out = String::new();
        let mut line = |s: &str| {
            out.push_str(s);
            out.push('\n');
        };
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let d = |d: Duration| q(&duration_text::format(d));
        line("# Osprey configuration. Every key may be overridden by an environment variable:");
        line(
            "# OSPREY__SECTION__KEY, e.g. OSPREY__SERVER__LISTEN or OSPREY__CLUSTERS__0__POLL_INTERVAL.",
        );
        line("");
        line("[server]");
        line("# Address the web server binds (pages, /api/v1, /healthz, /readyz).");
        line(&format!("listen = {}", q(&self.server.listen.to_string())));
        line("# Longest time one HTTP request may take.");
        line(&format!("request_timeout = {}", d(self.server.request_timeout)));
        line(
            "# Serve /static from this folder instead of the files built into the binary (UI work).",
        );
        match &self.server.static_dir {
            Some(dir) => line(&format!("static_dir = {}", q(&dir.display().to_string()))),
            None => line("# static_dir = \"static\""),
        }
        line("");
        line("[database]");
        line(
            "# History store: sqlite://PATH (created if missing), postgres://USER:PASS@HOST/DB or",
        );
        line("# mysql://USER:PASS@HOST/DB (MySQL or MariaDB). Migrations run at start-up.");
        line(&format!("url = {}", q(&self.database.url.redacted())));
        line("# Connections in the pool.");
        line(&format!("max_connections = {}", self.database.max_connections));
        line("");
        line("[history]");
        line(
            "# History is kept per poll, then rolled up into 1-minute and 1-hour buckets; each level",
        );
        line(
            "# has its own retention. Charts read per-poll samples for 1 h, 1-minute rollups for 24 h and",
        );
        line("# 1-hour rollups for 7 d.");
        line(
            "# How long per-poll samples are kept. On PostgreSQL sample tables lose whole days, so up",
        );
        line("# to a day more is kept.");
        line(&format!("retention = {}", d(self.history.retention)));
        line("# How long 1-minute rollups (and per-topic samples) are kept.");
        line(&format!("minute_retention = {}", d(self.history.minute_retention)));
        line("# How long 1-hour rollups are kept.");
        line(&format!("hour_retention = {}", d(self.history.hour_retention)));
        line("# How often per-topic samples (end offsets, messages/s) are written.");
        line(&format!("topic_sample_interval = {}", d(self.history.topic_sample_interval)));
        line("# How long audit-log entries are kept.");
        line(&format!("audit_retention = {}", d(self.history.audit_retention)));
        line("");
        line("[lag]");
        line(
            "# Consumer-group status (OK, WARN, STALL, STOP, REWIND) looks back this far; a group whose",
        );
        line(
            "# committed offsets stand still this long while it lags is STALL (a consumer owns the",
        );
        line("# partition) or STOP (none does).");
        line(&format!("window = {}", d(self.lag.window)));
        line(
            "# Fewest polls in the window before WARN, STALL or STOP can be raised (thin data is OK).",
        );
        line(&format!("min_samples = {}", self.lag.min_samples));
        line(
            "# How often each group partition's lag goes to history (group totals go every poll).",
        );
        line(&format!("partition_sample_interval = {}", d(self.lag.partition_sample_interval)));
        line("");
        self.render_auth(&mut line);
        line("");
        line("[scale_out]");
        line(
            "# Several instances on one PostgreSQL or MySQL/MariaDB database: each cluster is polled,",
        );
        line(
            "# and its alerts evaluated, by one instance under a lease; every instance serves every",
        );
        line("# page. Not with SQLite (one instance per file).");
        line(&format!("enabled = {}", self.scale_out.enabled));
        line("# This instance's name on the Instances page (default: host name and port).");
        match &self.scale_out.name {
            Some(name) => line(&format!("name = {}", q(name))),
            None => line("# name = \"osprey-1\""),
        }
        line("# Where this instance's pages are reached (default: http:// and server.listen).");
        match &self.scale_out.advertise_url {
            Some(url) => line(&format!("advertise_url = {}", q(url))),
            None => line("# advertise_url = \"http://osprey-1.internal:8048\""),
        }
        line(
            "# How long a lease lasts unrenewed: a stopped instance's clusters move to the others",
        );
        line(
            "# within about 1.25 times this plus one poll; keep it at most the shortest poll_interval.",
        );
        line(&format!("lease_ttl = {}", d(self.scale_out.lease_ttl)));
        line("");
        self.render_alerts(&mut line);
        for cluster in &self.clusters {
            line("");
            line("[[clusters]]");
            line("# Short name used in URLs: letters, digits, '.', '_' and '-'.");
            line(&format!("name = {}", q(&cluster.name)));
            line("# kafka, rabbitmq, rocketmq, beanstalkd, gearman or activemq.");
            line(&format!("kind = {}", q(cluster.kind().as_str())));
            cluster.connection.render_keys(&mut line);
            line("# Time between two polls; missed ticks are skipped, never queued.");
            line(&format!("poll_interval = {}", d(cluster.poll_interval)));
            line("# A poll that takes longer fails; the cluster is then shown as unreachable.");
            line("# Unset, it follows poll_interval: 80 % of it, at most 8s. The first poll");
            line("# may take 8 times as long (a big cluster's first poll is its slowest), and");
            line("# after a slow poll the next may take twice as long as it did, within that.");
            let derived = cluster.poll_timeout == defaults::poll_timeout_for(cluster.poll_interval);
            line(&unless_derived(derived, format!("poll_timeout = {}", d(cluster.poll_timeout))));
            line("# How often topic configurations are re-read.");
            line(&format!("config_refresh_interval = {}", d(cluster.config_refresh_interval)));
            line(
                "# Refuse every change to this cluster from Osprey (sends, resets, topic changes).",
            );
            line(&format!("read_only = {}", cluster.read_only));
            line(
                "# JMX-like broker metrics over HTTP, per broker id: a Prometheus endpoint (the JMX",
            );
            line(
                "# exporter agent; RabbitMQ's prometheus plugin per node name) or a Jolokia agent.",
            );
            let table = |urls: &BTreeMap<String, String>| {
                let entries: Vec<String> =
                    urls.iter().map(|(id, url)| format!("{} = {}", q(id), q(url))).collect();
                format!("{{ {} }}", entries.join(", "))
            };
            if cluster.metrics_urls.is_empty() {
                line("# metrics_urls = { \"1\" = \"http://b1:7071/metrics\" }");
            } else {
                line(&format!("metrics_urls = {}", table(&cluster.metrics_urls)));
            }
            if cluster.jolokia_urls.is_empty() {
                line("# jolokia_urls = { \"1\" = \"http://b1:8778/jolokia/\" }");
            } else {
                line(&format!("jolokia_urls = {}", table(&cluster.jolokia_urls)));
            }
            cluster.connection.render_tables(&mut line);
            cluster.canary.render(&mut line);
        }
        out
    }
}

impl Config {
    pub(super) fn render_auth(&self, line: &mut impl FnMut(&str)) {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let d = |d: Duration| q(&duration_text::format(d));
        let auth = &self.auth;
        let secret = |s: &Secret| {
            let text = s.expose();
            if text.trim().starts_with("${") { q(text) } else { q(REDACTED) }
        };
        line("[auth]");
        line("# Roles: viewer (reads), operator (sends test messages, browses, resets offsets,");
        line(
            "# silences alerts), admin (creates and deletes, configures alerting, manages users).",
        );
        line("# Let visitors who are not logged in read the pages and the read-only API.");
        line(&format!("anonymous_read = {}", auth.anonymous_read));
        line("# A login lasts this long without being used.");
        line(&format!("session_ttl = {}", d(auth.session_ttl)));
        line("# ... and this long at most, however often it is used.");
        line(&format!("session_max_age = {}", d(auth.session_max_age)));
        line(
            "# With no user yet, Osprey creates this admin at start-up; without it, the log prints a",
        );
        line("# one-time setup link for the first admin. There is no default password.");
        match &auth.initial_admin {
            Some(name) => line(&format!("initial_admin = {}", q(name))),
            None => line("# initial_admin = \"admin\""),
        }
        match &auth.initial_admin_password {
            Some(password) => line(&format!("initial_admin_password = {}", secret(password))),
            None => line("# initial_admin_password = \"${OSPREY_ADMIN_PASSWORD}\""),
        }
        line("# Prometheus may scrape /metrics with this bearer token when reading needs a login.");
        match &auth.metrics_token {
            Some(token) => line(&format!("metrics_token = {}", secret(token))),
            None => line("# metrics_token = \"${OSPREY_METRICS_TOKEN}\""),
        }
        line("# After this many failed logins for one user from one address, further attempts are");
        line("# refused for login_lockout.");
        line(&format!("max_login_failures = {}", auth.max_login_failures));
        line(&format!("login_lockout = {}", d(auth.login_lockout)));
        line(
            "# Failed logins for one user from all addresses together before it is locked the same way.",
        );
        line(&format!("max_account_failures = {}", auth.max_account_failures));
        line("# Reverse proxies in front of Osprey (addresses or CIDR ranges). Only requests from");
        line(
            "# them have the client's address read from X-Forwarded-For (for the login throttle and",
        );
        line("# the audit log); otherwise a forwarded address is ignored.");
        let proxies: Vec<String> = auth.trusted_proxies.iter().map(|p| q(p)).collect();
        line(&format!("trusted_proxies = [{}]", proxies.join(", ")));
    }

    pub(super) fn render_alerts(&self, line: &mut impl FnMut(&str)) {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let d = |d: Duration| q(&duration_text::format(d));
        let alerts = &self.alerts;
        line("[alerts]");
        line(
            "# Osprey's address as readers of a notice reach it; notices link to the group's page.",
        );
        match &alerts.public_url {
            Some(url) => line(&format!("public_url = {}", q(url))),
            None => line("# public_url = \"https://osprey.example.com\""),
        }
        line("# A failed delivery is retried after retry_initial, doubling up to retry_max, until");
        line(
            "# give_up_after has passed since the notice; every attempt is shown on the Alerts page.",
        );
        line(&format!("retry_initial = {}", d(alerts.retry_initial)));
        line("# Unset, retry_max is 10m, or retry_initial when that is longer.");
        let derived = alerts.retry_max == defaults::retry_max_for(alerts.retry_initial);
        line(&unless_derived(derived, format!("retry_max = {}", d(alerts.retry_max))));
        line(&format!("give_up_after = {}", d(alerts.give_up_after)));
        line(
            "# Webhooks and SMTP relays must resolve to public addresses; set this to let notices",
        );
        line("# reach loopback, private and link-local ones (a relay inside the network).");
        line(&format!("allow_private_targets = {}", alerts.allow_private_targets));
        line(
            "# Notices are grouped per rule and cluster (and the labels group_by adds: group, topic,",
        );
        line(
            "# broker, queue, node; \"subject\" for none): a group's first notice waits group_wait,",
        );
        line("# later ones are batched every group_interval. A rule may set its own.");
        let by: Vec<String> = alerts.group_by.iter().map(|l| q(l)).collect();
        line(&format!("group_by = [{}]", by.join(", ")));
        line(&format!("group_wait = {}", d(alerts.group_wait)));
        line(&format!("group_interval = {}", d(alerts.group_interval)));
        if alerts.inhibit.is_empty() {
            line("# No inhibition: every alert is told even while the one explaining it fires.");
            line("inhibit = []");
        }
        line("#");
        line(
            "# Channels and rules below are written to the database at start-up and can be edited",
        );
        line(
            "# in the UI; a later change here wins over an edit made in the UI. Any string may read",
        );
        line(
            "# an environment variable as ${NAME} (at each delivery; never stored in the database).",
        );
        line("# Channels made in the UI or the API may read only the variables listed here.");
        let names: Vec<String> = alerts.env_allowlist.iter().map(|n| q(n)).collect();
        line(&format!("env_allowlist = [{}]", names.join(", ")));
        line("#");
        if !alerts.inhibit.is_empty() {
            line(
                "# While an alert of kind `source` fires, alerts of the `targets` kinds (empty: all)",
            );
            line(
                "# sharing the `equal` labels are held back and end silently if they clear meanwhile.",
            );
        }
        for inhibit in &alerts.inhibit {
            line("[[alerts.inhibit]]");
            render_entry(line, inhibit);
        }
        if alerts.mute_windows.is_empty() && alerts.routes.is_empty() {
            for example in EXAMPLE_ROUTES.lines() {
                line(format!("# {example}").trim_end());
            }
        }
        for window in &alerts.mute_windows {
            line("[[alerts.mute_windows]]");
            render_entry(line, window);
        }
        for route in &alerts.routes {
            line("[[alerts.routes]]");
            render_entry(line, route);
        }
        if alerts.channels.is_empty() {
            for example in EXAMPLE_CHANNELS.lines() {
                line(format!("# {example}").trim_end());
            }
        }
        for channel in &alerts.channels {
            line("[[alerts.channels]]");
            render_entry(line, &channel.redacted());
        }
        if alerts.rules.is_empty() {
            for example in EXAMPLE_RULES.lines() {
                line(format!("# {example}").trim_end());
            }
        }
        for rule in &alerts.rules {
            line("[[alerts.rules]]");
            render_entry(line, rule);
        }
    }
}

/// A key whose value is what it would be derived as is printed commented out, so that a copy
/// of the rendering keeps following the key it derives from (`poll_interval = "2s"` alone
/// then brings `poll_timeout` down with it).
pub(super) fn unless_derived(derived: bool, key_value: String) -> String {
    if derived { format!("# {key_value}") } else { key_value }
}

/// One `[[…]]` entry's keys, one per line, in declaration order.
pub(super) fn render_entry(line: &mut impl FnMut(&str), entry: &impl serde::Serialize) {
    if let Ok(toml::Value::Table(table)) = toml::Value::try_from(entry) {
        for (key, value) in table {
            let key = if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                key
            } else {
                toml::Value::String(key).to_string()
            };
            line(&format!("{key} = {value}"));
        }
    }
}

pub(super) const EXAMPLE_ROUTES: &str = r#"[[alerts.mute_windows]]
name = "off-hours"
weekdays = ["mon-fri"]              # mon..sun, ranges; empty: every day
times = ["18:00-09:00"]             # past midnight belongs to the day it starts
utc_offset = "+08:00"
[[alerts.routes]]                 # first match wins; no match: the rule's own channels
severity = ["critical"]
channels = ["pager"]
[[alerts.routes]]
severity = ["info"]
labels = { team = "billing" }       # rules carry labels = { team = "billing" }
channels = ["oncall"]
mute = ["off-hours"]
"#;

pub(super) const EXAMPLE_CHANNELS: &str = r#"[[alerts.channels]]
name = "oncall"
kind = "email"                    # or "webhook"
smtp_host = "smtp.example.com"
smtp_port = 587                   # default: 465 with tls, 587 with starttls, 25 with none
tls = "starttls"                  # "tls" | "starttls" | "none"
# tls_ca_file = "/etc/ssl/private-ca.pem"  # trust a private CA (relays inside the company)
username = "osprey"
password = "${SMTP_PASSWORD}"
from = "osprey@example.com"
to = ["oncall@example.com"]
timeout = "10s"

[[alerts.channels]]
name = "chat"
kind = "webhook"
url = "https://hooks.slack.com/services/T000/B000/XXXX"
format = "slack"                  # "generic" | "generic_v1" | "slack" | "dingtalk" | "wecom" |
                                  # "feishu" | "teams" | "telegram" | "pagerduty" | "opsgenie" |
                                  # "alertmanager"
secret = "${WEBHOOK_SECRET}"      # optional: HMAC signature (generic, dingtalk, feishu)
headers = { "X-Team" = "data" }   # optional
# title_template = "{{ severity|upper }} {{ summary }}"  # optional: own words (minijinja)
"#;

pub(super) const EXAMPLE_RULES: &str = r#"[[alerts.rules]]
name = "billing-lag"
# consumer_lag | consumer_lag_seconds | consumer_status | lag_forecast | retention_risk |
# group_rebalancing | producer_stopped | connection_churn | canary_latency | canary_loss |
# cluster_down | broker_down | under_replicated | offline_partitions | queue_backlog |
# queue_backlog_growing | queue_no_consumers | queue_buried | node_alarm | broker_metric
kind = "consumer_lag"
cluster = "prod"                  # names or patterns: "*", "prod-*", "a,b"
group = "billing"
# topic = "orders"                # optional: alert per (group, topic)
threshold = 10000                 # lag rules (retention_risk: % of retention used);
                                  # status = "STALL" for consumer_status
for = "2m"                        # the condition must hold this long ...
# for_polls = 3                   # ... and/or for this many polls in a row
# horizon = "15m"                 # lag_forecast: fires when the trend passes threshold this soon
# window = "10m"                  # group_rebalancing, producer_stopped: counts this far back
repeat_interval = "1h"            # reminders while it keeps firing
severity = "critical"             # info | warning | critical
channels = ["oncall", "chat"]     # unless a route matches
# labels = { team = "billing" }   # routes match on them
# group_by = ["topic"]            # one notice per topic instead of per rule and cluster
"#;

/// A secret as printed config shows it: `${ENV}` references as they are, values redacted.
pub(super) fn printable(secret: &Secret) -> String {
    if secret.expose().trim().starts_with("${") {
        secret.expose().to_owned()
    } else {
        REDACTED.into()
    }
}
