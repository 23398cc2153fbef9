//! Access control against the real app: logins (and their throttle), the one-time setup link,
//! roles on reads and changes, CSRF tokens on session forms, API tokens, and the audit log.

use std::time::Duration;

use osprey::auth::Role;
use osprey::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// An app that needs a login to read, with an admin from the config.
async fn locked_app() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config: Config = sqlite_config(&dir, vec![]);
    config.auth.anonymous_read = false;
    config.auth.initial_admin = Some("root".into());
    config.auth.initial_admin_password = Some(osprey::secret::Secret::new("root-password-1"));
    config.auth.max_login_failures = 3;
    config.auth.metrics_token = Some(osprey::secret::Secret::new("scrape-me"));
    (TestApp::spawn(config).await, dir)
}

/// An app with no user and no initial admin in the config: it waits for the one-time setup
/// link (returned as its token, with the app's address).
async fn app_awaiting_its_first_admin() -> (osprey::app::Running, String, String, tempfile::TempDir)
{
    let dir = tempfile::tempdir().unwrap();
    let mut config = sqlite_config(&dir, vec![]);
    config.auth.anonymous_read = false;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = osprey::app::start(config, listener).await.unwrap();
    let base = format!("http://{}", running.addr);
    let token = running.auth.pending_setup_token().expect("a setup link");
    (running, base, token, dir)
}

/// Logs in through the form; returns the session cookie ("name=value") and the CSRF token.
async fn login(app: &TestApp, user: &str, password: &str) -> Result<(String, String), StatusCode> {
    let response = app
        .anonymous()
        .post(format!("{}/login", app.base))
        .form(&[("username", user), ("password", password), ("next", "/alerts")])
        .send()
        .await
        .unwrap();
    if response.status() != StatusCode::SEE_OTHER {
        return Err(response.status());
    }
    let cookie =
        response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    // The CSRF token is in every form of a page seen with the session.
    let page = app
        .anonymous()
        .get(format!("{}/alerts/rules/new", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"_csrf\" value=\"";
    let start = page.find(marker).expect("a CSRF field") + marker.len();
    let csrf = page[start..start + page[start..].find('"').unwrap()].to_owned();
    Ok((cookie, csrf))
}

async fn audit(app: &TestApp) -> Vec<Value> {
    app.json("/api/v1/audit").await.as_array().unwrap().clone()
}

fn has_entry(entries: &[Value], action: &str, result: &str, actor: &str) -> bool {
    entries.iter().any(|e| e["action"] == action && e["result"] == result && e["actor"] == actor)
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_needs_a_login_unless_it_is_open() {
    let (app, _dir) = locked_app().await;
    let anonymous = app.anonymous();
    let page = anonymous.get(format!("{}/alerts", app.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/login?next=%2Falerts");
    let api = anonymous.get(format!("{}/api/v1/clusters", app.base)).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api.json::<Value>().await.unwrap()["error"]["code"], "unauthorized");
    for open in ["/healthz", "/readyz", "/login"] {
        let response = anonymous.get(format!("{}{open}", app.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{open}");
    }
    let metrics = anonymous.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::UNAUTHORIZED);
    let scraped = anonymous
        .get(format!("{}/metrics", app.base))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), StatusCode::OK, "Prometheus' bearer token");
    let bad_token = anonymous
        .get(format!("{}/api/v1/clusters", app.base))
        .bearer_auth("osp_not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_are_refused_then_throttled_and_audited() {
    let (app, _dir) = locked_app().await;
    for _ in 0..3 {
        assert_eq!(
            login(&app, "root", "wrong-password").await.unwrap_err(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login(&app, "root", "root-password-1").await.unwrap_err(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits out the lockout"
    );
    assert_eq!(
        login(&app, "nobody", "whatever-password").await.unwrap_err(),
        StatusCode::UNAUTHORIZED,
        "an unknown user reads like a wrong password"
    );
    let entries = audit(&app).await;
    let refused: Vec<&Value> =
        entries.iter().filter(|e| e["action"] == "login" && e["result"] == "denied").collect();
    assert_eq!(
        refused.len(),
        3,
        "every kind of refused login is in the audit log, repeats folded into one: {refused:?}"
    );
    assert!(
        refused.iter().any(|e| e["detail"].as_str().is_some_and(|d| d.contains("3 times"))),
        "{refused:?}"
    );
    // A name of any length is refused and audited, cut to the column's size.
    let long = "x".repeat(100_000);
    assert_eq!(login(&app, &long, "whatever").await.unwrap_err(), StatusCode::UNAUTHORIZED);
    let entries = audit(&app).await;
    let newest = &entries[0];
    assert_eq!(
        (newest["action"].as_str(), newest["result"].as_str()),
        (Some("login"), Some("denied"))
    );
    assert!(newest["actor"].as_str().unwrap().chars().count() <= 64, "{}", newest["actor"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_decide_who_may_change_what_and_every_attempt_is_audited() {
    let (app, _dir) = locked_app().await;
    let viewer = app.client_as("vera", Role::Viewer).await;
    let operator = app.client_as("otto", Role::Operator).await;

    // A viewer reads but cannot configure alerting, silence or retry.
    assert_eq!(
        viewer.get(format!("{}/api/v1/alert-rules", app.base)).send().await.unwrap().status(),
        200
    );
    let channel = json!({"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/x"});
    let refused = viewer
        .post(format!("{}/api/v1/alert-channels", app.base))
        .json(&channel)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "forbidden");
    assert!(app.json("/api/v1/alert-channels").await.as_array().unwrap().is_empty(), "no change");

    // An operator may silence but not configure; the admin may do both.
    let created = app
        .http
        .post(format!("{}/api/v1/alert-channels", app.base))
        .json(&channel)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let rule = json!({"name": "lag", "kind": "consumer_lag", "threshold": 5, "channels": ["hook"]});
    let by_operator =
        operator.post(format!("{}/api/v1/alert-rules", app.base)).json(&rule).send().await.unwrap();
    assert_eq!(by_operator.status(), StatusCode::FORBIDDEN);
    let by_admin =
        app.http.post(format!("{}/api/v1/alert-rules", app.base)).json(&rule).send().await.unwrap();
    assert_eq!(by_admin.status(), StatusCode::CREATED);
    let silence = json!({"rule": "lag", "duration": "1h"});
    let silenced =
        operator.post(format!("{}/api/v1/silences", app.base)).json(&silence).send().await.unwrap();
    assert_eq!(silenced.status(), StatusCode::CREATED);
    let viewer_silence =
        viewer.post(format!("{}/api/v1/silences", app.base)).json(&silence).send().await.unwrap();
    assert_eq!(viewer_silence.status(), StatusCode::FORBIDDEN);
    // Only admins manage users.
    let user = json!({"username": "mallory", "password": "long-enough-pw", "role": "admin"});
    let escalate =
        operator.post(format!("{}/api/v1/users", app.base)).json(&user).send().await.unwrap();
    assert_eq!(escalate.status(), StatusCode::FORBIDDEN);

    let entries = audit(&app).await;
    for (action, result, actor) in [
        ("alert_channel.save", "denied", "vera"),
        ("alert_channel.save", "ok", "it-admin"),
        ("alert_rule.save", "denied", "otto"),
        ("alert_rule.save", "ok", "it-admin"),
        ("silence.add", "ok", "otto"),
        ("silence.add", "denied", "vera"),
        ("user.create", "denied", "otto"),
    ] {
        assert!(
            has_entry(&entries, action, result, actor),
            "{action} {result} by {actor}: {entries:?}"
        );
    }
    let page = app.html("/audit").await;
    assert!(page.contains("alert_rule.save") && page.contains("otto"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn session_forms_need_their_csrf_token() {
    let (app, _dir) = locked_app().await;
    let (cookie, csrf) = login(&app, "root", "root-password-1").await.unwrap();
    let client = app.anonymous();
    let channel = [
        ("name", "hook"),
        ("kind", "webhook"),
        ("url", "http://127.0.0.1:9/x"),
        ("format", "generic"),
    ];
    let forged = client
        .post(format!("{}/alerts/channels", app.base))
        .header("cookie", &cookie)
        .form(&channel)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no token");
    assert!(app.json("/api/v1/alert-channels").await.as_array().unwrap().is_empty());
    let mut with_token = channel.to_vec();
    with_token.push(("_csrf", &csrf));
    let sent = client
        .post(format!("{}/alerts/channels", app.base))
        .header("cookie", &cookie)
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER, "saved and redirected");
    assert_eq!(app.json("/api/v1/alert-channels").await[0]["name"], "hook");
    // JSON calls with the session cookie send the token as a header.
    let json_call = client
        .delete(format!("{}/api/v1/alert-channels/hook", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(json_call.status(), StatusCode::FORBIDDEN);
    let json_call = client
        .delete(format!("{}/api/v1/alert-channels/hook", app.base))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(json_call.status(), StatusCode::NO_CONTENT);
    assert!(has_entry(&audit(&app).await, "csrf.check", "denied", "root"));

    // Logging out ends the session.
    let out = client
        .post(format!("{}/logout", app.base))
        .header("cookie", &cookie)
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after =
        client.get(format!("{}/alerts", app.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER, "back to the login page");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_admin_comes_from_a_one_time_setup_link() {
    // No user and no initial admin in the config: the log shows a one-time setup link.
    let (running, base, token, _dir) = app_awaiting_its_first_admin().await;
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login_page =
        client.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
    assert!(login_page.contains("setup link"), "{login_page}");
    let form = |token: String| {
        vec![
            ("token", token),
            ("username", "first".to_string()),
            ("password", "first-admin-pw".to_string()),
            ("password2", "first-admin-pw".to_string()),
        ]
    };
    let page = |token: String| {
        let client = client.clone();
        let url = format!("{base}/setup?token={token}");
        async move { client.get(url).send().await.unwrap() }
    };
    let shown = page(token.clone()).await;
    assert_eq!(shown.status(), StatusCode::OK);
    assert!(shown.text().await.unwrap().contains("id=\"setup-form\""));
    let guessed = page("guess".into()).await;
    assert_eq!(guessed.status(), StatusCode::GONE, "a wrong link shows no form");
    assert!(!guessed.text().await.unwrap().contains("id=\"setup-form\""));
    let wrong =
        client.post(format!("{base}/setup")).form(&form("guess".into())).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::GONE);
    let right =
        client.post(format!("{base}/setup")).form(&form(token.clone())).send().await.unwrap();
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    // The new admin is logged in and lands on the overview, not on a silent login page.
    assert_eq!(right.headers()["location"], "/");
    let cookie =
        right.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let home = client.get(format!("{base}/")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("first"), "the header names the new admin");
    let again =
        client.post(format!("{base}/setup")).form(&form(token.clone())).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::GONE, "the link works once");
    let used = page(token).await;
    assert_eq!(used.status(), StatusCode::GONE, "a used link shows no form");
    assert!(used.text().await.unwrap().contains("Log in"), "it says what to do instead");
    let session = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": "first", "password": "first-admin-pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::OK);
    assert_eq!(session.json::<Value>().await.unwrap()["role"], "admin");
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn api_tokens_act_as_their_user_until_revoked() {
    let (app, _dir) = locked_app().await;
    let created = app
        .http
        .post(format!("{}/api/v1/tokens", app.base))
        .json(&json!({"name": "grafana", "username": "root"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let client = app.anonymous();
    let me =
        client.get(format!("{}/api/v1/me", app.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.json::<Value>().await.unwrap()["username"], "root");
    let listed = app.json("/api/v1/tokens").await;
    assert!(
        listed.as_array().unwrap().iter().all(|t| t.get("token").is_none()),
        "never shown again"
    );
    let id = created["id"].as_str().unwrap();
    let revoked = app.http.delete(format!("{}/api/v1/tokens/{id}", app.base)).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let after =
        client.get(format!("{}/api/v1/me", app.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    tokio::time::sleep(Duration::from_millis(1)).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_buttons_show_only_to_roles_that_may_use_them() {
    // Reads are open (anonymous_read); the rule and channel come from the config file.
    let app = TestApp::from_toml(
        r#"
        [[alerts.channels]]
        name = "hook"
        kind = "webhook"
        url = "http://127.0.0.1:9/hook"

        [[alerts.rules]]
        name = "billing-lag"
        kind = "consumer_lag"
        cluster = "prod"
        threshold = 10
        channels = ["hook"]
        "#,
        vec![],
    )
    .await;
    let visitor = app.anonymous();
    let page = |client: reqwest::Client, path: &'static str| {
        let url = format!("{}{path}", app.base);
        async move {
            let response = client.get(url).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    for (path, controls) in [
        ("/alerts/rules", ["id=\"new-rule\"", "/disable\"", "/delete\""]),
        ("/alerts/channels", ["id=\"new-channel\"", "/test\"", "/delete\""]),
        ("/alerts/silences", ["id=\"silence-form\"", "id=\"silence-form\"", "id=\"silence-form\""]),
    ] {
        let (status, anonymous) = page(visitor.clone(), path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        for control in controls {
            assert!(!anonymous.contains(control), "{path} shows {control} to a visitor");
        }
        let (_, as_admin) = page(app.http.clone(), path).await;
        for control in controls {
            assert!(as_admin.contains(control), "{path} shows {control} to an admin");
        }
    }
    let viewer = app.client_as("vera", Role::Viewer).await;
    let (_, as_viewer) = page(viewer.clone(), "/alerts/rules").await;
    assert!(!as_viewer.contains("/delete\""), "a viewer sees no delete button");
    // The forms behind the buttons say who may use them instead of "Something went wrong".
    let (status, form) = page(visitor, "/alerts/rules/new").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(form.contains("Log in first") && !form.contains("Something went wrong"), "{form}");
    let (status, _) = page(viewer, "/alerts/channels/new").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_never_cached_and_redirects_stay_on_this_site() {
    let (app, _dir) = locked_app().await;
    let (cookie, _) = login(&app, "root", "root-password-1").await.unwrap();
    let page = app
        .anonymous()
        .get(format!("{}/", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let asset = app
        .anonymous()
        .get(format!("{}/static/{}/app.css", app.base, env!("CARGO_PKG_VERSION")))
        .send()
        .await
        .unwrap();
    assert!(asset.headers()["cache-control"].to_str().unwrap().contains("immutable"));

    // A tab in the path is dropped by browsers: `/\t/evil.example` would leave the site.
    let no_redirects =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for back in ["/%09/evil.example", "//evil.example", "/%0a/evil.example"] {
        let switched =
            no_redirects.get(format!("{}/lang/zh?back={back}", app.base)).send().await.unwrap();
        assert_eq!(switched.headers()["location"], "/", "back={back}");
    }
    let login_next = no_redirects
        .post(format!("{}/login", app.base))
        .form(&[
            ("username", "root"),
            ("password", "root-password-1"),
            ("next", "/\t/evil.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login_next.headers()["location"], "/", "login's next");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_setup_link_makes_one_admin_however_many_race_for_it_and_expires() {
    let (running, base, token, _dir) = app_awaiting_its_first_admin().await;
    let now = osprey::clock::now_millis();
    assert!(running.auth.setup_link_valid(&token, now));
    assert!(
        !running.auth.setup_link_valid(&token, now + osprey::auth::SETUP_LINK_TTL + 1),
        "the link expires"
    );
    assert!(!format!("{:?}", running.auth).contains(&token), "Debug never shows the token");

    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let attempts = (0..8).map(|i| {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        async move {
            let form = [
                ("token", token),
                ("username", format!("racer{i}")),
                ("password", "racer-admin-pw".to_string()),
                ("password2", "racer-admin-pw".to_string()),
            ];
            client.post(format!("{base}/setup")).form(&form).send().await.unwrap().status()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count(),
        1,
        "one admin: {statuses:?}"
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_guesses_are_counted_before_they_are_checked_and_names_are_trimmed() {
    let (app, _dir) = locked_app().await;
    let guesses = (0..10).map(|i| {
        let app = &app;
        async move { login(app, "root", &format!("guess-{i}")).await.unwrap_err() }
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert!(checked <= 3, "at most max_login_failures guesses are checked: {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(s))
    );
    // The same account with spaces or capitals is the same account to the throttle.
    for name in [" root", "ROOT", "root  "] {
        assert_eq!(
            login(&app, name, "root-password-1").await.unwrap_err(),
            StatusCode::TOO_MANY_REQUESTS,
            "{name:?}"
        );
    }
    app.stop().await;
}

/// The process's peak resident memory so far, in KiB (Linux).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Logins for many distinct names at once (unknown names are checked against a decoy hash, so
/// each costs an argon2 run of 19 MiB) hash two at a time: a burst of 40 grows the process by
/// tens of MB, not 760, and each gets an answer — refused, or asked to wait.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_logins_for_distinct_names_hashes_a_few_at_a_time() {
    let (app, _dir) = locked_app().await;
    let before = peak_rss_kib();
    let logins = (0..40).map(|i| {
        let app = &app;
        async move { login(app, &format!("nobody-{i}"), "a guess").await.unwrap_err() }
    });
    let statuses = futures::future::join_all(logins).await;
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(s)),
        "{statuses:?}"
    );
    let grown = peak_rss_kib().saturating_sub(before);
    assert!(grown < 300 * 1024, "a burst of 40 logins took {} MiB", grown / 1024);
    // The real admin still gets in afterwards.
    assert!(login(&app, "root", "root-password-1").await.is_ok());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_posted_from_another_site_is_refused() {
    let (app, _dir) = locked_app().await;
    let form = [("username", "root"), ("password", "root-password-1")];
    let url = format!("{}/login", app.base);
    let client = app.anonymous();
    let forged = client.post(&url).header("origin", "https://evil.example").form(&form);
    assert_eq!(forged.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let fetched = client.post(&url).header("sec-fetch-site", "cross-site").form(&form);
    assert_eq!(fetched.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let own = client.post(&url).header("origin", app.base.as_str()).form(&form);
    let own = own.send().await.unwrap();
    assert!(own.status().is_redirection(), "{}", own.status());
    assert!(audit(&app).await.iter().any(|e| e["action"] == "origin.check"));
    app.stop().await;
}

/// Posts a login form as if it came through a proxy that forwarded `client`.
async fn login_via(app: &TestApp, client: &str, password: &str) -> StatusCode {
    let response = app
        .anonymous()
        .post(format!("{}/login", app.base))
        .header("x-forwarded-for", client)
        .form(&[("username", "root"), ("password", password)])
        .send()
        .await
        .unwrap();
    response.status()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forwarded_address_counts_only_behind_a_trusted_proxy() {
    // No trusted proxy: whatever X-Forwarded-For says, the socket's address is throttled.
    let (app, _dir) = locked_app().await;
    for i in 0..3 {
        assert_eq!(
            login_via(&app, &format!("203.0.113.{i}"), "wrong").await,
            StatusCode::UNAUTHORIZED
        );
    }
    let claimed = login_via(&app, "203.0.113.99", "root-password-1").await;
    assert_eq!(claimed, StatusCode::TOO_MANY_REQUESTS, "a made-up address escapes nothing");
    app.stop().await;

    // Behind a trusted proxy (the test client's loopback), each forwarded client is its own,
    // so one client's guesses do not lock the admin out for everyone.
    let dir = tempfile::tempdir().unwrap();
    let mut config: Config = sqlite_config(&dir, vec![]);
    config.auth.initial_admin = Some("root".into());
    config.auth.initial_admin_password = Some(osprey::secret::Secret::new("root-password-1"));
    config.auth.max_login_failures = 3;
    config.auth.max_account_failures = 5;
    config.auth.trusted_proxies = vec!["127.0.0.0/8".into()];
    let app = TestApp::spawn(config).await;
    for _ in 0..3 {
        assert_eq!(login_via(&app, "203.0.113.1", "wrong").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        login_via(&app, "203.0.113.1", "root-password-1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(login_via(&app, "203.0.113.2", "root-password-1").await, StatusCode::SEE_OTHER);
    let entries = audit(&app).await;
    assert!(
        entries.iter().any(|e| e["action"] == "login" && e["remote"] == "203.0.113.1"),
        "the audit log names the forwarded client: {entries:?}"
    );
    // Guesses spread over many addresses meet the per-account limit.
    let statuses: Vec<StatusCode> = {
        let mut statuses = Vec::new();
        for i in 10..20 {
            statuses.push(login_via(&app, &format!("198.51.100.{i}"), "wrong").await);
        }
        statuses
    };
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert_eq!(checked, 5, "max_account_failures across addresses: {statuses:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_ends_at_its_absolute_lifetime_however_often_it_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let mut config: Config = sqlite_config(&dir, vec![]);
    config.auth.initial_admin = Some("root".into());
    config.auth.initial_admin_password = Some(osprey::secret::Secret::new("root-password-1"));
    config.auth.session_ttl = Duration::from_secs(3600);
    config.auth.session_max_age = Duration::from_secs(4 * 3600);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = osprey::app::start(config, listener).await.unwrap();
    let auth = &running.auth;
    let start = 1_800_000_000_000_i64;
    let session = auth.login("root", "root-password-1", "127.0.0.1", start).await.unwrap();
    let minute = 60_000;
    // A page refreshing itself every few minutes keeps the session past its idle time...
    let mut now = start;
    while now < start + 4 * 3600 * 1000 - 5 * minute {
        now += 5 * minute;
        assert!(auth.from_session(&session.cookie, now).await.unwrap().is_some(), "at {now}");
    }
    // ... but not past its absolute lifetime.
    now = start + 4 * 3600 * 1000;
    assert!(auth.from_session(&session.cookie, now).await.unwrap().is_none());
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_carries_a_content_security_policy_and_https_sites_hsts() {
    let (app, _dir) = locked_app().await;
    for path in ["/login", "/healthz", "/api/v1/clusters"] {
        let answer = app.anonymous().get(format!("{}{path}", app.base)).send().await.unwrap();
        let policy = answer.headers()["content-security-policy"].to_str().unwrap().to_owned();
        for directive in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(answer.headers().get("strict-transport-security").is_none(), "plain HTTP");
    }
    app.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let mut config: Config = sqlite_config(&dir, vec![]);
    config.alerts.public_url = Some("https://osprey.example.com".into());
    let app = TestApp::spawn(config).await;
    let answer = app.anonymous().get(format!("{}/login", app.base)).send().await.unwrap();
    assert_eq!(answer.headers()["strict-transport-security"], "max-age=31536000");
    app.stop().await;
}
