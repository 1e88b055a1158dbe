//! Real `peken` processes on one fresh PostgreSQL database (and one Redis prefix), a client
//! that can address each of them, and direct access to the database for the checks.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use peken_kernel::scratch::ScratchDatabase;
use reqwest::Method;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

pub const JWT_SECRET: &str = "scale-out-signing-key-that-is-long-enough-42";
pub const WEBHOOK_SECRET: &str = "scale-out-webhook-secret-0123456789";
pub const ADMIN_EMAIL: &str = "admin@scale.test";
pub const PASSWORD: &str = "correct-horse-battery";
pub const METRICS_TOKEN: &str = "scale-out-metrics-token-0123";

/// The processes; they are killed when this is dropped, whether the test passed or not.
pub struct Cluster {
    children: Vec<Child>,
    bases: Vec<String>,
    root: PathBuf,
    client: reqwest::Client,
    /// The shared database, for the checks.
    pub db: DatabaseConnection,
    /// Its URL on the primary.
    pub database_url: String,
    /// Where each process writes its mail (`.eml` files, one per message sent).
    pub mail_dirs: Vec<PathBuf>,
    /// Whether the processes share a Redis.
    pub redis: bool,
    /// The database, dropped after the processes when the test passed.
    _scratch: ScratchDatabase,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            // The processes' own logs tell why; show their ends.
            for i in 0..self.children.len() {
                let log = std::fs::read_to_string(self.root.join(format!("p{i}.log")))
                    .unwrap_or_default();
                eprintln!("--- process {i}, last lines of its log ---");
                let lines: Vec<&str> = log.lines().collect();
                for line in &lines[lines.len().saturating_sub(40)..] {
                    eprintln!("{line}");
                }
            }
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// What the servers reach the database through, beside the primary itself.
#[derive(Default)]
pub struct Parts {
    /// A pooler's URL (any database name on it): the servers' `PEKEN_DATABASE_URL` names the
    /// test's database on it.
    pub pooler: Option<String>,
    /// A streaming replica's URL: `PEKEN_DATABASE_READ_URL` names the test's database on it.
    pub replica: Option<String>,
    /// More settings for every server.
    pub vars: Vec<(String, String)>,
}

/// `database_url`'s database on the server of `server_url`, with `server_url`'s query.
pub fn same_database(server_url: &str, database_url: &str) -> String {
    let (server, query) = server_url
        .split_once('?')
        .map_or((server_url, None), |(s, q)| (s, Some(q)));
    let (prefix, _) = server.rsplit_once('/').unwrap();
    let name = database_url.rsplit('/').next().unwrap();
    let name = name.split('?').next().unwrap();
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// The URL in `var` (`PEKEN_TEST_REPLICA_URL`, `PEKEN_TEST_PGBOUNCER_URL`), which
/// `scripts/replica.sh start` prints. Unset, a test needing it is skipped, except in CI
/// (`CI=true`), whose PostgreSQL pass always has it: there a missing part is a failure.
pub fn part(var: &str) -> Option<String> {
    let value = std::env::var(var).ok().filter(|v| !v.is_empty());
    if value.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{var} is not set in CI: .ci/run starts the replica and PgBouncer \
             (scripts/replica.sh start) before the PostgreSQL pass"
        );
    }
    value
}

/// Held for reading by a test whose processes go through PgBouncer, and for writing by a test
/// that stops or restarts PgBouncer or the replica: the tests of this binary run in parallel, a
/// restart would cut the others' connections, and their writes (a database created, migrated and
/// loaded) would hold the replica back while it catches up.
pub static PARTS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Runs `scripts/replica.sh` with `command` (`stop-replica`, `start-replica`,
/// `restart-pgbouncer`).
pub fn replica_script(command: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/replica.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(command)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/replica.sh {command} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A response from one of the processes.
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Reply {
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "unexpected status: {}", self.text);
        self
    }

    /// The string at a JSON pointer of the body.
    #[track_caller]
    pub fn str(&self, pointer: &str) -> String {
        self.body
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no {pointer} in {}", self.text))
            .to_owned()
    }

    async fn of(res: reqwest::Response) -> Reply {
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, body, text }
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `peken` command with exactly the settings given: inherited `PEKEN_*` variables (the test
/// suite's own) are removed, so each process sees only its configuration.
fn peken(vars: &[(String, String)], args: &[&str], log: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_peken"));
    for (key, _) in std::env::vars() {
        if key.starts_with("PEKEN_") {
            cmd.env_remove(key);
        }
    }
    let out = std::fs::File::create(log).unwrap();
    cmd.args(args)
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    cmd
}

impl Cluster {
    /// Migrates a fresh database with `peken migrate`, as a deployment's migration job does, then
    /// starts `processes` servers at once (racing to create the bootstrap admin), each with its
    /// workers on and its own data directory, and waits until every one is ready.
    /// The servers reach the database through `parts`.
    pub async fn start_with(database_base_url: &str, processes: usize, parts: &Parts) -> Cluster {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let root = std::env::temp_dir().join(format!("peken-scale-out-{id}"));
        std::fs::create_dir_all(&root).unwrap();
        let scratch = ScratchDatabase::create(database_base_url, "scale")
            .await
            .expect("PostgreSQL reachable");
        let database_url = scratch.url.clone();
        let mut common: Vec<(String, String)> = [
            ("PEKEN_DATABASE_URL", database_url.as_str()),
            ("PEKEN_JWT_SECRET", JWT_SECRET),
            ("PEKEN_PAYMENT_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("PEKEN_METRICS_TOKEN", METRICS_TOKEN),
            (
                "PEKEN_DOCUMENT_SECRET",
                "scale-out-document-secret-0123456789",
            ),
            ("PEKEN_PUBLIC_URL", "http://127.0.0.1"),
            ("PEKEN_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL),
            ("PEKEN_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
            ("PEKEN_AUTO_MIGRATE", "false"),
            ("PEKEN_RUN_WORKERS", "true"),
            ("PEKEN_WORKER_INTERVAL_MS", "200"),
            ("PEKEN_PASSWORD_HASH_MEMORY_KIB", "1024"),
            ("PEKEN_HTTP_WORKERS", "2"),
            ("PEKEN_DB_MAX_CONNECTIONS", "8"),
            ("PEKEN_LOGIN_IP_PER_MINUTE", "100000"),
            ("PEKEN_REGISTRATION_IP_PER_MINUTE", "100000"),
            ("PEKEN_REGISTRATION_PER_MINUTE", "100000"),
            ("PEKEN_REFRESH_IP_PER_MINUTE", "100000"),
            ("PEKEN_LOGIN_ACCOUNT_PER_MINUTE", "100000"),
            ("PEKEN_UNPAID_CHECKOUTS_PER_BUYER", "1000"),
            ("PEKEN_RESERVED_UNITS_PER_BUYER", "1000000"),
            ("PEKEN_LOG", "warn"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let redis = std::env::var("PEKEN_TEST_REDIS_URL")
            .ok()
            .filter(|v| !v.is_empty());
        if let Some(redis) = &redis {
            common.push(("PEKEN_REDIS_URL".into(), redis.clone()));
            common.push(("PEKEN_REDIS_PREFIX".into(), format!("test:{id}:")));
        }

        // The migration runs on the primary directly, as the Job does; the servers go through
        // the pooler when there is one.
        let mut migrate = common.clone();
        if let Some(pooler) = &parts.pooler {
            common[0].1 = same_database(pooler, &database_url);
        }
        if let Some(replica) = &parts.replica {
            common.push((
                "PEKEN_DATABASE_READ_URL".into(),
                same_database(replica, &database_url),
            ));
        }
        common.extend(parts.vars.iter().cloned());
        migrate.push(("PEKEN_DATA_DIR".into(), root.display().to_string()));
        let log = root.join("migrate.log");
        let status = peken(&migrate, &["migrate"], &log).status().unwrap();
        assert!(
            status.success(),
            "peken migrate failed: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );

        let mut cluster = Cluster {
            children: Vec::new(),
            bases: Vec::new(),
            root: root.clone(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            db: Database::connect(database_url.as_str()).await.unwrap(),
            database_url: database_url.clone(),
            mail_dirs: Vec::new(),
            redis: redis.is_some(),
            _scratch: scratch,
        };
        for i in 0..processes {
            let port = free_port();
            let data_dir = root.join(format!("p{i}"));
            std::fs::create_dir_all(&data_dir).unwrap();
            let mut vars = common.clone();
            vars.push(("PEKEN_LISTEN".into(), format!("127.0.0.1:{port}")));
            vars.push(("PEKEN_DATA_DIR".into(), data_dir.display().to_string()));
            let log = root.join(format!("p{i}.log"));
            cluster
                .children
                .push(peken(&vars, &["serve"], &log).spawn().unwrap());
            cluster.bases.push(format!("http://127.0.0.1:{port}"));
            cluster.mail_dirs.push(data_dir.join("mail"));
        }
        for i in 0..processes {
            let started = Instant::now();
            loop {
                if let Some(exit) = cluster.children[i].try_wait().unwrap() {
                    panic!("process {i} exited at start: {exit}");
                }
                if cluster.get(i, "/readyz", None).await.status == 200 {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "process {i} never became ready"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        cluster
    }

    /// Sends a request to process `process` (modulo the number of processes).
    pub async fn send(
        &self,
        process: usize,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = format!("{}{path}", self.bases[process % self.bases.len()]);
        let mut req = self.client.request(method, url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        match req.send().await {
            Ok(res) => Reply::of(res).await,
            // Only the readiness loop asks a process that may not listen yet.
            Err(e) => Reply {
                status: 0,
                body: Value::Null,
                text: e.to_string(),
            },
        }
    }

    pub async fn get(&self, p: usize, path: &str, token: Option<&str>) -> Reply {
        self.send(p, Method::GET, path, token, None, &[]).await
    }

    pub async fn post(&self, p: usize, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(p, Method::POST, path, token, Some(body), &[])
            .await
    }

    /// Logs in on process `p`: (access token, refresh token).
    pub async fn login(&self, p: usize, login: &str) -> (String, String) {
        let r = self
            .post(
                p,
                "/api/v1/auth/login",
                None,
                &json!({"login": login, "password": PASSWORD}),
            )
            .await
            .expect(200);
        (r.str("/access_token"), r.str("/refresh_token"))
    }

    /// Sends process `p` a payment provider's callback signed with the shared secret.
    pub async fn callback(
        &self,
        p: usize,
        payment_id: &str,
        amount: i64,
        reference: &str,
    ) -> Reply {
        let body = json!({"payment_id": payment_id, "provider_reference": reference,
                          "amount": amount, "paid_at": chrono::Utc::now().to_rfc3339()})
        .to_string();
        let signature = peken_order::http::sign(WEBHOOK_SECRET, body.as_bytes());
        let url = format!(
            "{}/api/v1/payments/callback",
            self.bases[p % self.bases.len()]
        );
        let res = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("X-Peken-Signature", signature)
            .body(body)
            .send()
            .await
            .expect("callback sent");
        Reply::of(res).await
    }

    /// An integer metric of this process's `/metrics`, by its full name (no labels).
    pub async fn metric(&self, p: usize, name: &str) -> i64 {
        let text = self
            .get(p, "/metrics", Some(METRICS_TOKEN))
            .await
            .expect(200)
            .text;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics"))
    }

    /// The single integer a query returns.
    pub async fn number(&self, sql: &str) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no row from {sql}"));
        row.try_get_by_index::<i64>(0).unwrap()
    }

    /// The first column of every row a query returns, as text.
    pub async fn strings(&self, sql: &str) -> Vec<String> {
        let backend = self.db.get_database_backend();
        self.db
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get_by_index::<String>(0).unwrap())
            .collect()
    }
}

/// Polls `check` until it holds, failing after `limit`. The condition is what the test waits
/// for; the pause between looks only keeps the polling cheap.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
