//! Black-box test harness: starts the real server on port 0 against a fresh database (a new
//! PostgreSQL database when `PEKEN_TEST_DATABASE_URL` is set, else a new SQLite file) and a
//! fresh Redis key prefix when `PEKEN_TEST_REDIS_URL` is set, a fresh bucket of the S3-compatible
//! server at `PEKEN_TEST_S3_URL` (CI runs moto) when that is set, else the data directory's
//! media folder, and talks to it over HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    clippy::return_self_not_must_use,
    reason = "test support code: a failed expectation is a failed test"
)]

pub mod fcm;
pub mod smtp;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use peken_kernel::AppState;
use peken_kernel::clock::ManualClock;
use peken_kernel::scratch::ScratchDatabase;
use peken_kernel::settings::Settings;
use peken_migrations::{Migrator, MigratorTrait};
use peken_server::Application;
use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "admin@test.local";
pub const PASSWORD: &str = "correct-horse-battery";
pub const WEBHOOK_SECRET: &str = "test-webhook-secret-0123456789";
/// The key of receipts' verification codes.
pub const DOCUMENT_SECRET: &str = "test-document-secret-0123456789abcdef";
/// The address test servers print on documents (requests go to the port the server got).
pub const PUBLIC_URL: &str = "https://peken.test";
/// The metrics token of servers on PostgreSQL, where one is required (the embedded mode on
/// SQLite leaves `/metrics` open unless a test sets one).
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub state: AppState,
    data_dir: PathBuf,
    /// This test's PostgreSQL database, dropped with the app.
    _postgres: Option<ScratchDatabase>,
}

/// Options for starting a test server.
#[derive(Default, Clone)]
pub struct Options {
    /// Extra `PEKEN_*` settings.
    pub vars: Vec<(String, String)>,
    /// Start the clock here instead of now.
    pub start: Option<DateTime<Utc>>,
}

/// Whether the suite runs against PostgreSQL (and Redis) this time.
pub fn on_postgres() -> bool {
    std::env::var("PEKEN_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty())
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let data_dir = std::env::temp_dir().join(format!("peken-test-{id}"));
    std::fs::create_dir_all(&data_dir).unwrap();
    let (database_url, postgres) = match std::env::var("PEKEN_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let scratch = ScratchDatabase::create(&base, "api")
                .await
                .expect("PostgreSQL reachable");
            (scratch.url.clone(), Some(scratch))
        }
        _ => {
            let file = data_dir.join("peken.db");
            std::fs::copy(sqlite_template().await, &file).expect("copying the migrated template");
            (format!("sqlite://{}?mode=rwc", file.display()), None)
        }
    };
    let mut vars: Vec<(String, String)> = vec![
        ("PEKEN_LISTEN".into(), "127.0.0.1:0".into()),
        ("PEKEN_DATA_DIR".into(), data_dir.display().to_string()),
        ("PEKEN_DATABASE_URL".into(), database_url),
        ("PEKEN_AUTO_MIGRATE".into(), "true".into()),
        (
            "PEKEN_JWT_SECRET".into(),
            "test-signing-key-that-is-long-enough-0123".into(),
        ),
        ("PEKEN_PAYMENT_WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into()),
        ("PEKEN_DOCUMENT_SECRET".into(), DOCUMENT_SECRET.into()),
        ("PEKEN_PUBLIC_URL".into(), PUBLIC_URL.into()),
        ("PEKEN_VERIFY_IP_PER_MINUTE".into(), "100000".into()),
        ("PEKEN_BOOTSTRAP_ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
        ("PEKEN_BOOTSTRAP_ADMIN_PASSWORD".into(), PASSWORD.into()),
        // Cheap hashes keep the suite fast; production uses the default cost.
        ("PEKEN_PASSWORD_HASH_MEMORY_KIB".into(), "1024".into()),
        ("PEKEN_HTTP_WORKERS".into(), "2".into()),
        ("PEKEN_RUN_WORKERS".into(), "false".into()),
        ("PEKEN_DB_MAX_CONNECTIONS".into(), "30".into()),
        // Tests log in far more often than people; the rate-limit test sets its own limit.
        ("PEKEN_LOGIN_IP_PER_MINUTE".into(), "100000".into()),
        ("PEKEN_LOGIN_ACCOUNT_PER_MINUTE".into(), "100000".into()),
        ("PEKEN_CHECKOUT_PER_MINUTE".into(), "100000".into()),
        ("PEKEN_REGISTRATION_IP_PER_MINUTE".into(), "100000".into()),
        ("PEKEN_REGISTRATION_PER_MINUTE".into(), "100000".into()),
        ("PEKEN_REFRESH_IP_PER_MINUTE".into(), "100000".into()),
        // Tests hold many unpaid checkouts per buyer; the holding test sets its own limits.
        ("PEKEN_UNPAID_CHECKOUTS_PER_BUYER".into(), "1000".into()),
        ("PEKEN_RESERVED_UNITS_PER_BUYER".into(), "1000000".into()),
        (
            "PEKEN_LOG".into(),
            std::env::var("PEKEN_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        ),
    ];
    if let Ok(redis) = std::env::var("PEKEN_TEST_REDIS_URL")
        && !redis.is_empty()
    {
        vars.push(("PEKEN_REDIS_URL".into(), redis));
        vars.push(("PEKEN_REDIS_PREFIX".into(), format!("test:{id}:")));
    }
    if postgres.is_some() {
        vars.push(("PEKEN_METRICS_TOKEN".into(), METRICS_TOKEN.into()));
    }
    if let Some(s3) = test_s3_url() {
        let bucket = format!("peken-test-{}", &id[..20]);
        create_bucket(&s3, &bucket).await;
        vars.extend([
            ("PEKEN_MEDIA_URL".into(), format!("s3://{bucket}")),
            ("PEKEN_MEDIA_S3_ENDPOINT".into(), s3),
            ("PEKEN_MEDIA_S3_ACCESS_KEY_ID".into(), "peken-test".into()),
            (
                "PEKEN_MEDIA_S3_SECRET_ACCESS_KEY".into(),
                "peken-test-secret".into(),
            ),
        ]);
    }
    vars.extend(options.vars);
    let settings = Settings::from_vars(vars).expect("test settings are valid");
    peken_kernel::telemetry::init(&settings.log_filter, settings.log_format, std::io::stderr);
    let clock = ManualClock::new(options.start.unwrap_or_else(Utc::now));
    let listener = TcpListener::bind(&settings.listen).unwrap();
    let state = peken_server::build_state(settings, Arc::new(clock.clone()))
        .await
        .expect("state builds");
    let app = Application::with_state(listener, state.clone()).expect("server builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run());
    TestApp {
        base,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock,
        state,
        data_dir,
        _postgres: postgres,
    }
}

/// A SQLite database file with every migration applied, made once per test process and
/// copied for each test server: quicker than migrating each one (the server's own migration
/// run then finds nothing to do). On PostgreSQL a copy (`CREATE DATABASE … TEMPLATE`) is slower
/// than migrating, so each test's database is migrated by its server.
async fn sqlite_template() -> &'static std::path::Path {
    static TEMPLATE: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            sweep_sqlite_templates();
            let dir = std::env::temp_dir().join(format!("peken-template-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join("peken.db");
            let _ = std::fs::remove_file(&file);
            let db = peken_kernel::db::connect(&format!("sqlite://{}?mode=rwc", file.display()), 1)
                .await
                .unwrap();
            Migrator::up(&db, None).await.expect("migrations apply");
            // Everything into the file itself, which is what is copied.
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .unwrap();
            db.close().await.unwrap();
            file
        })
        .await
}

/// Removes the SQLite templates of test processes that have ended.
fn sweep_sqlite_templates() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("peken-template-"))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The S3-compatible server the suite keeps media in (`PEKEN_TEST_S3_URL`), if any.
pub fn test_s3_url() -> Option<String> {
    std::env::var("PEKEN_TEST_S3_URL")
        .ok()
        .map(|url| url.trim().trim_end_matches('/').to_owned())
        .filter(|url| !url.is_empty())
}

/// A new bucket on the test S3 server; moto takes an unsigned `PUT /{bucket}`.
async fn create_bucket(s3: &str, bucket: &str) {
    let response = reqwest::Client::new()
        .put(format!("{s3}/{bucket}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("the S3 server at {s3} (PEKEN_TEST_S3_URL) answers: {e}"));
    assert!(
        response.status().is_success(),
        "creating bucket {bucket}: {}",
        response.status()
    );
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A response: status, body as JSON (or `Value::Null`), and headers.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The problem `code` of an error response.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Asserts the status and returns self, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a problem response with this status and code.
    #[track_caller]
    pub fn expect_problem(self, status: u16, code: &str) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.text);
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(ct, "application/problem+json", "problem content type");
        self
    }

    /// The field codes of a validation problem.
    pub fn field_codes(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|errs| {
                errs.iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap_or("").to_owned(),
                            e["code"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Every problem response the suite sees: its code is in the catalogue for its status, it says
/// its language, and an Indonesian one has the catalogue's title, its meaning with every fact
/// filled in as `detail`, and the catalogue's meaning of each field error's code as `message`.
#[track_caller]
pub fn check_problem(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &Value) {
    let is_problem = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/problem+json"));
    if !is_problem {
        assert!(
            !status.is_client_error() && !status.is_server_error(),
            "an error that is not problem+json: {status} {body}"
        );
        return;
    }
    let code = body["code"].as_str().unwrap_or("");
    let entry = peken_kernel::problems::lookup(code).unwrap_or_else(|| {
        panic!("the problem code `{code}` has no entry in the catalogue; body: {body}")
    });
    assert!(
        entry.statuses.contains(&status.as_u16()),
        "`{code}` answered with {status}, the catalogue lists {:?}",
        entry.statuses
    );
    let language = headers
        .get("content-language")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let vary = headers
        .get("vary")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        vary.to_ascii_lowercase().contains("accept-language"),
        "Vary: {vary}"
    );
    match language {
        "id" => {
            assert_eq!(body["title"], entry.id.title, "{body}");
            let detail = peken_kernel::problems::fill(entry.id.meaning, body.get("context"));
            assert!(
                detail.is_some(),
                "`{code}`: the context lacks a fact its meaning names; body: {body}"
            );
            assert_eq!(body["detail"].as_str(), detail.as_deref(), "{body}");
            for error in body["errors"].as_array().into_iter().flatten() {
                let field_code = error["code"].as_str().unwrap_or("");
                let field = peken_kernel::problems::lookup(field_code).unwrap_or_else(|| {
                    panic!("the field code `{field_code}` has no entry in the catalogue")
                });
                assert!(
                    field.field,
                    "`{field_code}` is not catalogued as a field code"
                );
                assert_eq!(error["message"], field.id.meaning, "{body}");
            }
        }
        "en" => {
            for error in body["errors"].as_array().into_iter().flatten() {
                let field_code = error["code"].as_str().unwrap_or("");
                assert!(
                    peken_kernel::problems::lookup(field_code).is_some_and(|f| f.field),
                    "the field code `{field_code}` is not in the catalogue"
                );
            }
        }
        other => panic!("a problem says Content-Language {other:?}"),
    }
}

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub token: String,
    pub refresh: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request sent");
        Self::reply(res).await
    }

    pub async fn reply(res: reqwest::Response) -> Reply {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        check_problem(status, &headers, &body);
        Reply {
            status,
            body,
            text,
            headers,
        }
    }

    /// `/metrics`, with this server's metrics token when it has one.
    pub async fn metrics(&self) -> String {
        let token = self
            .state
            .settings
            .metrics_token
            .as_ref()
            .map(peken_kernel::settings::Secret::expose);
        self.get("/metrics", token).await.expect(200).text
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, token, None, &[]).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(Method::POST, path, token, Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(Method::PATCH, path, token, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::DELETE, path, token, None, &[]).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(Method::PUT, path, token, Some(body), &[]).await
    }

    /// Sends a raw body with a content type (CSV uploads, statement files).
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &str,
    ) -> Reply {
        let mut req = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body.to_owned());
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        Self::reply(req.send().await.expect("request sent")).await
    }

    pub async fn login(&self, login: &str, password: &str) -> User {
        let reply = self
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"login": login, "password": password}),
            )
            .await
            .expect(200);
        let token = reply.body["access_token"].as_str().unwrap().to_owned();
        let me = self.get("/api/v1/me", Some(&token)).await.expect(200);
        User {
            id: me.body["id"].as_str().unwrap().to_owned(),
            token,
            refresh: reply.body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn admin(&self) -> User {
        self.login(ADMIN_EMAIL, PASSWORD).await
    }

    /// Creates a staff user (`admin`, `treasury`, `opd_admin`) and logs in as it.
    pub async fn staff(&self, role: &str, opd_id: Option<&str>) -> User {
        let admin = self.admin().await;
        let email = format!("{role}-{}@test.local", uuid::Uuid::new_v4().simple());
        self.post(
            "/api/v1/admin/users",
            Some(&admin.token),
            &json!({"role": role, "email": email, "password": PASSWORD, "name": format!("Test {role}"), "opd_id": opd_id}),
        )
        .await
        .expect(201);
        self.login(&email, PASSWORD).await
    }

    /// Creates a camat of the kecamatan `kecamatan_code` and logs in as it.
    pub async fn camat(&self, kecamatan_code: &str) -> User {
        let admin = self.admin().await;
        let email = format!("camat-{}@test.local", uuid::Uuid::new_v4().simple());
        self.post(
            "/api/v1/admin/users",
            Some(&admin.token),
            &json!({"role": "camat", "email": email, "password": PASSWORD, "name": "Test Camat",
                    "kecamatan_code": kecamatan_code}),
        )
        .await
        .expect(201);
        self.login(&email, PASSWORD).await
    }

    pub async fn create_opd(&self, code: &str) -> String {
        let admin = self.admin().await;
        let reply = self
            .post(
                "/api/v1/admin/opds",
                Some(&admin.token),
                &json!({"code": code, "name": format!("Dinas {code}")}),
            )
            .await
            .expect(201);
        reply.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates an ASN with a generated valid NIP in `opd_id` and logs in as it.
    pub async fn asn(&self, opd_id: &str, position_class: &str, kelurahan: &str) -> (User, String) {
        let admin = self.admin().await;
        let nip = next_nip();
        self.post(
            "/api/v1/admin/asn",
            Some(&admin.token),
            &json!({
                "nip": nip, "name": "Test ASN", "email": format!("{nip}@asn.test"),
                "password": PASSWORD, "opd_id": opd_id, "position_class": position_class,
                "domicile_kelurahan_code": kelurahan,
            }),
        )
        .await
        .expect(201);
        (self.login(&nip, PASSWORD).await, nip)
    }

    /// Registers a public buyer with a generated valid NIK and logs in as it.
    pub async fn public_buyer(&self, kelurahan: &str) -> User {
        let nik = next_nik();
        self.register(&json!({
            "nik": nik, "name": "Warga Uji", "email": format!("{nik}@warga.test"),
            "phone": "081234567890", "password": PASSWORD, "kelurahan_code": kelurahan,
        }))
        .await
        .expect(201);
        self.login(&nik, PASSWORD).await
    }

    /// Registers a public buyer and confirms with the code mailed to the form's address; the
    /// confirmation's reply (201 with the user when all went well).
    pub async fn register(&self, form: &Value) -> Reply {
        self.post("/api/v1/auth/register", None, form)
            .await
            .expect(202);
        let code = self
            .mailed_code("registration_confirm", form["email"].as_str().unwrap())
            .await
            .expect("a confirmation mail");
        self.post(
            "/api/v1/auth/register/confirm",
            None,
            &json!({ "token": code }),
        )
        .await
    }

    /// The texts of the queued mails of one template to one address, oldest first.
    pub async fn mails(&self, template: &str, to: &str) -> Vec<String> {
        let backend = self.state.db.get_database_backend();
        self.state
            .db
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                "SELECT body_text FROM mail_outbox WHERE template = $1 AND recipient = $2 \
                 ORDER BY created_at, id",
                [template.into(), to.into()],
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get_by_index::<String>(0).unwrap())
            .collect()
    }

    /// The code in the newest mail of one template to one address (see [`code_in`]).
    pub async fn mailed_code(&self, template: &str, to: &str) -> Option<String> {
        code_in(&self.mails(template, to).await.pop()?)
    }
}

/// The code in a mail's text: the one line that is a 43-character token.
pub fn code_in(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| {
            l.len() == 43
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
}

static SEQUENCE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

/// A valid, unique PNS NIP: born 1 Jan 1990, appointed Jan 2015, male, a running sequence.
pub fn next_nip() -> String {
    let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Spread the sequence over day of birth and sequence digits to keep numbers unique.
    let day = 1 + (n / 999) % 28;
    let seq = 1 + n % 999;
    format!("199001{day:02}201501 1{seq:03}").replace(' ', "")
}

/// A valid, unique Surabaya NIK.
pub fn next_nik() -> String {
    let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let day = 1 + (n / 9999) % 28;
    let seq = 1 + n % 9999;
    format!("357801{day:02}0190{seq:04}")
}
