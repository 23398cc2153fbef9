//! What makes a channel definition usable: the keys its kind needs, and none of the other kind's.

use std::time::Duration;

use super::{ChannelDef, ChannelKind, DefinitionError, SmtpTls, WebhookFormat, invalid};
use crate::domain::is_valid_name;

impl ChannelDef {
    pub fn validate(&self) -> Result<(), DefinitionError> {
        if !is_valid_name(&self.name) {
            return Err(invalid("name", "use 1-64 letters, digits, '.', '_' or '-'"));
        }
        if self.timeout.is_some_and(|t| t.is_zero() || t > Duration::from_secs(120)) {
            return Err(invalid("timeout", "must be between 1ms and 2m"));
        }
        let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        match self.kind {
            ChannelKind::Email => {
                if !set(&self.smtp_host) {
                    return Err(invalid("smtp_host", "e-mail channels need an SMTP host"));
                }
                let from = self.from.as_deref().unwrap_or_default();
                if !set(&self.from) || (!from.contains('@') && !from.contains("${")) {
                    return Err(invalid("from", "e-mail channels need a sender address"));
                }
                if self.to.is_empty() {
                    return Err(invalid("to", "name at least one recipient"));
                }
                if let Some(bad) = self.to.iter().find(|t| !t.contains('@') && !t.contains("${")) {
                    return Err(invalid("to", format!("{bad:?} is not an e-mail address")));
                }
                if self.tls_ca_file.is_some() && self.tls() == SmtpTls::None {
                    return Err(invalid("tls_ca_file", "needs tls = \"tls\" or \"starttls\""));
                }
                if set(&self.password) && !set(&self.username) {
                    return Err(invalid("username", "a password needs a username"));
                }
                if self.url.is_some() || self.format.is_some() || !self.headers.is_empty() {
                    return Err(invalid("url", "url, format and headers are for webhooks"));
                }
            }
            ChannelKind::Webhook => {
                let url = self.url.as_deref().unwrap_or_default().trim();
                if url.is_empty() {
                    return Err(invalid("url", "webhooks need a URL"));
                }
                if !url.starts_with("${") {
                    match url::Url::parse(url) {
                        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                        _ => return Err(invalid("url", format!("{url:?} is not an http(s) URL"))),
                    }
                }
                if let Some(bad) = self
                    .headers
                    .keys()
                    .find(|h| reqwest::header::HeaderName::from_bytes(h.as_bytes()).is_err())
                {
                    return Err(invalid("headers", format!("{bad:?} is not a header name")));
                }
                let format = self.format.unwrap_or_default();
                if format == WebhookFormat::Telegram {
                    if self.to.len() != 1 || self.to[0].trim().is_empty() {
                        return Err(invalid("to", "a Telegram channel names one chat id in to"));
                    }
                } else if !self.to.is_empty() {
                    return Err(invalid("to", "to is for e-mail and Telegram channels"));
                }
                if matches!(format, WebhookFormat::Pagerduty | WebhookFormat::Opsgenie)
                    && !set(&self.secret)
                {
                    let key = if format == WebhookFormat::Pagerduty {
                        "PagerDuty channels need the integration's routing key in secret"
                    } else {
                        "Opsgenie channels need the API key in secret"
                    };
                    return Err(invalid("secret", key));
                }
                if self.smtp_host.is_some() || self.tls_ca_file.is_some() {
                    return Err(invalid("smtp_host", "smtp_host is for e-mail channels"));
                }
            }
        }
        Ok(())
    }
}
