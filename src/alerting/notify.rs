//! The notifiers: send one message through one channel — e-mail over SMTP (lettre) or a webhook
//! POST (reqwest) — and say exactly why when the channel does not accept it. They only format
//! and send; retries and bookkeeping are the outbox's.

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::Sha256;

use super::definition::{ChannelDef, ChannelKind, SmtpTls, WebhookFormat};
use super::message::{AlertMessage, MessageKind};
use super::outbound::{self, TargetPolicy};
use super::templates::{Custom, TemplateError};
use crate::domain::Millis;
use crate::secret::interpolate;
use crate::telemetry::error_chain;

/// Why a channel did not accept a message: shown as is on the Channels and Alerts pages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("channel {channel}: {message}")]
    Setup { channel: String, message: String },
    #[error("{0}")]
    Smtp(String),
    #[error("{0}")]
    Webhook(String),
    #[error("no answer within {}", crate::duration_text::format(*.0))]
    Timeout(Duration),
}

/// Sends through channels; holds the HTTP client so webhook connections are reused.
#[derive(Debug, Clone)]
pub struct Notifier {
    http: reqwest::Client,
    targets: TargetPolicy,
}

impl Notifier {
    pub fn new(targets: TargetPolicy) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(concat!("osprey/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the channel's headers somewhere else: answer it as a
            // failure instead.
            .redirect(reqwest::redirect::Policy::none())
            // Every name is checked where it resolves, so the address checked is the one used
            // (a proxy from the environment would resolve it instead: none is used).
            .no_proxy()
            .dns_resolver(outbound::resolver(targets))
            .build()
            .unwrap_or_default();
        Notifier { http, targets }
    }

    /// Sends `message` through `channel`; `now` signs webhooks that want a timestamp.
    /// `delivery` names this delivery to the receiver (the `X-Osprey-Delivery` header, the
    /// e-mail's `Message-ID`), the same on every attempt: delivery is at least once, and a
    /// receiver that saw the id already can drop the repeat.
    pub async fn send(
        &self,
        channel: &ChannelDef,
        message: &AlertMessage,
        delivery: &str,
        now: Millis,
    ) -> Result<(), NotifyError> {
        let timeout = channel.timeout();
        let sending = async {
            match channel.kind {
                ChannelKind::Email => send_email(channel, message, delivery, self.targets).await,
                ChannelKind::Webhook => self.send_webhook(channel, message, delivery, now).await,
            }
        };
        tokio::time::timeout(timeout, sending).await.map_err(|_| NotifyError::Timeout(timeout))?
    }

    async fn send_webhook(
        &self,
        channel: &ChannelDef,
        message: &AlertMessage,
        delivery: &str,
        now: Millis,
    ) -> Result<(), NotifyError> {
        let format = channel.format.unwrap_or_default();
        // Alertmanager has no acknowledgements (its silences are its own): nothing to tell.
        if message.kind == MessageKind::Acknowledged && format == WebhookFormat::Alertmanager {
            return Ok(());
        }
        self.post_webhook(channel, message, delivery, now).await?;
        // A test opens a real incident on an on-call service: close it again at once.
        if message.kind == MessageKind::Test
            && matches!(format, WebhookFormat::Pagerduty | WebhookFormat::Opsgenie)
        {
            let closing = AlertMessage { kind: MessageKind::Resolved, ..message.clone() };
            self.post_webhook(channel, &closing, delivery, now).await?;
        }
        Ok(())
    }

    async fn post_webhook(
        &self,
        channel: &ChannelDef,
        message: &AlertMessage,
        delivery: &str,
        now: Millis,
    ) -> Result<(), NotifyError> {
        let setup = |message: String| NotifyError::Setup { channel: channel.name.clone(), message };
        let env = |text: &str| interpolate(text, |n| std::env::var(n).ok()).map_err(setup);
        let raw_url = env(channel.url.as_deref().unwrap_or_default())?;
        let mut url = url::Url::parse(raw_url.trim())
            .map_err(|e| setup(format!("url is not a valid URL: {e}")))?;
        let format = channel.format.unwrap_or_default();
        let secret = channel.secret.as_deref().map(env).transpose()?;
        let mut body = webhook_payload(channel, message).map_err(|e| setup(e.to_string()))?;
        let mut request_headers = reqwest::header::HeaderMap::new();
        address_receiver(&mut url, format, message);
        match (format, &secret) {
            (WebhookFormat::Dingtalk, Some(secret)) => {
                let sign = base64_hmac(secret.as_bytes(), format!("{now}\n{secret}").as_bytes());
                url.query_pairs_mut()
                    .append_pair("timestamp", &now.to_string())
                    .append_pair("sign", &sign);
            }
            (WebhookFormat::Feishu, Some(secret)) => {
                let seconds = now / 1000;
                // Feishu keys the HMAC with "timestamp\nsecret" and signs nothing.
                let sign = base64_hmac(format!("{seconds}\n{secret}").as_bytes(), b"");
                body["timestamp"] = seconds.to_string().into();
                body["sign"] = sign.into();
            }
            (WebhookFormat::Pagerduty, Some(key)) => body["routing_key"] = key.clone().into(),
            (WebhookFormat::Opsgenie, Some(key)) => {
                let value = reqwest::header::HeaderValue::from_str(&format!("GenieKey {key}"))
                    .map_err(|_| setup("secret: the API key is not a valid header value".into()))?;
                request_headers.insert(reqwest::header::AUTHORIZATION, value);
            }
            _ => {}
        }
        if format == WebhookFormat::Telegram {
            let chat = channel.to.first().map(|c| env(c)).transpose()?.unwrap_or_default();
            body["chat_id"] = chat.trim().to_owned().into();
        }
        let payload = serde_json::to_vec(&body).map_err(|e| setup(e.to_string()))?;
        if let (WebhookFormat::Generic, Some(secret)) = (format, &secret) {
            let signed = [now.to_string().as_bytes(), b".", &payload].concat();
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                .map_err(|e| setup(e.to_string()))?;
            mac.update(&signed);
            let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            for (name, value) in
                [("x-osprey-timestamp", now.to_string()), ("x-osprey-signature", signature)]
            {
                if let Ok(value) = reqwest::header::HeaderValue::from_str(&value) {
                    request_headers.insert(name, value);
                }
            }
        }
        if let Ok(id) = reqwest::header::HeaderValue::from_str(delivery) {
            request_headers.insert("x-osprey-delivery", id);
        }
        for (name, value) in &channel.headers {
            let value = env(value)?;
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| setup(format!("header {name:?}: {e}")))?;
            let value = reqwest::header::HeaderValue::from_str(&value)
                .map_err(|e| setup(format!("header {name}: {e}")))?;
            request_headers.insert(name, value);
        }
        let shown_url = redact_url(&url);
        // A literal address never reaches the resolver: check it here.
        let literal = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(std::net::IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(std::net::IpAddr::V6(v6)),
            _ => None,
        };
        if let Some(address) = literal {
            self.targets.check(&shown_url, address).map_err(NotifyError::Webhook)?;
        }
        let response = self
            .http
            .post(url)
            .headers(request_headers)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .timeout(channel.timeout())
            .body(payload)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    NotifyError::Timeout(channel.timeout())
                } else {
                    let e = e.without_url();
                    NotifyError::Webhook(format!("POST {shown_url} failed: {}", error_chain(&e)))
                }
            })?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // Only the start of an answer is read (a hostile receiver could answer gigabytes).
        let text = excerpt_of(response).await;
        if !status.is_success() {
            return Err(NotifyError::Webhook(format!(
                "POST {shown_url} answered {status}{}",
                answer_summary(content_type.as_deref(), &text)
            )));
        }
        // DingTalk, WeCom and Feishu answer 200 and put a refusal in the body.
        if let Some(refusal) = chat_refusal(format, &text) {
            return Err(NotifyError::Webhook(format!(
                "{} refused the message: {refusal}",
                format.as_str()
            )));
        }
        Ok(())
    }
}

fn base64_hmac(key: &[u8], data: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(data);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The URL without its query (chat webhooks carry their token there).
/// The first few KiB of an answer's body, as text.
async fn excerpt_of(mut response: reqwest::Response) -> String {
    const EXCERPT_BYTES: usize = 4 * 1024;
    let mut body = Vec::new();
    while body.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(EXCERPT_BYTES);
    String::from_utf8_lossy(&body).into_owned()
}

/// What a refusal says, without echoing the answer: its error field when it is JSON, a short
/// plain-text reason (Slack's `invalid_payload`), else its type and size — the receiver's page
/// or a probed internal service's banner never reaches the readers of delivery errors.
fn answer_summary(content_type: Option<&str>, body: &str) -> String {
    const REASON_CHARS: usize = 120;
    let clean = |text: &str| -> String {
        let text: String = text.chars().filter(|c| !c.is_control()).take(REASON_CHARS).collect();
        text.trim().to_owned()
    };
    if body.trim().is_empty() {
        return String::new();
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
        let reason =
            ["error", "message", "errmsg", "msg", "detail", "error_description", "description"]
                .iter()
                .find_map(|key| json.get(key))
                .map(|value| match value {
                    serde_json::Value::String(text) => clean(text),
                    other => clean(&other.to_string()),
                });
        if let Some(reason) = reason.filter(|r| !r.is_empty()) {
            return format!(": {reason}");
        }
    }
    let plain = content_type.is_none_or(|t| t.starts_with("text/plain"));
    let line = body.trim();
    if plain && line.len() <= REASON_CHARS && !line.contains(['\n', '<']) {
        return format!(": {}", clean(line));
    }
    let kind = content_type.and_then(|t| t.split(';').next()).unwrap_or("unknown type");
    format!(" ({}, {} bytes not shown)", clean(kind), body.len())
}

/// The URL as delivery errors name it: scheme and host only (readers see delivery errors).
fn redact_url(url: &url::Url) -> String {
    crate::alerting::definition::url_origin(url.as_str())
}

/// Where a receiver's API takes this message: Alertmanager's alerts endpoint under the address
/// given, Opsgenie's close call for a resolution.
fn address_receiver(url: &mut url::Url, format: WebhookFormat, message: &AlertMessage) {
    let Ok(mut path) = url.path_segments_mut() else { return };
    match format {
        WebhookFormat::Alertmanager => {
            path.pop_if_empty();
            drop(path);
            if !url.path().ends_with("/api/v2/alerts")
                && let Ok(mut path) = url.path_segments_mut()
            {
                path.extend(["api", "v2", "alerts"]);
            }
        }
        WebhookFormat::Opsgenie
            if message.closes_group() || message.kind == MessageKind::Acknowledged =>
        {
            let action =
                if message.kind == MessageKind::Acknowledged { "acknowledge" } else { "close" };
            path.pop_if_empty().push(message.dedup_key()).push(action);
            drop(path);
            url.query_pairs_mut().append_pair("identifierType", "alias");
        }
        _ => {}
    }
}

/// `errcode`/`code` other than 0 in a chat platform's answer.
fn chat_refusal(format: WebhookFormat, body: &str) -> Option<String> {
    if !matches!(format, WebhookFormat::Dingtalk | WebhookFormat::Wecom | WebhookFormat::Feishu) {
        return None;
    }
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    let code =
        json.get("errcode").or_else(|| json.get("code")).or_else(|| json.get("StatusCode"))?;
    if code.as_i64() == Some(0) {
        return None;
    }
    let reason =
        json.get("errmsg").or_else(|| json.get("msg")).or_else(|| json.get("StatusMessage"));
    Some(format!("code {code}: {}", reason.and_then(|r| r.as_str()).unwrap_or("no message")))
}

/// An e-mail's subject, text and HTML for `message`, the channel's templates applied.
pub fn email_parts(
    channel: &ChannelDef,
    message: &AlertMessage,
) -> Result<(String, String, String), TemplateError> {
    let custom = Custom::of(channel, message, None).or_else(|e| built_in(channel, e))?;
    let subject = custom.title.unwrap_or_else(|| message.title());
    Ok(match custom.body {
        None => (subject, message.email_text(), message.email_html()),
        Some(text) => {
            let html = format!(
                "<!doctype html><html><body><pre style=\"font-family:sans-serif;white-space:pre-wrap\">{}</pre></body></html>",
                super::message::escape_html(&text)
            );
            (subject, text, html)
        }
    })
}

/// The built-in texts when a channel's template fails on a notice (it was checked when saved,
/// so this is a runaway loop or an oversized text): the notice still goes out.
fn built_in(channel: &ChannelDef, error: TemplateError) -> Result<Custom, TemplateError> {
    tracing::warn!(channel = %channel.name, %error, "the channel's template failed on this notice; the built-in text is sent");
    Ok(Custom::default())
}

/// The JSON a webhook of `channel` receives for `message` (before keys and signatures).
pub fn webhook_payload(
    channel: &ChannelDef,
    message: &AlertMessage,
) -> Result<serde_json::Value, TemplateError> {
    let format = channel.format.unwrap_or_default();
    let custom = Custom::of(channel, message, Some(format)).or_else(|e| built_in(channel, e))?;
    Ok(if custom.is_empty() {
        message.webhook_body(format)
    } else {
        super::templates::custom_body(message, format, &custom)
    })
}

/// What `channel` would send for `message`: a title and the e-mail text or the JSON body.
pub fn preview(
    channel: &ChannelDef,
    message: &AlertMessage,
) -> Result<(String, String), TemplateError> {
    match channel.kind {
        ChannelKind::Email => {
            email_parts(channel, message).map(|(subject, text, _)| (subject, text))
        }
        ChannelKind::Webhook => {
            let body = webhook_payload(channel, message)?;
            let custom = Custom::of(channel, message, channel.format)?;
            let title = custom.title.unwrap_or_else(|| message.title());
            Ok((title, serde_json::to_string_pretty(&body).unwrap_or_default()))
        }
    }
}

async fn send_email(
    channel: &ChannelDef,
    message: &AlertMessage,
    delivery: &str,
    targets: TargetPolicy,
) -> Result<(), NotifyError> {
    let setup = |text: String| NotifyError::Setup { channel: channel.name.clone(), message: text };
    let env = |text: &str| interpolate(text, |n| std::env::var(n).ok()).map_err(setup);
    let host = env(channel.smtp_host.as_deref().unwrap_or_default())?;
    let port = channel.smtp_port();
    let from: Mailbox = env(channel.from.as_deref().unwrap_or_default())?
        .parse()
        .map_err(|e| setup(format!("from: {e}")))?;
    let (subject, text, html) = email_parts(channel, message).map_err(|e| setup(e.to_string()))?;
    let mut email = lettre::Message::builder()
        .from(from)
        .subject(subject)
        .message_id(Some(format!("<{delivery}@osprey>")));
    for to in &channel.to {
        let to: Mailbox = env(to)?.parse().map_err(|e| setup(format!("to {to:?}: {e}")))?;
        email = email.to(to);
    }
    let email = email
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| setup(format!("cannot build the e-mail: {e}")))?;

    let where_to = format!("SMTP {host}:{port}");
    let smtp_error = |e: lettre::transport::smtp::Error| {
        let detail = error_chain(&e);
        let hint =
            if detail.contains("535") || detail.to_ascii_lowercase().contains("authentication") {
                " (wrong username or password?)"
            } else {
                ""
            };
        NotifyError::Smtp(format!("{where_to}: {detail}{hint}"))
    };
    // Connect to the address that was checked; TLS still verifies the certificate for `host`.
    let address = targets
        .resolve(&host, port)
        .await
        .map_err(|e| NotifyError::Smtp(format!("{where_to}: {e}")))?[0]
        .ip();
    let mut parameters = TlsParameters::builder(host.clone());
    if let Some(ca_file) = &channel.tls_ca_file {
        let path = env(ca_file)?;
        let pem = tokio::task::spawn_blocking(move || crate::local_file::read_ca_file(&path))
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
            .map_err(|e| setup(format!("tls_ca_file {ca_file:?}: {e}")))?;
        let ca = Certificate::from_pem(&pem)
            .map_err(|e| setup(format!("tls_ca_file {ca_file:?}: {}", error_chain(&e))))?;
        parameters = parameters.add_root_certificate(ca);
    }
    let tls = match channel.tls() {
        SmtpTls::Tls => Tls::Wrapper(parameters.build_rustls().map_err(smtp_error)?),
        SmtpTls::Starttls => Tls::Required(parameters.build_rustls().map_err(smtp_error)?),
        SmtpTls::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address.to_string())
        .port(port)
        .tls(tls)
        .timeout(Some(channel.timeout()));
    if let Some(username) = &channel.username {
        let password = env(channel.password.as_deref().unwrap_or_default())?;
        builder = builder.credentials(Credentials::new(env(username)?, password));
    }
    builder.build().send(email).await.map_err(smtp_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_platforms_refuse_in_the_body() {
        assert_eq!(chat_refusal(WebhookFormat::Dingtalk, r#"{"errcode":0,"errmsg":"ok"}"#), None);
        assert_eq!(
            chat_refusal(
                WebhookFormat::Dingtalk,
                r#"{"errcode":310000,"errmsg":"sign not match"}"#
            ),
            Some("code 310000: sign not match".into())
        );
        assert_eq!(
            chat_refusal(WebhookFormat::Feishu, r#"{"code":19021,"msg":"sign match fail"}"#),
            Some("code 19021: sign match fail".into())
        );
        assert_eq!(chat_refusal(WebhookFormat::Generic, r#"{"errcode":1}"#), None);
    }

    #[test]
    fn urls_are_shown_without_their_tokens() {
        let url =
            url::Url::parse("https://oapi.dingtalk.com/robot/send?access_token=SECRET").unwrap();
        assert_eq!(redact_url(&url), "https://oapi.dingtalk.com/…");
        let slack = url::Url::parse("https://hooks.slack.com/services/T0/B0/PATHTOKEN").unwrap();
        assert_eq!(redact_url(&slack), "https://hooks.slack.com/…");
        let bare = url::Url::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!(redact_url(&bare), "http://127.0.0.1:9000");
    }

    #[test]
    fn hmac_signatures_match_known_values() {
        // RFC 4231 test case 2.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            base64_hmac(b"Jefe", b"what do ya want for nothing?"),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
        );
    }
}
