//! The forms and result pages of topic and group changes.

use super::*;
use crate::web::access::Page;

// Pages

/// What a change did, or why it did not, with the way back.
#[derive(Template)]
#[template(path = "action_result.html")]
pub struct ResultPage {
    t: &'static Messages,
    chrome: Chrome,
    title: String,
    message: Option<String>,
    error: Option<String>,
    back: String,
    reset: Option<ResetView>,
}

pub struct ResetView {
    pub outcome: ResetOutcome,
    /// The previewed offsets as `topic,partition,offset` lines, for the "apply" form.
    pub planned: String,
    pub action: String,
}

pub(super) fn result_page(
    lang: Lang,
    uri: &OriginalUri,
    caller: &Caller,
    cluster: &str,
    title: String,
    back: String,
    outcome: Result<String, WebError>,
) -> Result<Response, PageError> {
    let (status, message, error) = match PageError::shown(outcome)? {
        Ok(message) => (StatusCode::OK, Some(message), None),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(e)),
    };
    let page = ResultPage {
        t: lang.messages(),
        chrome: Chrome::new(lang, here(uri), Some(cluster), &caller.who),
        title,
        message,
        error,
        back,
        reset: None,
    };
    Ok((status, render(&page)).into_response())
}

pub(super) async fn create_topic_form(
    State(state): State<AppState>,
    page: Page,
    Path(cluster): Path<String>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let name = f.value("name").to_owned();
    let outcome = async {
        let number = |field: &str| -> Result<i32, WebError> {
            let v = f.value(field);
            if v.is_empty() {
                Ok(1)
            } else {
                v.parse().map_err(|_| invalid(format!("{field}: {v:?} is not a number")))
            }
        };
        let body = TopicRequest {
            name: name.clone(),
            partitions: number("partitions")?,
            replication_factor: number("replication_factor")?,
            configs: key_values(f.value("configs"))?.into_iter().collect(),
        };
        create_topic(&state, &caller, &cluster, body).await?;
        Ok(Messages::fill(lang.messages().topic_created, &[("topic", &name)]))
    }
    .await;
    let back = format!("/clusters/{}/topics/{}", segment(&cluster), segment(&name));
    result_page(lang, &uri, &caller, &cluster, lang.messages().create_topic.into(), back, outcome)
}

pub(super) async fn partitions_form(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, topic)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let outcome = async {
        let total: usize = f
            .value("total")
            .parse()
            .map_err(|_| invalid("the new partition count is not a number"))?;
        add_partitions(&state, &caller, &cluster, &topic, total).await?;
        Ok(Messages::fill(
            lang.messages().partitions_added,
            &[("topic", &topic), ("total", &total.to_string())],
        ))
    }
    .await;
    let back = format!("/clusters/{}/topics/{}", segment(&cluster), segment(&topic));
    result_page(lang, &uri, &caller, &cluster, lang.messages().add_partitions.into(), back, outcome)
}

pub(super) async fn configs_form(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, topic)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let outcome = async {
        let set = key_values(f.value("set"))?;
        let remove: Vec<String> = f
            .value("remove")
            .split([',', '\n'])
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
        edit_configs(&state, &caller, &cluster, &topic, set, remove).await?;
        Ok(Messages::fill(lang.messages().configs_changed, &[("topic", &topic)]))
    }
    .await;
    let back = format!("/clusters/{}/topics/{}", segment(&cluster), segment(&topic));
    result_page(lang, &uri, &caller, &cluster, lang.messages().edit_configs.into(), back, outcome)
}

pub(super) async fn delete_topic_form(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, topic)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let outcome = delete_topic(&state, &caller, &cluster, &topic, f.value("confirm"))
        .await
        .map(|()| Messages::fill(lang.messages().topic_deleted, &[("topic", &topic)]));
    let back = format!("/clusters/{}/topics", segment(&cluster));
    result_page(lang, &uri, &caller, &cluster, lang.messages().delete_topic.into(), back, outcome)
}

pub(super) fn reset_body(f: &Fields) -> Result<ResetRequest, WebError> {
    let mut offsets = Vec::new();
    for line in f.value("offsets").lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.rsplitn(3, [',', ' ']).collect();
        let [offset, partition, topic] = parts.as_slice() else {
            return Err(invalid(format!("{line:?} is not topic,partition,offset")));
        };
        let parse = |v: &str| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| invalid(format!("{line:?} is not topic,partition,offset")))
        };
        offsets.push((topic.trim().to_owned(), parse(partition)? as i32, parse(offset)?));
    }
    Ok(ResetRequest {
        topic: Some(f.value("topic").to_owned()).filter(|t| !t.is_empty()),
        to: f.value("to").to_owned(),
        at: Some(f.value("at").to_owned()).filter(|a| !a.is_empty()),
        offsets,
        apply: f.value("apply") == "true",
    })
}

pub(super) async fn reset_form(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, group)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let t = lang.messages();
    let back = format!("/clusters/{}/groups/{}", segment(&cluster), segment(&group));
    let outcome = match reset_body(&f) {
        Ok(body) => reset(&state, &caller, &cluster, &group, body).await,
        Err(e) => Err(e),
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            return result_page(
                lang,
                &uri,
                &caller,
                &cluster,
                t.reset_offsets.into(),
                back,
                Err(e),
            );
        }
    };
    let planned = outcome
        .changes
        .iter()
        .map(|c| format!("{},{},{}", c.topic, c.partition, c.new))
        .collect::<Vec<_>>()
        .join("\n");
    let message = if outcome.applied {
        Messages::fill(
            t.reset_applied,
            &[("group", &group), ("count", &outcome.changes.len().to_string())],
        )
    } else {
        t.reset_preview.to_owned()
    };
    let page = ResultPage {
        t,
        chrome: Chrome::new(lang, here(&uri), Some(&cluster), &caller.who),
        title: format!("{} · {group}", t.reset_offsets),
        message: Some(message),
        error: None,
        reset: Some(ResetView {
            outcome,
            planned,
            action: format!("/clusters/{}/groups/{}/reset", segment(&cluster), segment(&group)),
        }),
        back,
    };
    Ok(render(&page))
}

pub(super) async fn delete_group_form(
    State(state): State<AppState>,
    page: Page,
    Path((cluster, group)): Path<(String, String)>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let Page { lang, uri, caller } = page;
    let outcome = if f.value("confirm") == group {
        delete_group(&state, &caller, &cluster, &group)
            .await
            .map(|()| Messages::fill(lang.messages().group_deleted, &[("group", &group)]))
    } else {
        Err(invalid("type the group's name to confirm its deletion"))
    };
    let back = format!("/clusters/{}/groups", segment(&cluster));
    result_page(lang, &uri, &caller, &cluster, lang.messages().delete_group.into(), back, outcome)
}
