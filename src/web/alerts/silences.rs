//! Silences: the list, a new silence, ending one.

use super::*;
use crate::web::access::Page;

// Silences

#[derive(Template)]
#[template(path = "alert_silences.html")]
pub struct SilencesPage {
    t: &'static Messages,
    f: Fmt,
    chrome: Chrome,
    silences: Vec<StoredSilence>,
    rules: Vec<String>,
    form: Fields,
    flash: Option<String>,
    error: Option<FormError>,
}

impl FieldErrors for SilencesPage {
    fn form_refusal(&self) -> Option<&FormError> {
        self.error.as_ref()
    }
    fn placed_fields(&self) -> &'static [&'static str] {
        &["rule", "subject", "duration", "note"]
    }
}

pub(super) async fn silences_view(
    state: &AppState,
    lang: Lang,
    uri: &OriginalUri,
    who: &Principal,
    form: Fields,
    flash: Option<String>,
    error: Option<FormError>,
) -> Result<Response, PageError> {
    let now = now_millis();
    let store_error = |e| PageError::from(WebError::from(e));
    let silences = state.store.active_silences(now).await.map_err(store_error)?;
    let rules = state.store.alert_rules().await.map_err(store_error)?;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = SilencesPage {
        t: lang.messages(),
        f: Fmt::new(lang, now),
        chrome: Chrome::new(lang, here(uri), None, who),
        silences,
        rules: rules.into_iter().map(|r| r.definition.name).collect(),
        form,
        flash,
        error,
    };
    Ok((status, render(&page)).into_response())
}

/// `?rule=&subject=` prefill the form (the incident page links here).
pub(super) async fn silences_page(
    State(state): State<AppState>,
    page: Page,
    PageQuery(d): PageQuery<Done>,
    PageQuery(prefill): PageQuery<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let mut form = Fields::default();
    form.push("rule", prefill.value("rule"));
    form.push("subject", prefill.value("subject"));
    form.push("duration", "1h");
    silences_view(&state, lang, &uri, &caller.who, form, d.text(lang.messages()), None).await
}

pub(super) fn silence_from_fields(f: &Fields) -> Result<SilenceRequest, DefinitionError> {
    Ok(SilenceRequest {
        rule: f.value("rule").to_owned(),
        subject: f.opt("subject"),
        duration: f.duration("duration")?.ok_or_else(|| invalid("duration", "how long?"))?,
        note: f.value("note").to_owned(),
    })
}

pub(super) async fn create_silence_form(
    State(state): State<AppState>,
    page: Page,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let rule = f.value("rule").to_owned();
    let what = Action { action: "silence.add", cluster: None, object: Some(&rule) };
    let added = caller
        .act(&state, Role::Operator, what, async {
            match silence_from_fields(&f) {
                Ok(request) => admin::add_silence(&state.store, request, now_millis()).await,
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    match added {
        Ok(silence) => Ok(done("/alerts/silences", "silenced", &silence.rule)),
        Err(e @ (admin::AdminError::Invalid(_) | admin::AdminError::NotFound { .. })) => {
            silences_view(&state, lang, &uri, &caller.who, f, None, Some(FormError::from(&e))).await
        }
        Err(e) => Err(PageError::from(e)),
    }
}

pub(super) async fn end_silence_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let what = Action { action: "silence.end", cluster: None, object: Some(&id) };
    let ended = caller
        .act(&state, Role::Operator, what, async { admin::end_silence(&state.store, &id).await })
        .await?;
    ended?;
    Ok(done("/alerts/silences", "unsilenced", &id))
}
