//! Checking a configuration as a whole, every error naming its key.

use super::*;

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database.url.expose();
        let scheme = url.split("://").next().unwrap_or_default();
        if !url.contains("://")
            || !matches!(scheme, "sqlite" | "postgres" | "postgresql" | "mysql" | "mariadb")
        {
            return Err(key_error(
                "database.url",
                "must start with sqlite://, postgres:// or mysql://",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(key_error("database.max_connections", "must be at least 1"));
        }
        if self.history.retention < Duration::from_secs(3600) {
            return Err(key_error("history.retention", "must be at least 1h"));
        }
        if self.history.minute_retention < Duration::from_secs(24 * 3600) {
            return Err(key_error("history.minute_retention", "must be at least 1d"));
        }
        if self.history.audit_retention < Duration::from_secs(24 * 3600) {
            return Err(key_error("history.audit_retention", "must be at least 1d"));
        }
        if self.history.hour_retention < Duration::from_secs(7 * 24 * 3600) {
            return Err(key_error("history.hour_retention", "must be at least 7d"));
        }
        if self.scale_out.enabled && scheme == "sqlite" {
            return Err(key_error(
                "scale_out.enabled",
                "needs PostgreSQL or MySQL/MariaDB: a SQLite file serves one instance",
            ));
        }
        if self.scale_out.lease_ttl < Duration::from_secs(2) {
            return Err(key_error("scale_out.lease_ttl", "must be at least 2s"));
        }
        if self.scale_out.name.as_ref().is_some_and(|n| n.is_empty() || n.len() > 255) {
            return Err(key_error("scale_out.name", "use 1-255 characters"));
        }
        if let Some(url) = &self.scale_out.advertise_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(key_error(
                "scale_out.advertise_url",
                "must start with http:// or https://",
            ));
        }
        if self.lag.window < Duration::from_secs(1) {
            return Err(key_error("lag.window", "must be at least 1s"));
        }
        if let Some(name) = &self.auth.initial_admin {
            if !crate::domain::is_valid_name(name) {
                return Err(key_error(
                    "auth.initial_admin",
                    "use 1-64 letters, digits, '.', '_' or '-'",
                ));
            }
            if self.auth.initial_admin_password.is_none() {
                return Err(key_error(
                    "auth.initial_admin_password",
                    "is needed with initial_admin",
                ));
            }
        }
        if self.auth.session_ttl < Duration::from_secs(60) {
            return Err(key_error("auth.session_ttl", "must be at least 1m"));
        }
        if self.auth.session_max_age < self.auth.session_ttl {
            return Err(key_error("auth.session_max_age", "must be at least session_ttl"));
        }
        if self.auth.max_login_failures == 0 {
            return Err(key_error("auth.max_login_failures", "must be at least 1"));
        }
        if self.auth.max_account_failures < self.auth.max_login_failures {
            return Err(key_error(
                "auth.max_account_failures",
                "must be at least max_login_failures",
            ));
        }
        for proxy in &self.auth.trusted_proxies {
            if AddressRange::parse(proxy).is_none() {
                return Err(key_error(
                    "auth.trusted_proxies",
                    format!("{proxy:?} is not an address or a CIDR range like 10.0.0.0/8"),
                ));
            }
        }
        if self.lag.min_samples < 2 {
            return Err(key_error("lag.min_samples", "must be at least 2"));
        }
        self.validate_alerts()?;
        let mut seen = std::collections::BTreeSet::new();
        for (i, cluster) in self.clusters.iter().enumerate() {
            let key = |field: &str| format!("clusters[{i}].{field}");
            if !crate::domain::is_valid_name(&cluster.name) {
                return Err(key_error(
                    key("name"),
                    format!(
                        "{:?} is not a valid name: use 1-64 letters, digits, '.', '_' or '-'",
                        cluster.name
                    ),
                ));
            }
            if !seen.insert(cluster.name.as_str()) {
                return Err(key_error(key("name"), format!("{:?} is used twice", cluster.name)));
            }
            cluster
                .connection
                .check()
                .map_err(|(field, message)| key_error(key(field), message))?;
            for (field, urls) in
                [("metrics_urls", &cluster.metrics_urls), ("jolokia_urls", &cluster.jolokia_urls)]
            {
                for (broker, url) in urls {
                    if cluster.kind().broker_key(broker).is_none() {
                        return Err(key_error(
                            key(field),
                            format!(
                                "{broker:?} is not a broker id (the keys are broker ids; on RabbitMQ also node names)"
                            ),
                        ));
                    }
                    if !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                        return Err(key_error(
                            key(&format!("{field}.{broker}")),
                            format!("{url:?} is not an http(s) URL"),
                        ));
                    }
                }
            }
            if let Err((field, message)) = cluster.canary.check(cluster.kind()) {
                return Err(key_error(key(&format!("canary.{field}")), message));
            }
            if cluster.poll_interval < Duration::from_secs(1) {
                return Err(key_error(key("poll_interval"), "must be at least 1s"));
            }
            if cluster.poll_timeout.is_zero() || cluster.poll_timeout > cluster.poll_interval {
                return Err(key_error(
                    key("poll_timeout"),
                    "must be more than 0s and at most poll_interval",
                ));
            }
        }
        Ok(())
    }

    pub(super) fn validate_alerts(&self) -> Result<(), ConfigError> {
        let alerts = &self.alerts;
        if let Some(url) = &alerts.public_url
            && !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            return Err(key_error("alerts.public_url", format!("{url:?} is not an http(s) URL")));
        }
        if alerts.retry_initial < Duration::from_millis(100) {
            return Err(key_error("alerts.retry_initial", "must be at least 100ms"));
        }
        if alerts.retry_max < alerts.retry_initial {
            return Err(key_error("alerts.retry_max", "must be at least retry_initial"));
        }
        if alerts.give_up_after < Duration::from_secs(60) {
            return Err(key_error("alerts.give_up_after", "must be at least 1m"));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, channel) in alerts.channels.iter().enumerate() {
            channel
                .validate()
                .and_then(|()| crate::alerting::templates::check_channel(channel))
                .map_err(|e| key_error(format!("alerts.channels[{i}].{}", e.field), e.message))?;
            if !names.insert(channel.name.as_str()) {
                return Err(key_error(
                    format!("alerts.channels[{i}].name"),
                    format!("{:?} is used twice", channel.name),
                ));
            }
        }
        let mut rules = std::collections::BTreeSet::new();
        for (i, rule) in alerts.rules.iter().enumerate() {
            rule.validate(|c| names.contains(c))
                .map_err(|e| key_error(format!("alerts.rules[{i}].{}", e.field), e.message))?;
            if !rules.insert(rule.name.as_str()) {
                return Err(key_error(
                    format!("alerts.rules[{i}].name"),
                    format!("{:?} is used twice", rule.name),
                ));
            }
        }
        let labels = crate::alerting::grouping::GROUP_LABELS;
        if let Some(bad) =
            alerts.group_by.iter().find(|l| !labels.contains(&l.as_str()) && *l != "subject")
        {
            return Err(key_error(
                "alerts.group_by",
                format!("{bad:?} is not a label to group by"),
            ));
        }
        if alerts.group_wait > Duration::from_secs(3600) {
            return Err(key_error("alerts.group_wait", "must be at most 1h"));
        }
        if alerts.group_interval > Duration::from_secs(24 * 3600) {
            return Err(key_error("alerts.group_interval", "must be at most 24h"));
        }
        for (i, inhibit) in alerts.inhibit.iter().enumerate() {
            inhibit
                .validate()
                .map_err(|e| key_error(format!("alerts.inhibit[{i}].{}", e.field), e.message))?;
        }
        let mut windows = std::collections::BTreeSet::new();
        for (i, window) in alerts.mute_windows.iter().enumerate() {
            window.validate().map_err(|e| {
                key_error(format!("alerts.mute_windows[{i}].{}", e.field), e.message)
            })?;
            if !windows.insert(window.name.as_str()) {
                return Err(key_error(
                    format!("alerts.mute_windows[{i}].name"),
                    format!("{:?} is used twice", window.name),
                ));
            }
        }
        for (i, route) in alerts.routes.iter().enumerate() {
            route
                .validate(|c| names.contains(c), |w| windows.contains(w))
                .map_err(|e| key_error(format!("alerts.routes[{i}].{}", e.field), e.message))?;
        }
        Ok(())
    }
}

pub(super) fn is_host_port(s: &str) -> bool {
    match s.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}
