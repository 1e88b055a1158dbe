//! The web console: sessions, CSRF and escaping over plain HTTP (`session`), and the treasury's
//! and the cooperatives office's work in headless Chromium (`browser`).

mod admin;
mod browser;
mod office;
mod refund_batches;
mod session;
mod treasury;
mod webdriver;

use peken_tests::{PASSWORD, TestApp};
use serde_json::json;

/// The session cookie's name when the public address is https (as in every test server).
pub const COOKIE: &str = "__Host-peken-console";

/// Creates a staff user and returns its e-mail address (the console signs in with it).
pub async fn staff_email(app: &TestApp, role: &str, opd_id: Option<&str>) -> String {
    let admin = app.admin().await;
    let email = format!("{role}-{}@console.test", uuid::Uuid::new_v4().simple());
    app.post(
        "/api/v1/admin/users",
        Some(&admin.token),
        &json!({"role": role, "email": email, "password": PASSWORD, "name": format!("Konsol {role}"), "opd_id": opd_id}),
    )
    .await
    .expect(201);
    email
}

/// The CSRF token of the first form in a page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A form body, `application/x-www-form-urlencoded`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A request builder with a form body.
pub trait FormBody {
    #[must_use]
    fn form_body(self, pairs: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(form(pairs))
    }
}
