//! Real `peken` processes for fault tests: started with exactly the settings given, killed with
//! SIGKILL, started again on the same port, and a small HTTP client that survives a dead server.

use std::fs::OpenOptions;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use peken_kernel::scratch::ScratchDatabase;
use reqwest::Method;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};

pub const JWT_SECRET: &str = "faults-signing-key-that-is-long-enough-0042";
pub const WEBHOOK_SECRET: &str = "faults-webhook-secret-0123456789abcdef";
pub const ADMIN_EMAIL: &str = "admin@faults.test";
pub const PASSWORD: &str = "correct-horse-battery";

/// Prints a figure of a fault test and, when `PEKEN_FIGURES_FILE` names a file (`.ci/run` sets
/// it), appends it there, so a CI run ends with the figures of the run it made.
pub fn figure(line: &str) {
    println!("{line}");
    if let Ok(path) = std::env::var("PEKEN_FIGURES_FILE")
        && !path.is_empty()
        && let Ok(mut file) = OpenOptions::new().create(true).append(true).open(path)
    {
        use std::io::Write as _;
        let _ = writeln!(file, "{line}");
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh scratch directory, removed by the caller when the test passed.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("peken-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The suite's PostgreSQL, if this run has one.
pub fn postgres_base() -> Option<String> {
    std::env::var("PEKEN_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

/// A fresh database on the suite's PostgreSQL server, dropped with the guard once the test
/// passed (a failed test's is left for a look until the next run sweeps it).
pub async fn postgres(base: &str, tag: &str) -> ScratchDatabase {
    ScratchDatabase::create(base, tag)
        .await
        .expect("PostgreSQL reachable")
}

/// The database of a test that runs on either backend: a fresh PostgreSQL database (see
/// [`postgres`]) when the suite has one, else a SQLite file in `root`. Keep the guard until the
/// test ends.
pub async fn database(root: &Path, tag: &str) -> (String, Option<ScratchDatabase>) {
    match postgres_base() {
        Some(pg) => {
            let scratch = postgres(&pg, tag).await;
            (scratch.url.clone(), Some(scratch))
        }
        None => (
            format!("sqlite://{}/peken.db?mode=rwc", root.display()),
            None,
        ),
    }
}

/// The settings every fault test starts from, for a database URL and a data directory.
pub fn base_vars(database_url: &str, data_dir: &Path) -> Vec<(String, String)> {
    [
        ("PEKEN_DATABASE_URL", database_url),
        ("PEKEN_DATA_DIR", &data_dir.display().to_string()),
        ("PEKEN_JWT_SECRET", JWT_SECRET),
        ("PEKEN_PAYMENT_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("PEKEN_METRICS_TOKEN", "faults-metrics-token-0123"),
        (
            "PEKEN_DOCUMENT_SECRET",
            "faults-document-secret-0123456789abc",
        ),
        ("PEKEN_PUBLIC_URL", "http://127.0.0.1"),
        ("PEKEN_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL),
        ("PEKEN_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
        ("PEKEN_PASSWORD_HASH_MEMORY_KIB", "1024"),
        ("PEKEN_HTTP_WORKERS", "2"),
        ("PEKEN_DB_MAX_CONNECTIONS", "10"),
        ("PEKEN_LOGIN_IP_PER_MINUTE", "100000"),
        ("PEKEN_LOGIN_ACCOUNT_PER_MINUTE", "100000"),
        ("PEKEN_CHECKOUT_PER_MINUTE", "100000"),
        ("PEKEN_REGISTRATION_IP_PER_MINUTE", "100000"),
        ("PEKEN_REGISTRATION_PER_MINUTE", "100000"),
        ("PEKEN_REFRESH_IP_PER_MINUTE", "100000"),
        ("PEKEN_UNPAID_CHECKOUTS_PER_BUYER", "1000"),
        ("PEKEN_RESERVED_UNITS_PER_BUYER", "1000000"),
        ("PEKEN_LOG", "warn"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_string()))
    .collect()
}

/// A `peken` command with exactly these settings: the test suite's own `PEKEN_*` variables are
/// removed, so the process sees only its configuration. Output is appended to `log`.
pub fn command(vars: &[(String, String)], args: &[&str], log: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_peken"));
    for (key, _) in std::env::vars() {
        if key.starts_with("PEKEN_") {
            cmd.env_remove(key);
        }
    }
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    cmd.args(args)
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    cmd
}

/// Runs a `peken` command to its end; returns whether it succeeded and what it printed.
pub fn run(vars: &[(String, String)], args: &[&str], log: &Path) -> (bool, String) {
    let before = std::fs::read_to_string(log).unwrap_or_default().len();
    let status = command(vars, args, log).status().unwrap();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    (status.success(), text[before..].to_owned())
}

/// One `peken serve` process on a fixed port, which can be killed and started again.
pub struct Peken {
    child: Option<Child>,
    vars: Vec<(String, String)>,
    pub log: PathBuf,
    pub base: String,
    /// How many times it was started.
    pub starts: u32,
}

impl Peken {
    /// Starts `peken serve` with these settings on a free port; call [`Peken::ready`] next.
    pub fn start(mut vars: Vec<(String, String)>, log: PathBuf) -> Peken {
        let port = free_port();
        vars.push(("PEKEN_LISTEN".into(), format!("127.0.0.1:{port}")));
        let mut p = Peken {
            child: None,
            vars,
            log,
            base: format!("http://127.0.0.1:{port}"),
            starts: 0,
        };
        p.respawn();
        p
    }

    /// Starts the process again with the same settings and port.
    pub fn respawn(&mut self) {
        assert!(self.child.is_none(), "the process is still running");
        self.child = Some(command(&self.vars, &["serve"], &self.log).spawn().unwrap());
        self.starts += 1;
    }

    /// SIGKILL: no shutdown, no flushing, in-flight requests and transactions cut off.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Waits until `/readyz` answers 200.
    pub async fn ready(&mut self, client: &Client, within: Duration) {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(exit) = child.try_wait().unwrap()
            {
                panic!("peken exited at start: {exit}\n{}", self.tail(40));
            }
            if client.get(&self.base, "/readyz", None).await.status == 200 {
                return;
            }
            assert!(
                started.elapsed() < within,
                "peken never became ready\n{}",
                self.tail(40)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of the process's log.
    pub fn tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Peken {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- peken log, last lines ---\n{}", self.tail(60));
        }
    }
}

/// A response; status 0 means the server could not be reached (or did not answer in time).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub content_type: String,
}

impl Reply {
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "unexpected status: {}", self.text);
        self
    }

    #[track_caller]
    pub fn str(&self, pointer: &str) -> String {
        self.body
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no {pointer} in {}", self.text))
            .to_owned()
    }

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// An HTTP client that reports an unreachable server as status 0 instead of failing.
#[derive(Clone)]
pub struct Client(reqwest::Client);

impl Client {
    pub fn new(timeout: Duration) -> Client {
        Client(
            reqwest::Client::builder()
                .timeout(timeout)
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
        )
    }

    pub async fn send(
        &self,
        base: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.0.request(method, format!("{base}{path}"));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::reply(req.send().await).await
    }

    pub async fn send_raw(
        &self,
        base: &str,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.0.post(format!("{base}{path}")).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::reply(req.send().await).await
    }

    async fn reply(res: reqwest::Result<reqwest::Response>) -> Reply {
        match res {
            Ok(res) => {
                let status = res.status().as_u16();
                let content_type = res
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                match res.text().await {
                    Ok(text) => Reply {
                        status,
                        body: serde_json::from_str(&text).unwrap_or(Value::Null),
                        text,
                        content_type,
                    },
                    Err(e) => Reply {
                        status: 0,
                        body: Value::Null,
                        text: e.to_string(),
                        content_type,
                    },
                }
            }
            Err(e) => Reply {
                status: 0,
                body: Value::Null,
                text: e.to_string(),
                content_type: String::new(),
            },
        }
    }

    pub async fn get(&self, base: &str, path: &str, token: Option<&str>) -> Reply {
        self.send(base, Method::GET, path, token, None, &[]).await
    }

    pub async fn post(&self, base: &str, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(base, Method::POST, path, token, Some(body), &[])
            .await
    }

    /// Logs in and returns the access token.
    pub async fn login(&self, base: &str, login: &str) -> String {
        self.post(
            base,
            "/api/v1/auth/login",
            None,
            &json!({"login": login, "password": PASSWORD}),
        )
        .await
        .expect(200)
        .str("/access_token")
    }

    /// Sends a payment provider's "paid" callback, signed with the test secret.
    pub async fn callback(&self, base: &str, payment_id: &str, amount: i64) -> Reply {
        let body = serde_json::to_vec(&json!({
            "payment_id": payment_id, "provider_reference": format!("PRV-{payment_id}"),
            "amount": amount, "paid_at": chrono::Utc::now(),
        }))
        .unwrap();
        let signature = peken_order::http::sign(WEBHOOK_SECRET, &body);
        self.send_raw(
            base,
            "/api/v1/payments/callback",
            body,
            &[
                ("content-type", "application/json"),
                ("X-Peken-Signature", &signature),
            ],
        )
        .await
    }
}

/// A valid, unique Surabaya NIK for buyer `n` of a test (`salt` keeps tests apart).
pub fn nik(salt: usize, n: usize) -> String {
    let k = salt * 1000 + n;
    format!("357801{:02}0190{:04}", 1 + k / 9999 % 28, 1 + k % 9999)
}

/// One integer from the database.
pub async fn number(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Shops with one listing each, opened through the API as the city would.
pub struct Shop {
    pub merchant: String,
    pub owner_email: String,
    pub listing: String,
    pub account_number: String,
}

/// Registers, verifies and stocks `count` shops (`stock` units of a fresh commodity each).
pub async fn open_shops(
    client: &Client,
    base: &str,
    admin: &str,
    salt: usize,
    count: usize,
    stock: i64,
) -> Vec<Shop> {
    let commodity = client
        .post(
            base,
            "/api/v1/admin/commodities",
            Some(admin),
            &json!({"name": format!("Beras Uji {salt}"), "category": "sembako", "unit": "kg"}),
        )
        .await
        .expect(201)
        .str("/id");
    let mut shops = Vec::new();
    for i in 0..count {
        let n = salt * 100 + i;
        let email = format!("shop{n}@faults.test");
        let account_number = format!("77{n:08}");
        let merchant = client
            .post(
                base,
                "/api/v1/merchants",
                None,
                &json!({
                    "name": format!("Toko Uji {n}"), "kind": "toko_kelontong",
                    "nib": format!("95{n:011}"), "owner_nik": nik(salt + 500, i),
                    "mbr": false, "kelurahan_code": "35.78.03.1001", "address": "Jl. Uji 1",
                    "bank": {"bank_code": "008", "account_number": account_number,
                             "account_name": "PEMILIK UJI"},
                    "owner": {"name": "Pemilik", "email": email, "phone": "081234567890",
                              "password": PASSWORD},
                }),
            )
            .await
            .expect(201)
            .str("/id");
        client
            .post(
                base,
                &format!("/api/v1/admin/merchants/{merchant}/verification"),
                Some(admin),
                &json!({"decision": "approve"}),
            )
            .await
            .expect(200);
        let owner = client.login(base, &email).await;
        let listing = client
            .post(
                base,
                &format!("/api/v1/merchants/{merchant}/listings"),
                Some(&owner),
                &json!({"commodity_id": commodity, "price": 12_000, "stock": stock}),
            )
            .await
            .expect(201)
            .str("/id");
        shops.push(Shop {
            merchant,
            owner_email: email,
            listing,
            account_number,
        });
    }
    shops
}

/// The code in the newest mail of `template` to `to`, read from the outbox of the database at
/// `database_url` (what a person would read in their mailbox).
pub async fn mailed_code(database_url: &str, template: &str, to: &str) -> String {
    let db = sea_orm::Database::connect(database_url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT body_text FROM mail_outbox WHERE template = $1 AND recipient = $2 \
             ORDER BY created_at DESC, id DESC",
            [template.into(), to.into()],
        ))
        .await
        .unwrap();
    let text: String = rows[0].try_get_by_index(0).unwrap();
    db.close().await.ok();
    text.lines()
        .map(str::trim)
        .find(|l| {
            l.len() == 43
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_owned()
}

/// Registers `count` public buyers, confirming each with the mailed code, and returns (NIK,
/// access token) of each.
pub async fn register_buyers(
    client: &Client,
    base: &str,
    database_url: &str,
    salt: usize,
    count: usize,
) -> Vec<(String, String)> {
    let mut buyers = Vec::new();
    for i in 0..count {
        let nik = nik(salt, i);
        let email = format!("{nik}@faults.test");
        client
            .post(
                base,
                "/api/v1/auth/register",
                None,
                &json!({
                    "nik": nik, "name": "Warga Uji", "email": email,
                    "phone": "081234567890", "password": PASSWORD,
                    "kelurahan_code": "35.78.03.1002",
                }),
            )
            .await
            .expect(202);
        let code = mailed_code(database_url, "registration_confirm", &email).await;
        client
            .post(
                base,
                "/api/v1/auth/register/confirm",
                None,
                &json!({ "token": code }),
            )
            .await
            .expect(201);
        let token = client.login(base, &nik).await;
        buyers.push((nik, token));
    }
    buyers
}
