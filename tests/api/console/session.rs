//! The console's session over plain HTTP: the cookie's attributes, the lockout of the API's
//! login, CSRF and origin checks, the end of a session at logout and deactivation, escaping,
//! and the embedded stylesheet.

use peken_tests::{ADMIN_EMAIL, Options, PASSWORD, TestApp, spawn_app_with};
use reqwest::header::{COOKIE as COOKIE_HEADER, LOCATION, SET_COOKIE};
use serde_json::json;

use super::{COOKIE, FormBody, csrf_in, staff_email};
use crate::fixtures::payouts::{app_at, merchant, owed, scalar, utc};

const KEL: &str = "35.78.01.1001";

fn cookie(token: &str) -> String {
    format!("{COOKIE}={token}")
}

async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(COOKIE_HEADER, cookie(token))
        .send()
        .await
        .unwrap()
}

async fn post(
    app: &TestApp,
    path: &str,
    token: &str,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(path))
        .header(COOKIE_HEADER, cookie(token))
        .form_body(form);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_form_without_its_token_or_from_another_site_is_refused() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let maker = app.staff("treasury", None).await;
    let other = app.staff("treasury", None).await;
    let (m1, _) = merchant(&app, "toko_kelontong", KEL, None).await;
    owed(&app, "o1", &m1, 150_000, utc(2026, 3, 2, 2)).await;
    let page = get(&app, "/console/treasury/batches", &maker.refresh).await;
    assert_eq!(page.status(), 200);
    let csrf = csrf_in(&page.text().await.unwrap());
    let others = csrf_in(
        &get(&app, "/console/treasury/batches", &other.refresh)
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_ne!(csrf, others, "each session has its own token");
    let cutoff = ("cutoff", "2026-03-03 07:00");
    let path = "/console/treasury/batches";
    let origin = app.base.clone();
    for (form, headers, why) in [
        (vec![cutoff], vec![("origin", origin.as_str())], "no token"),
        (
            vec![cutoff, ("csrf", others.as_str())],
            vec![("origin", origin.as_str())],
            "another session's token",
        ),
        (
            vec![cutoff, ("csrf", csrf.as_str())],
            vec![("origin", "https://evil.example")],
            "another origin",
        ),
        (
            vec![cutoff, ("csrf", csrf.as_str())],
            vec![("sec-fetch-site", "cross-site")],
            "another site",
        ),
        (
            vec![cutoff, ("csrf", csrf.as_str())],
            vec![("origin", "null")],
            "an opaque origin",
        ),
    ] {
        let res = post(&app, path, &maker.refresh, &form, &headers).await;
        assert_eq!(res.status(), 403, "{why}");
        assert!(
            res.text().await.unwrap().contains("Formulir ditolak"),
            "{why}"
        );
    }
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) AS n FROM payout_batches").await,
        0
    );
    let res = post(
        &app,
        path,
        &maker.refresh,
        &[cutoff, ("csrf", &csrf)],
        &[("origin", &origin), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/console/treasury/batches/"));
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) AS n FROM payout_batches").await,
        1
    );
    // The creator is told about the four-eyes rule and offered no approval.
    let batch = get(&app, &location(&res), &maker.refresh)
        .await
        .text()
        .await
        .unwrap();
    assert!(batch.contains("empat mata"));
    assert!(!batch.contains("/approval"));
    // The second treasurer approves; the creator could not have.
    let batch_path = location(&res).split('?').next().unwrap().to_owned();
    let approval = format!("{batch_path}/approval");
    let refused = post(&app, &approval, &maker.refresh, &[("csrf", &csrf)], &[]).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("four_eyes_required"));
    let approved = post(&app, &approval, &other.refresh, &[("csrf", &others)], &[]).await;
    assert_eq!(approved.status(), 303);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) AS n FROM payout_batches WHERE status = 'approved'"
        )
        .await,
        1
    );
    // The list downloads as the API's sheet.
    let sheet = get(
        &app,
        "/console/treasury/batches/export?format=csv",
        &maker.refresh,
    )
    .await
    .text()
    .await
    .unwrap();
    let lines: Vec<&str> = sheet.lines().collect();
    assert!(
        lines[0].starts_with("id,status,cutoff,item_count,total_amount"),
        "{sheet}"
    );
    assert_eq!(lines.len(), 2, "{sheet}");
    assert!(
        lines[1].contains(",approved,") && lines[1].contains(",150000,"),
        "{sheet}"
    );
}

#[tokio::test]
async fn the_session_ends_at_logout_and_when_the_account_is_deactivated() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let one = app.staff("treasury", None).await;
    let page = get(&app, "/console", &one.refresh).await;
    assert_eq!(page.status(), 200);
    let csrf = csrf_in(&page.text().await.unwrap());
    let out = post(
        &app,
        "/console/keluar",
        &one.refresh,
        &[("csrf", &csrf)],
        &[],
    )
    .await;
    assert_eq!(out.status(), 303);
    assert_eq!(location(&out), "/console/masuk?pesan=keluar");
    let removal = out.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(removal.starts_with(&format!("{COOKIE}=;")), "{removal}");
    let after = get(&app, "/console", &one.refresh).await;
    assert_eq!(after.status(), 303);
    assert_eq!(location(&after), "/console/masuk");
    // The API's tokens of that login ended with it.
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": one.refresh}),
    )
    .await
    .expect(401);
    app.get("/api/v1/me", Some(&one.token)).await.expect(401);

    let two = app.staff("treasury", None).await;
    assert_eq!(get(&app, "/console", &two.refresh).await.status(), 200);
    peken_identity::people::deactivate(&app.state.db, &two.id, app.state.now())
        .await
        .unwrap();
    let after = get(&app, "/console/treasury/batches", &two.refresh).await;
    assert_eq!(after.status(), 303);
    assert_eq!(location(&after), "/console/masuk");
}

/// The sign-in form's token (from the page and its cookie).
async fn sign_in_form(app: &TestApp) -> (String, String) {
    let res = app
        .client
        .get(app.url("/console/masuk"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let pre = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("peken-console-form="))
        .expect("the sign-in form's cookie");
    let pre = pre.split(';').next().unwrap().to_owned();
    (pre, csrf_in(&res.text().await.unwrap()))
}

async fn sign_in(
    app: &TestApp,
    pre: &str,
    csrf: &str,
    login: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/console/masuk"))
        .header(COOKIE_HEADER, pre)
        .form_body(&[("csrf", csrf), ("login", login), ("password", password)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn signing_in_sets_a_strict_cookie_and_keeps_the_lockout() {
    let app = spawn_app_with(Options {
        vars: vec![("PEKEN_LOGIN_MAX_FAILURES".into(), "2".into())],
        ..Options::default()
    })
    .await;
    let email = staff_email(&app, "treasury", None).await;
    let (pre, csrf) = sign_in_form(&app).await;
    // Without the form's cookie (a page of another site cannot read or set it): refused.
    let res = app
        .client
        .post(app.url("/console/masuk"))
        .form_body(&[
            ("csrf", csrf.as_str()),
            ("login", &email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    for _ in 0..2 {
        let res = sign_in(&app, &pre, &csrf, &email, "wrong-password-123").await;
        assert_eq!(res.status(), 401);
        assert!(res.text().await.unwrap().contains("kata sandi salah"));
    }
    // Locked out like the API's login: the right password no longer works from here.
    let res = sign_in(&app, &pre, &csrf, &email, PASSWORD).await;
    assert_eq!(res.status(), 401);

    let res = sign_in(&app, &pre, &csrf, ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/console");
    let set = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{COOKIE}=")))
        .expect("the session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(set.contains(attribute), "{attribute} missing: {set}");
    }
    let token = set.split(';').next().unwrap()[COOKIE.len() + 1..].to_owned();
    let home = get(&app, "/console", &token).await;
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(html.contains("Dinkopumdag"), "{html}");
    assert!(html.contains("lang=\"id\""));
}

#[tokio::test]
async fn a_merchant_named_like_markup_is_shown_as_text() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let admin = app.admin().await;
    let (id, _) = merchant(&app, "umkm", KEL, None).await;
    crate::fixtures::execute(
        &app,
        &format!(
            "UPDATE merchants SET status = 'pending', name = '<script>alert(1)</script>' \
             WHERE id = '{id}'"
        ),
    )
    .await;
    let res = get(&app, "/console/admin/merchants", &admin.refresh).await;
    assert_eq!(res.status(), 200);
    let csp = res
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"));
}

#[tokio::test]
async fn the_stylesheet_is_embedded_and_revalidated_by_its_etag() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let res = app
        .client
        .get(app.url("/console/assets/console.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(res.text().await.unwrap().contains("font"));
    let again = app
        .client
        .get(app.url("/console/assets/console.css"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn over_plain_http_the_cookie_is_not_secure_and_not_host_prefixed() {
    let app = spawn_app_with(Options {
        vars: vec![("PEKEN_PUBLIC_URL".into(), "http://127.0.0.1:8080".into())],
        ..Options::default()
    })
    .await;
    let (pre, csrf) = sign_in_form(&app).await;
    let res = sign_in(&app, &pre, &csrf, ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(res.status(), 303);
    let set = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("peken-console="))
        .expect("the plain session cookie");
    assert!(!set.contains("Secure"), "{set}");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    // Behind a TLS proxy the request says https: the cookie is Secure again.
    let (pre, csrf) = sign_in_form(&app).await;
    let res = app
        .client
        .post(app.url("/console/masuk"))
        .header(COOKIE_HEADER, pre)
        .header("x-forwarded-proto", "https")
        .form_body(&[
            ("csrf", csrf.as_str()),
            ("login", ADMIN_EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let set = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set.starts_with(&format!("{COOKIE}=")) && set.contains("Secure"),
        "{set}"
    );
}

#[tokio::test]
async fn a_session_ends_after_the_configured_hours() {
    let app = spawn_app_with(Options {
        vars: vec![("PEKEN_CONSOLE_SESSION_HOURS".into(), "2".into())],
        start: Some(utc(2026, 3, 4, 3)),
    })
    .await;
    let treasurer = app.staff("treasury", None).await;
    app.clock.advance(chrono::Duration::minutes(110));
    let res = get(&app, "/console/treasury/batches", &treasurer.refresh).await;
    assert_eq!(res.status(), 200);
    app.clock.advance(chrono::Duration::minutes(11));
    let res = get(&app, "/console/treasury/batches", &treasurer.refresh).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/console/masuk");
}

#[tokio::test]
async fn a_control_character_in_a_form_is_422_and_changes_nothing() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let treasurer = app.staff("treasury", None).await;
    let page = get(&app, "/console/treasury/holds", &treasurer.refresh)
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&page);
    let made_up = "/console/treasury/holds/01a00000-0000-7000-8000-000000000000/clearance";
    for text in ["rekening\u{0}ditutup", "baris\u{1b}[2J"] {
        let res = post(
            &app,
            made_up,
            &treasurer.refresh,
            &[("csrf", csrf.as_str()), ("text", text)],
            &[],
        )
        .await;
        assert_eq!(res.status(), 422, "{text:?}");
        assert!(res.text().await.unwrap().contains("control_character"));
    }
    // Line breaks from a textarea pass the guard (the made-up hold is then not found).
    let res = post(
        &app,
        made_up,
        &treasurer.refresh,
        &[
            ("csrf", csrf.as_str()),
            ("text", "baris satu\r\nbaris\tdua"),
        ],
        &[],
    )
    .await;
    assert_eq!(res.status(), 404);
}
