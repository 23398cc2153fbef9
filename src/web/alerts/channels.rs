//! Alert channels: the list, the form, sending a test notice, delete; URLs shown without their secrets.

use super::*;
use crate::web::access::Page;

// Channels

/// The outcome of "send test", shown above the channel list.
pub struct TestOutcome {
    pub channel: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "alert_channels.html")]
pub struct ChannelsPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    channels: Vec<Stored<ChannelDef>>,
    flash: Option<String>,
    tested: Option<TestOutcome>,
}

impl ChannelsPage {
    pub fn target(&self, c: &ChannelDef) -> String {
        match c.kind {
            ChannelKind::Email => format!(
                "{} → {} ({}:{}, {})",
                c.from.as_deref().unwrap_or_default(),
                c.to.join(", "),
                c.smtp_host.as_deref().unwrap_or_default(),
                c.smtp_port(),
                c.tls().as_str()
            ),
            ChannelKind::Webhook => format!(
                "{} ({})",
                c.url.as_deref().map(url_origin).unwrap_or_default(),
                c.format.unwrap_or_default().as_str()
            ),
        }
    }
}

pub(super) async fn channels_view(
    state: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    who: &Principal,
    flash: Option<String>,
    tested: Option<TestOutcome>,
) -> Result<Response, PageError> {
    let channels =
        state.store.alert_channels().await.map_err(|e| PageError::from(WebError::from(e)))?;
    let channels = channels.into_iter().map(|c| shown_to(who, c)).collect();
    Ok(render(&ChannelsPage {
        t: lang.messages(),
        f: Fmt::new(lang, now_millis()),
        chrome: Chrome::new(lang, here(uri), None, who),
        channels,
        flash,
        tested,
    }))
}

pub(super) async fn channels_page(
    State(state): State<AppState>,
    page: Page,
    PageQuery(d): PageQuery<Done>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    channels_view(&state, lang, &uri, &caller.who, d.text(lang.messages()), None).await
}

#[derive(Template)]
#[template(path = "alert_channel_form.html")]
pub struct ChannelFormPage {
    t: &'static Messages,
    chrome: Chrome,
    editing: Option<String>,
    form: Fields,
    error: Option<FormError>,
    /// What the channel sends for an example notice: title, and text or JSON.
    preview: Option<(String, String)>,
}

/// The channel form's fields that show their own error beside them.
const CHANNEL_FIELDS: [&str; 17] = [
    "name",
    "kind",
    "smtp_host",
    "smtp_port",
    "tls",
    "tls_ca_file",
    "username",
    "password",
    "from",
    "to",
    "url",
    "format",
    "headers",
    "secret",
    "timeout",
    "title_template",
    "body_template",
];

impl FieldErrors for ChannelFormPage {
    fn form_refusal(&self) -> Option<&FormError> {
        self.error.as_ref()
    }
    fn placed_fields(&self) -> &'static [&'static str] {
        &CHANNEL_FIELDS
    }
}

impl ChannelFormPage {
    pub fn formats(&self) -> Vec<&'static str> {
        WebhookFormat::ALL.iter().map(|w| w.as_str()).collect()
    }

    pub fn action(&self) -> String {
        match &self.editing {
            Some(name) => format!("/alerts/channels/{}", segment(name)),
            None => "/alerts/channels".into(),
        }
    }
}

pub(super) fn channel_form(
    lang: Lang,
    uri: &OriginalUri,
    who: &Principal,
    editing: Option<String>,
    form: Fields,
    error: Option<FormError>,
) -> Response {
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    // The preview shows what the form's channel would send, once it is a valid channel.
    let preview = channel_from_fields(&form).ok().and_then(|channel| {
        let example = crate::alerting::message::AlertMessage::example(
            crate::alerting::message::MessageKind::Firing,
            now_millis(),
            |_| Some("https://osprey.example.com/clusters/example/groups/example-group".into()),
        );
        crate::alerting::notify::preview(&channel, &example).ok()
    });
    let page = ChannelFormPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(uri), None, who),
        editing,
        form,
        error,
        preview,
    };
    (status, render(&page)).into_response()
}

pub(super) async fn new_channel_page(
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let what = Action { action: "alert_channel.save", cluster: None, object: None };
    caller.require(&state, Role::Admin, what).await?;
    let mut form = Fields::default();
    form.push("kind", "email");
    form.push("tls", "starttls");
    Ok(channel_form(lang, &uri, &caller.who, None, form, None))
}

pub(super) async fn edit_channel_page(
    State(state): State<AppState>,
    page: Page,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let what = Action { action: "alert_channel.save", cluster: None, object: Some(&name) };
    caller.require(&state, Role::Admin, what).await?;
    let channel = admin::channel(&state.store, &name).await?;
    Ok(channel_form(lang, &uri, &caller.who, Some(name), channel_fields(&channel.definition), None))
}

pub(super) async fn save_channel_form(
    state: AppState,
    page: Page,
    editing: Option<String>,
    f: Fields,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let name = f.value("name").to_owned();
    let what = Action { action: "alert_channel.save", cluster: None, object: Some(&name) };
    let saved = caller
        .act(&state, Role::Admin, what, async {
            match channel_from_fields(&f) {
                Ok(channel) => {
                    admin::save_channel(
                        &state.store,
                        channel,
                        editing.as_deref(),
                        &state.alerting.settings.env_allowlist,
                        now_millis(),
                    )
                    .await
                }
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    match saved {
        Ok(()) => Ok(done("/alerts/channels", "saved", f.value("name"))),
        Err(e @ (admin::AdminError::Invalid(_) | admin::AdminError::Exists { .. })) => {
            Ok(channel_form(lang, &uri, &caller.who, editing, f, Some(FormError::from(&e))))
        }
        Err(e) => Err(PageError::from(e)),
    }
}

pub(super) async fn create_channel_form(
    State(state): State<AppState>,
    page: Page,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    save_channel_form(state, page, None, f).await
}

pub(super) async fn update_channel_form(
    State(state): State<AppState>,
    page: Page,
    Path(name): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    save_channel_form(state, page, Some(name), f).await
}

pub(super) async fn test_channel_form(
    State(state): State<AppState>,
    page: Page,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let what = Action { action: "alert_channel.test", cluster: None, object: Some(&name) };
    let outcome = caller
        .act(&state, Role::Operator, what, async {
            admin::test_channel(&state.alerting, &name).await.unwrap_or_else(|e| Err(e.to_string()))
        })
        .await?;
    let tested = TestOutcome { channel: name, error: outcome.err() };
    channels_view(&state, lang, &uri, &caller.who, None, Some(tested)).await
}

pub(super) async fn delete_channel_form(
    State(state): State<AppState>,
    page: Page,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let what = Action { action: "alert_channel.delete", cluster: None, object: Some(&name) };
    let deleted = caller
        .act(&state, Role::Admin, what, async { admin::delete_channel(&state.store, &name).await })
        .await?;
    match deleted {
        Ok(()) => Ok(done("/alerts/channels", "deleted", &name)),
        Err(e @ admin::AdminError::Invalid(_)) => {
            channels_view(&state, lang, &uri, &caller.who, Some(e.to_string()), None).await
        }
        Err(e) => Err(PageError::from(e)),
    }
}
