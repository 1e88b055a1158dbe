//! Settings from `PEKEN_*` environment variables (a file named by `PEKEN_CONFIG_FILE` may add to
//! them). Every value is checked at start and every wrong one is reported, not only the first.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDate;

use crate::period::parse_holidays;

/// A secret string whose `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The only way to read the value; call it where the secret is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this secret, compared in constant time.
    pub fn matches(&self, candidate: &str) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.0.as_bytes().ct_eq(candidate.as_bytes()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Everything the process is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    /// `None` means the embedded default: a SQLite file in the data directory.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub redis_url: Option<Secret>,
    /// Prefix of every Redis key, so several deployments (or tests) can share one Redis.
    pub redis_prefix: String,
    /// What the in-process caches may hold: the cache of the embedded mode (and of a process
    /// whose Redis is down) and the near cache in front of Redis.
    pub cache_budget: crate::cache::CacheBudget,
    /// What this process's cache of answered browse pages may hold, in bytes.
    pub browse_page_cache_bytes: usize,
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    /// Delivery attempts of one message before it is marked failed for an admin to see.
    pub mail_max_attempts: u32,
    /// The push service account's JSON key file (`PEKEN_PUSH_CREDENTIALS`); push is off without
    /// it.
    pub push_credentials: Option<PathBuf>,
    /// Overrides the key file's `project_id`.
    pub push_project_id: Option<String>,
    /// The FCM endpoint, `https://fcm.googleapis.com` unless a stand-in is used.
    pub push_fcm_url: String,
    /// The OAuth token endpoint the service account's assertion is exchanged at.
    pub push_token_url: String,
    /// Delivery attempts of one push message before it is marked failed.
    pub push_max_attempts: u32,
    pub jwt_secret: Option<Secret>,
    /// Older signing keys still accepted for verification while tokens signed with them live.
    pub jwt_previous_secrets: Vec<Secret>,
    pub payment_webhook_secret: Option<Secret>,
    /// When set, `/metrics` answers only requests bearing it (`Authorization: Bearer …`).
    pub metrics_token: Option<Secret>,
    /// Key of the verification codes printed on documents (the purchase receipt's QR code).
    /// Kept apart from the JWT key: rotating that one must not void receipts already printed.
    pub document_secret: Option<Secret>,
    /// The address people reach this API at, without a trailing `/` (`PEKEN_PUBLIC_URL`):
    /// printed documents link to it. In the embedded mode `http://{PEKEN_LISTEN}` by default.
    pub public_url: String,
    /// Proxies whose forwarded headers name the client (`PEKEN_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<crate::net::Cidr>,
    pub bootstrap_admin_email: Option<String>,
    pub bootstrap_admin_password: Option<Secret>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Consecutive failed logins before an account is locked.
    pub login_max_failures: u32,
    pub login_lockout: Duration,
    /// Login attempts allowed per client address per minute.
    pub login_ip_per_minute: u32,
    /// Login attempts allowed per account per minute (successful or not).
    pub login_account_per_minute: u32,
    /// Checkouts one buyer may place per minute.
    pub checkout_per_minute: u32,
    /// Registrations (public buyers and merchants together) per client address per minute.
    pub registration_ip_per_minute: u32,
    /// Registrations per minute from everyone together: each costs a password hash.
    pub registration_per_minute: u32,
    /// Token refreshes per client address per minute.
    pub refresh_ip_per_minute: u32,
    /// Document verifications (`GET /verify/orders/{id}`) per client address per minute.
    pub verify_ip_per_minute: u32,
    /// Unpaid checkouts (bills still open) one buyer may hold at once.
    pub unpaid_checkouts_per_buyer: u32,
    /// Units one buyer may hold reserved in unpaid checkouts.
    pub reserved_units_per_buyer: u32,
    /// How long a bill with a transfer proof waits for treasury before it expires.
    pub payment_proof_wait: Duration,
    /// Working days a callback's money may go unseen on the bank statement before it is listed
    /// as an exception.
    pub receipt_unconfirmed_working_days: u32,
    /// How long payouts to a merchant's new bank account wait unless an admin confirms it.
    pub bank_account_cooling_off: Duration,
    /// How long a web console session lasts after signing in, whatever the refresh token's
    /// lifetime (`PEKEN_CONSOLE_SESSION_HOURS`).
    pub console_session: Duration,
    pub password_hash_memory_kib: u32,
    pub holidays: Vec<NaiveDate>,
    pub log_filter: String,
    pub log_format: LogFormat,
    pub http_workers: usize,
    pub max_body_bytes: usize,
    pub max_upload_bytes: usize,
    pub request_timeout: Duration,
    pub db_max_connections: u32,
    /// A streaming replica of the primary for reads that may be a little stale
    /// (`PEKEN_DATABASE_READ_URL`, PostgreSQL only); `None` reads everything from the primary.
    pub database_read_url: Option<Secret>,
    /// How far behind the replica may be before its reads go to the primary.
    pub database_read_max_lag: Duration,
    /// How often the replica's health and lag are probed.
    pub database_read_probe_interval: Duration,
    /// Password hashes (Argon2id) computed at once; each takes `password_hash_memory_kib`.
    pub password_hash_concurrency: u32,
    /// Whether this process runs the background workers (expiry, completion, mail, reminders).
    pub run_workers: bool,
    /// Whether `serve` applies pending migrations at start (default: only in the embedded mode).
    pub auto_migrate: bool,
    pub worker_interval: Duration,
    /// How often the low-stock worker looks for listings at or below their threshold.
    pub low_stock_interval: Duration,
    pub shutdown_timeout: Duration,
    /// Where uploaded photos are kept and how clients reach them (`PEKEN_MEDIA_*`).
    pub media: MediaSettings,
}

/// Where uploaded media (product and profile photos) are kept, and the address clients fetch
/// them from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSettings {
    pub storage: MediaStorage,
    /// `PEKEN_MEDIA_PUBLIC_URL` without a trailing `/`: when set, clients are handed
    /// `{public_url}/{key}` (a CDN or the bucket's own address) instead of `/media/{key}`.
    pub public_url: Option<String>,
}

/// The object store behind [`MediaSettings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaStorage {
    /// The folder `media/` in the data directory (the default): one process, or processes
    /// sharing one file system.
    Local,
    /// An S3-compatible bucket (`PEKEN_MEDIA_URL=s3://bucket[/prefix]`), for several replicas.
    S3(S3Settings),
}

/// An S3-compatible bucket and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// Keys are kept under this path in the bucket (no leading or trailing `/`).
    pub prefix: Option<String>,
    /// `PEKEN_MEDIA_S3_ENDPOINT`, for a store other than AWS (`MinIO`, Ceph, a provider's S3).
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
}

/// Every bad value, one line each.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  {}", .problems.join("\n  "))]
pub struct SettingsError {
    pub problems: Vec<String>,
}

impl Settings {
    /// Reads the process environment, after loading `PEKEN_CONFIG_FILE` if set (the file never
    /// overrides a variable that is already set).
    pub fn from_env() -> Result<Self, SettingsError> {
        if let Ok(file) = std::env::var("PEKEN_CONFIG_FILE") {
            dotenvy::from_filename(&file).map_err(|e| SettingsError {
                problems: vec![format!("PEKEN_CONFIG_FILE: cannot read {file}: {e}")],
            })?;
        }
        Self::from_vars(std::env::vars())
    }

    /// Reads settings from explicit `(name, value)` pairs; tests use this directly.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with("PEKEN_"))
            .collect();
        let mut r = Reader {
            vars: &vars,
            problems: Vec::new(),
        };
        let default_workers = std::thread::available_parallelism().map_or(2, usize::from);
        let embedded = vars
            .get("PEKEN_DATABASE_URL")
            .is_none_or(|url| url.trim().is_empty() || url.trim().starts_with("sqlite:"));
        let settings = Settings {
            listen: r
                .string("PEKEN_LISTEN")
                .unwrap_or_else(|| "127.0.0.1:8080".into()),
            database_url: r.database_url(),
            data_dir: r
                .string("PEKEN_DATA_DIR")
                .map_or_else(|| PathBuf::from("./data"), PathBuf::from),
            redis_url: r.url("PEKEN_REDIS_URL", &["redis://", "rediss://"]),
            redis_prefix: r
                .string("PEKEN_REDIS_PREFIX")
                .unwrap_or_else(|| "peken:".into()),
            cache_budget: crate::cache::CacheBudget {
                memory_bytes: r.number("PEKEN_CACHE_MAX_BYTES", 64 << 20, 0, u32::MAX) as usize,
                near_bytes: r.number("PEKEN_CACHE_NEAR_BYTES", 8 << 20, 0, u32::MAX) as usize,
            },
            browse_page_cache_bytes: r.number("PEKEN_BROWSE_PAGE_CACHE_BYTES", 8 << 20, 0, u32::MAX)
                as usize,
            smtp_url: r.url("PEKEN_SMTP_URL", &["smtp://", "smtps://"]),
            mail_from: r
                .string("PEKEN_MAIL_FROM")
                .unwrap_or_else(|| "Peken Surabaya <noreply@peken.surabaya.go.id>".into()),
            mail_max_attempts: r.number("PEKEN_MAIL_MAX_ATTEMPTS", 8, 1, 100),
            push_credentials: r.string("PEKEN_PUSH_CREDENTIALS").map(PathBuf::from),
            push_project_id: r.string("PEKEN_PUSH_PROJECT_ID"),
            push_fcm_url: r
                .string("PEKEN_PUSH_FCM_URL")
                .and_then(|url| r.http_url("PEKEN_PUSH_FCM_URL", &url))
                .unwrap_or_else(|| "https://fcm.googleapis.com".into()),
            push_token_url: r
                .string("PEKEN_PUSH_TOKEN_URL")
                .and_then(|url| r.http_url("PEKEN_PUSH_TOKEN_URL", &url))
                .unwrap_or_else(|| "https://oauth2.googleapis.com/token".into()),
            push_max_attempts: r.number("PEKEN_PUSH_MAX_ATTEMPTS", 8, 1, 100),
            jwt_secret: r.secret_min("PEKEN_JWT_SECRET", 32),
            jwt_previous_secrets: r.previous_secrets("PEKEN_JWT_PREVIOUS_SECRETS", 32),
            payment_webhook_secret: r.secret_min("PEKEN_PAYMENT_WEBHOOK_SECRET", 16),
            metrics_token: r.secret_min("PEKEN_METRICS_TOKEN", 16),
            document_secret: r.secret_min("PEKEN_DOCUMENT_SECRET", 32),
            public_url: r.public_url(embedded),
            trusted_proxies: r.cidrs("PEKEN_TRUSTED_PROXIES"),
            bootstrap_admin_email: r.string("PEKEN_BOOTSTRAP_ADMIN_EMAIL"),
            bootstrap_admin_password: r.secret_min("PEKEN_BOOTSTRAP_ADMIN_PASSWORD", 10),
            access_token_ttl: r.seconds("PEKEN_ACCESS_TOKEN_TTL_SECONDS", 900, 30, 86_400),
            refresh_token_ttl: r.seconds(
                "PEKEN_REFRESH_TOKEN_TTL_SECONDS",
                30 * 86_400,
                60,
                365 * 86_400,
            ),
            login_max_failures: r.number("PEKEN_LOGIN_MAX_FAILURES", 5, 1, 100),
            login_lockout: r.seconds("PEKEN_LOGIN_LOCKOUT_SECONDS", 900, 1, 86_400),
            login_ip_per_minute: r.number("PEKEN_LOGIN_IP_PER_MINUTE", 30, 1, 100_000),
            login_account_per_minute: r.number("PEKEN_LOGIN_ACCOUNT_PER_MINUTE", 20, 1, 100_000),
            checkout_per_minute: r.number("PEKEN_CHECKOUT_PER_MINUTE", 30, 1, 1_000_000),
            registration_ip_per_minute: r.number(
                "PEKEN_REGISTRATION_IP_PER_MINUTE",
                10,
                1,
                1_000_000,
            ),
            registration_per_minute: r.number("PEKEN_REGISTRATION_PER_MINUTE", 120, 1, 1_000_000),
            refresh_ip_per_minute: r.number("PEKEN_REFRESH_IP_PER_MINUTE", 120, 1, 1_000_000),
            verify_ip_per_minute: r.number("PEKEN_VERIFY_IP_PER_MINUTE", 30, 1, 1_000_000),
            unpaid_checkouts_per_buyer: r.number("PEKEN_UNPAID_CHECKOUTS_PER_BUYER", 3, 1, 1_000),
            reserved_units_per_buyer: r.number("PEKEN_RESERVED_UNITS_PER_BUYER", 100, 1, 1_000_000),
            payment_proof_wait: r.seconds(
                "PEKEN_PAYMENT_PROOF_WAIT_SECONDS",
                2 * 86_400,
                60,
                30 * 86_400,
            ),
            receipt_unconfirmed_working_days: r.number(
                "PEKEN_RECEIPT_UNCONFIRMED_WORKING_DAYS",
                2,
                0,
                60,
            ),
            bank_account_cooling_off: r.seconds(
                "PEKEN_BANK_ACCOUNT_COOLING_OFF_SECONDS",
                3 * 86_400,
                0,
                60 * 86_400,
            ),
            console_session: Duration::from_secs(
                3600 * u64::from(r.number("PEKEN_CONSOLE_SESSION_HOURS", 12, 1, 720)),
            ),
            password_hash_memory_kib: r.number(
                "PEKEN_PASSWORD_HASH_MEMORY_KIB",
                19_456,
                1_024,
                1_048_576,
            ),
            holidays: r.holidays(),
            log_filter: r.string("PEKEN_LOG").unwrap_or_else(|| "info".into()),
            log_format: r.log_format(),
            http_workers: r.number("PEKEN_HTTP_WORKERS", default_workers as u32, 1, 256) as usize,
            max_body_bytes: r.number("PEKEN_MAX_BODY_BYTES", 1_048_576, 1_024, 1_073_741_824)
                as usize,
            max_upload_bytes: r.number("PEKEN_MAX_UPLOAD_BYTES", 16_777_216, 1_024, 1_073_741_824)
                as usize,
            request_timeout: r.seconds("PEKEN_REQUEST_TIMEOUT_SECONDS", 30, 1, 3_600),
            db_max_connections: r.number("PEKEN_DB_MAX_CONNECTIONS", 20, 1, 1_000),
            database_read_url: r.url("PEKEN_DATABASE_READ_URL", &["postgres://", "postgresql://"]),
            database_read_max_lag: r.seconds("PEKEN_DATABASE_READ_MAX_LAG_SECONDS", 5, 1, 3_600),
            database_read_probe_interval: Duration::from_millis(u64::from(r.number(
                "PEKEN_DATABASE_READ_PROBE_MS",
                1_000,
                50,
                600_000,
            ))),
            password_hash_concurrency: r.number(
                "PEKEN_PASSWORD_HASH_CONCURRENCY",
                default_workers as u32,
                1,
                1_024,
            ),
            run_workers: r.boolean("PEKEN_RUN_WORKERS", true),
            auto_migrate: r.boolean("PEKEN_AUTO_MIGRATE", embedded),
            worker_interval: Duration::from_millis(u64::from(r.number(
                "PEKEN_WORKER_INTERVAL_MS",
                2_000,
                10,
                3_600_000,
            ))),
            low_stock_interval: r.seconds("PEKEN_LOW_STOCK_INTERVAL_SECONDS", 60, 1, 86_400),
            shutdown_timeout: r.seconds("PEKEN_SHUTDOWN_TIMEOUT_SECONDS", 20, 1, 600),
            media: r.media(),
        };
        if settings.database_read_url.is_some() && embedded {
            r.problems.push(
                "PEKEN_DATABASE_READ_URL: needs PEKEN_DATABASE_URL to be PostgreSQL (a replica \
                 of it)"
                    .into(),
            );
        }
        if settings.bootstrap_admin_email.is_some() != settings.bootstrap_admin_password.is_some() {
            r.problems.push(
                "PEKEN_BOOTSTRAP_ADMIN_EMAIL and PEKEN_BOOTSTRAP_ADMIN_PASSWORD must be set together"
                    .into(),
            );
        }
        if !settings.is_embedded() {
            if settings.jwt_secret.is_none() {
                r.problems.push(
                    "PEKEN_JWT_SECRET is required when PEKEN_DATABASE_URL is not SQLite".into(),
                );
            }
            if settings.payment_webhook_secret.is_none() {
                r.problems.push(
                    "PEKEN_PAYMENT_WEBHOOK_SECRET is required when PEKEN_DATABASE_URL is not SQLite"
                        .into(),
                );
            }
            if settings.document_secret.is_none() {
                r.problems.push(
                    "PEKEN_DOCUMENT_SECRET (32+ characters) is required when PEKEN_DATABASE_URL \
                     is not SQLite: it signs the verification codes of printed receipts"
                        .into(),
                );
            }
            // Open metrics tell a stranger how often requests of each kind are refused; a
            // server meant for a network gets them only with a token.
            if settings.metrics_token.is_none() {
                r.problems.push(
                    "PEKEN_METRICS_TOKEN (16+ characters) is required when PEKEN_DATABASE_URL is \
                     not SQLite: /metrics then answers only requests bearing it"
                        .into(),
                );
            }
        }
        if r.problems.is_empty() {
            Ok(settings)
        } else {
            Err(SettingsError {
                problems: r.problems,
            })
        }
    }

    /// The embedded mode: SQLite, secrets generated and kept in the data directory.
    pub fn is_embedded(&self) -> bool {
        self.database_url
            .as_deref()
            .is_none_or(|url| url.starts_with("sqlite:"))
    }

    /// The database URL to connect to, with the embedded default filled in.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}/peken.db?mode=rwc", self.data_dir.display()),
        }
    }
}

/// Values that stand for secrets in this repository's example and development files (`deploy/`,
/// and what the compose file once defaulted to). A server given one of them was configured by
/// copying an example, and everyone who has read the repository knows the secret, so start
/// refuses them wherever a secret is read.
pub const EXAMPLE_SECRETS: &[&str] = &[
    "<jwt-signing-key>",
    "<payment-webhook-secret>",
    "<first-admin-password>",
    "<metrics-token>",
    "<document-secret>",
    "compose-dev-only-jwt-signing-key-replace-me",
    "compose-dev-only-webhook-secret-replace-me",
    "peken-compose-admin",
    "peken-compose-dev",
];

struct Reader<'a> {
    vars: &'a HashMap<String, String>,
    problems: Vec<String>,
}

impl Reader<'_> {
    fn string(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn database_url(&mut self) -> Option<String> {
        let url = self.string("PEKEN_DATABASE_URL")?;
        if url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || url.starts_with("sqlite:")
        {
            Some(url)
        } else {
            self.problems.push(
                "PEKEN_DATABASE_URL: must start with postgres://, postgresql:// or sqlite:".into(),
            );
            None
        }
    }

    fn url(&mut self, name: &str, schemes: &[&str]) -> Option<Secret> {
        let url = self.string(name)?;
        if schemes.iter().any(|s| url.starts_with(s)) {
            Some(Secret::new(url))
        } else {
            // The value may hold a password, so it is not echoed.
            self.problems.push(format!(
                "{name}: must start with one of {}",
                schemes.join(", ")
            ));
            None
        }
    }

    fn secret_min(&mut self, name: &str, min_len: usize) -> Option<Secret> {
        let value = self.string(name)?;
        self.checked_secret(name, value, min_len)
    }

    /// A secret long enough and not one of [`EXAMPLE_SECRETS`]; the value is never echoed.
    fn checked_secret(&mut self, name: &str, value: String, min_len: usize) -> Option<Secret> {
        if value.len() < min_len {
            self.problems.push(format!(
                "{name}: must be at least {min_len} characters long"
            ));
            None
        } else if EXAMPLE_SECRETS.contains(&value.as_str()) {
            self.problems.push(format!(
                "{name}: is the example value from this repository's deploy files, which anyone \
                 can read; set a secret of your own (e.g. head -c 48 /dev/urandom | base64)"
            ));
            None
        } else {
            Some(Secret::new(value))
        }
    }

    /// A comma-separated list of secrets, each held to what a current one must be: an old key
    /// still accepted for verification is as good as the current one to whoever guesses it.
    fn previous_secrets(&mut self, name: &str, min_len: usize) -> Vec<Secret> {
        let Some(list) = self.string(name) else {
            return Vec::new();
        };
        let mut secrets = Vec::new();
        for (i, value) in list.split(',').map(str::trim).enumerate() {
            if value.is_empty() {
                continue;
            }
            let entry = format!("{name} entry {}", i + 1);
            if let Some(secret) = self.checked_secret(&entry, value.to_owned(), min_len) {
                secrets.push(secret);
            }
        }
        secrets
    }

    fn cidrs(&mut self, name: &str) -> Vec<crate::net::Cidr> {
        let Some(list) = self.string(name) else {
            return Vec::new();
        };
        let mut cidrs = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match crate::net::Cidr::parse(entry) {
                Some(cidr) => cidrs.push(cidr),
                None => self.problems.push(format!(
                    "{name}: {entry:?} is not an address or a block such as 10.0.0.0/8"
                )),
            }
        }
        cidrs
    }

    fn number(&mut self, name: &str, default: u32, min: u32, max: u32) -> u32 {
        let Some(raw) = self.string(name) else {
            return default;
        };
        match raw.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                self.problems.push(format!(
                    "{name}: expected a whole number from {min} to {max}, got {raw:?}"
                ));
                default
            }
        }
    }

    fn seconds(&mut self, name: &str, default: u32, min: u32, max: u32) -> Duration {
        Duration::from_secs(u64::from(self.number(name, default, min, max)))
    }

    fn boolean(&mut self, name: &str, default: bool) -> bool {
        match self.string(name).as_deref() {
            None => default,
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => false,
            Some(other) => {
                self.problems
                    .push(format!("{name}: expected true or false, got {other:?}"));
                default
            }
        }
    }

    fn media(&mut self) -> MediaSettings {
        let public_url = self
            .string("PEKEN_MEDIA_PUBLIC_URL")
            .and_then(|url| self.http_url("PEKEN_MEDIA_PUBLIC_URL", &url));
        let endpoint = self
            .string("PEKEN_MEDIA_S3_ENDPOINT")
            .and_then(|url| self.http_url("PEKEN_MEDIA_S3_ENDPOINT", &url));
        let region = self
            .string("PEKEN_MEDIA_S3_REGION")
            .unwrap_or_else(|| "us-east-1".into());
        let access_key_id = self.string("PEKEN_MEDIA_S3_ACCESS_KEY_ID");
        let secret_access_key = self
            .string("PEKEN_MEDIA_S3_SECRET_ACCESS_KEY")
            .map(Secret::new);
        if access_key_id.is_some() != secret_access_key.is_some() {
            self.problems.push(
                "PEKEN_MEDIA_S3_ACCESS_KEY_ID and PEKEN_MEDIA_S3_SECRET_ACCESS_KEY must be set \
                 together"
                    .into(),
            );
        }
        let storage = match self.string("PEKEN_MEDIA_URL") {
            None => {
                let s3_only = [
                    "PEKEN_MEDIA_S3_ENDPOINT",
                    "PEKEN_MEDIA_S3_REGION",
                    "PEKEN_MEDIA_S3_ACCESS_KEY_ID",
                    "PEKEN_MEDIA_S3_SECRET_ACCESS_KEY",
                ];
                if let Some(name) = s3_only.iter().find(|name| self.string(name).is_some()) {
                    self.problems.push(format!(
                        "{name} is set but PEKEN_MEDIA_URL is not: set PEKEN_MEDIA_URL=s3://bucket \
                         to keep media in S3, or leave the S3 settings out"
                    ));
                }
                MediaStorage::Local
            }
            Some(url) => {
                if let Some((bucket, prefix)) = parse_s3_url(&url) {
                    MediaStorage::S3(S3Settings {
                        bucket,
                        prefix,
                        endpoint,
                        region,
                        access_key_id,
                        secret_access_key,
                    })
                } else {
                    self.problems.push(format!(
                        "PEKEN_MEDIA_URL: expected s3://bucket or s3://bucket/prefix (a bucket \
                         name of 3 to 63 lowercase letters, digits, dots and hyphens), got {url:?}"
                    ));
                    MediaStorage::Local
                }
            }
        };
        MediaSettings {
            storage,
            public_url,
        }
    }

    /// An `http://` or `https://` address, without a trailing `/`.
    fn http_url(&mut self, name: &str, url: &str) -> Option<String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        if rest.is_some_and(|host| !host.is_empty() && !host.starts_with('/')) {
            Some(url.trim_end_matches('/').to_owned())
        } else {
            self.problems.push(format!(
                "{name}: expected an address starting with http:// or https://, got {url:?}"
            ));
            None
        }
    }

    /// `PEKEN_PUBLIC_URL`, required outside the embedded mode: a receipt printed with an
    /// address nobody can reach would point there for good.
    fn public_url(&mut self, embedded: bool) -> String {
        if let Some(url) = self.string("PEKEN_PUBLIC_URL") {
            return self.http_url("PEKEN_PUBLIC_URL", &url).unwrap_or_default();
        }
        if !embedded {
            self.problems.push(
                "PEKEN_PUBLIC_URL is required when PEKEN_DATABASE_URL is not SQLite: the address \
                 people reach the API at (https://…), printed on receipts"
                    .into(),
            );
        }
        let listen = self
            .string("PEKEN_LISTEN")
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        format!("http://{}", listen.replace("0.0.0.0", "127.0.0.1"))
    }

    fn holidays(&mut self) -> Vec<NaiveDate> {
        let raw = self.string("PEKEN_HOLIDAYS").unwrap_or_default();
        match parse_holidays(&raw) {
            Ok(days) => days,
            Err(e) => {
                self.problems.push(format!(
                    "PEKEN_HOLIDAYS: expected comma-separated YYYY-MM-DD dates: {e}"
                ));
                Vec::new()
            }
        }
    }

    fn log_format(&mut self) -> LogFormat {
        match self.string("PEKEN_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                self.problems.push(format!(
                    "PEKEN_LOG_FORMAT: expected text or json, got {other:?}"
                ));
                LogFormat::Text
            }
        }
    }
}

/// `s3://bucket[/prefix]` as the bucket and the prefix (without surrounding `/`).
fn parse_s3_url(url: &str) -> Option<(String, Option<String>)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    let prefix = prefix.trim_matches('/');
    let prefix_ok = prefix
        .split('/')
        .all(|segment| !matches!(segment, "." | "..") && !segment.contains(['\\', '?', '#']))
        && !prefix.contains("//");
    (bucket_ok && prefix_ok).then(|| {
        (
            bucket.to_owned(),
            (!prefix.is_empty()).then(|| prefix.to_owned()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        let s = Settings::from_vars(vars(&[])).expect("defaults are valid");
        assert_eq!(s.listen, "127.0.0.1:8080");
        assert!(s.is_embedded());
        assert_eq!(
            s.effective_database_url(),
            "sqlite://./data/peken.db?mode=rwc"
        );
        assert!(s.redis_url.is_none());
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        let s = Settings::from_vars(vars(&[("PEKEN_LISTEN", "0.0.0.0:9000")])).unwrap();
        assert_eq!(s.public_url, "http://127.0.0.1:9000");
        let err = Settings::from_vars(vars(&[("PEKEN_PUBLIC_URL", "peken.example")]))
            .expect_err("not an address");
        assert!(
            err.to_string()
                .contains("PEKEN_PUBLIC_URL: expected an address")
        );
    }

    #[test]
    fn every_bad_value_is_reported() {
        let err = Settings::from_vars(vars(&[
            ("PEKEN_DATABASE_URL", "postgres://db/peken"),
            ("PEKEN_ACCESS_TOKEN_TTL_SECONDS", "soon"),
            ("PEKEN_REDIS_URL", "http://redis"),
            ("PEKEN_HOLIDAYS", "2026-13-01"),
        ]))
        .expect_err("invalid");
        let text = err.to_string();
        for name in [
            "PEKEN_ACCESS_TOKEN_TTL_SECONDS",
            "PEKEN_REDIS_URL",
            "PEKEN_HOLIDAYS",
            "PEKEN_JWT_SECRET is required",
            "PEKEN_PAYMENT_WEBHOOK_SECRET is required",
            "PEKEN_METRICS_TOKEN (16+ characters) is required",
            "PEKEN_DOCUMENT_SECRET (32+ characters) is required",
            "PEKEN_PUBLIC_URL is required",
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
    }

    fn production(extra: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let mut all = vec![
            ("PEKEN_DATABASE_URL", "postgres://db/peken"),
            (
                "PEKEN_JWT_SECRET",
                "a-very-long-signing-key-of-32-characters!",
            ),
            (
                "PEKEN_PAYMENT_WEBHOOK_SECRET",
                "a-webhook-secret-of-some-length",
            ),
            ("PEKEN_METRICS_TOKEN", "a-metrics-token-of-some-length"),
            (
                "PEKEN_DOCUMENT_SECRET",
                "a-document-secret-of-32-characters-or-more",
            ),
            ("PEKEN_PUBLIC_URL", "https://peken.example.go.id/"),
        ];
        for (name, value) in extra {
            all.retain(|(n, _)| n != name);
            all.push((name, value));
        }
        Settings::from_vars(vars(&all))
    }

    #[test]
    fn a_read_replica_and_hash_concurrency() {
        let s = production(&[
            ("PEKEN_DATABASE_READ_URL", "postgres://replica/peken"),
            ("PEKEN_DATABASE_READ_MAX_LAG_SECONDS", "12"),
            ("PEKEN_DATABASE_READ_PROBE_MS", "250"),
            ("PEKEN_PASSWORD_HASH_CONCURRENCY", "3"),
        ])
        .unwrap();
        assert_eq!(
            s.database_read_url.as_ref().map(Secret::expose),
            Some("postgres://replica/peken")
        );
        assert_eq!(s.database_read_max_lag, Duration::from_secs(12));
        assert_eq!(s.database_read_probe_interval, Duration::from_millis(250));
        assert_eq!(s.password_hash_concurrency, 3);
        let s = production(&[]).unwrap();
        assert!(s.database_read_url.is_none());
        assert_eq!(s.database_read_max_lag, Duration::from_secs(5));
        assert!(s.password_hash_concurrency >= 1);

        let err = production(&[
            (
                "PEKEN_DATABASE_READ_URL",
                "mysql://user:hunter2@replica/peken",
            ),
            ("PEKEN_PASSWORD_HASH_CONCURRENCY", "0"),
        ])
        .expect_err("not PostgreSQL; no hashing at all");
        let text = err.to_string();
        assert!(text.contains("PEKEN_DATABASE_READ_URL"), "{text}");
        assert!(!text.contains("hunter2"), "a URL's password echoed: {text}");
        assert!(text.contains("PEKEN_PASSWORD_HASH_CONCURRENCY"), "{text}");
        // A replica of SQLite is not a thing.
        let err = Settings::from_vars(vars(&[(
            "PEKEN_DATABASE_READ_URL",
            "postgres://replica/peken",
        )]))
        .expect_err("embedded");
        assert!(
            err.to_string()
                .contains("needs PEKEN_DATABASE_URL to be PostgreSQL")
        );
    }

    #[test]
    fn example_secrets_and_short_previous_keys_are_refused() {
        assert!(production(&[]).is_ok());
        assert_eq!(
            production(&[]).unwrap().public_url,
            "https://peken.example.go.id"
        );
        for name in [
            "PEKEN_JWT_SECRET",
            "PEKEN_PAYMENT_WEBHOOK_SECRET",
            "PEKEN_METRICS_TOKEN",
            "PEKEN_DOCUMENT_SECRET",
            "PEKEN_JWT_PREVIOUS_SECRETS",
        ] {
            for example in EXAMPLE_SECRETS {
                let err = production(&[(name, example)]).expect_err("an example secret");
                let text = err.to_string();
                assert!(text.contains(name), "{text}");
                assert!(!text.contains(example), "the value is not echoed: {text}");
            }
        }
        let err = production(&[
            ("PEKEN_BOOTSTRAP_ADMIN_EMAIL", "admin@example.go.id"),
            ("PEKEN_BOOTSTRAP_ADMIN_PASSWORD", "peken-compose-admin"),
        ])
        .expect_err("the compose file's old admin password");
        assert!(err.to_string().contains("PEKEN_BOOTSTRAP_ADMIN_PASSWORD"));
        let err = production(&[(
            "PEKEN_JWT_PREVIOUS_SECRETS",
            "an-old-signing-key-of-32-characters-or-more, too-short-old-key",
        )])
        .expect_err("a short previous key");
        assert!(
            err.to_string()
                .contains("PEKEN_JWT_PREVIOUS_SECRETS entry 2: must be at least 32"),
            "{err}"
        );
        let ok = production(&[(
            "PEKEN_JWT_PREVIOUS_SECRETS",
            "an-old-signing-key-of-32-characters-or-more,another-old-key-that-is-32-chars-long",
        )])
        .expect("two long previous keys");
        assert_eq!(ok.jwt_previous_secrets.len(), 2);
    }

    /// Every placeholder or default that the deploy files show for a secret is refused, so a new
    /// example cannot slip past the list.
    #[test]
    fn every_secret_shown_in_the_deploy_files_is_refused() {
        let files = [
            include_str!("../../../deploy/compose.yaml"),
            include_str!("../../../deploy/config/peken.env.example"),
            include_str!("../../../deploy/k8s/secret.example.yaml"),
        ];
        let secret_names = [
            "PEKEN_JWT_SECRET",
            "PEKEN_PAYMENT_WEBHOOK_SECRET",
            "PEKEN_METRICS_TOKEN",
            "PEKEN_DOCUMENT_SECRET",
            "PEKEN_BOOTSTRAP_ADMIN_PASSWORD",
        ];
        let mut shown = Vec::new();
        for file in files {
            for line in file.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
                for name in secret_names {
                    let Some(rest) = line.strip_prefix(name) else {
                        continue;
                    };
                    let value = rest.trim_start_matches([':', '=', ' ']).trim_matches('"');
                    // A compose default, `${NAME:-value}`, or a plain value.
                    let value = value
                        .split_once(":-")
                        .map_or(value, |(_, d)| d.trim_end_matches('}'));
                    if !value.is_empty() && !value.starts_with("${") {
                        shown.push((name, value.to_owned()));
                    }
                }
            }
        }
        assert!(
            shown.len() >= 3,
            "the example files show their placeholders: {shown:?}"
        );
        for (name, value) in shown {
            let mut extra = vec![(name, value.as_str())];
            if name == "PEKEN_BOOTSTRAP_ADMIN_PASSWORD" {
                extra.push(("PEKEN_BOOTSTRAP_ADMIN_EMAIL", "admin@example.go.id"));
            }
            let err = production(&extra).expect_err("an example secret is refused");
            assert!(err.to_string().contains(name), "{name}={value}: {err}");
        }
    }

    #[test]
    fn push_is_off_by_default_and_its_endpoints_are_settable() {
        let s = Settings::from_vars(vars(&[])).expect("defaults are valid");
        assert_eq!(s.push_credentials, None);
        assert_eq!(s.push_fcm_url, "https://fcm.googleapis.com");
        assert_eq!(s.push_token_url, "https://oauth2.googleapis.com/token");
        assert_eq!(s.push_max_attempts, 8);
        let s = Settings::from_vars(vars(&[
            ("PEKEN_PUSH_CREDENTIALS", "/run/secrets/fcm.json"),
            ("PEKEN_PUSH_PROJECT_ID", "peken-sby"),
            ("PEKEN_PUSH_FCM_URL", "http://127.0.0.1:9099/"),
            ("PEKEN_PUSH_TOKEN_URL", "http://127.0.0.1:9099/token"),
            ("PEKEN_PUSH_MAX_ATTEMPTS", "3"),
        ]))
        .expect("valid");
        assert_eq!(
            s.push_credentials.as_deref(),
            Some(std::path::Path::new("/run/secrets/fcm.json"))
        );
        assert_eq!(s.push_project_id.as_deref(), Some("peken-sby"));
        assert_eq!(s.push_fcm_url, "http://127.0.0.1:9099");
        assert_eq!(s.push_token_url, "http://127.0.0.1:9099/token");
        assert_eq!(s.push_max_attempts, 3);
        let err = Settings::from_vars(vars(&[("PEKEN_PUSH_FCM_URL", "fcm.googleapis.com")]))
            .expect_err("no scheme");
        assert!(err.to_string().contains("PEKEN_PUSH_FCM_URL"), "{err}");
    }

    #[test]
    fn the_console_session_lasts_twelve_hours_unless_set() {
        let s = Settings::from_vars(vars(&[])).expect("defaults are valid");
        assert_eq!(s.console_session, Duration::from_secs(12 * 3600));
        let s = Settings::from_vars(vars(&[("PEKEN_CONSOLE_SESSION_HOURS", "8")])).expect("valid");
        assert_eq!(s.console_session, Duration::from_secs(8 * 3600));
        let err = Settings::from_vars(vars(&[("PEKEN_CONSOLE_SESSION_HOURS", "0")]))
            .expect_err("at least an hour");
        assert!(
            err.to_string().contains("PEKEN_CONSOLE_SESSION_HOURS"),
            "{err}"
        );
    }

    #[test]
    fn media_is_local_by_default_and_s3_by_url() {
        let s = Settings::from_vars(vars(&[])).expect("defaults are valid");
        assert_eq!(s.media.storage, MediaStorage::Local);
        assert_eq!(s.media.public_url, None);

        let s = Settings::from_vars(vars(&[
            ("PEKEN_MEDIA_URL", "s3://peken-media/photos/"),
            ("PEKEN_MEDIA_S3_ENDPOINT", "http://127.0.0.1:9000/"),
            ("PEKEN_MEDIA_S3_ACCESS_KEY_ID", "peken"),
            ("PEKEN_MEDIA_S3_SECRET_ACCESS_KEY", "s3-secret-value"),
            ("PEKEN_MEDIA_PUBLIC_URL", "https://cdn.example.go.id/media/"),
        ]))
        .expect("valid");
        let MediaStorage::S3(s3) = &s.media.storage else {
            panic!("S3 expected: {:?}", s.media.storage);
        };
        assert_eq!(s3.bucket, "peken-media");
        assert_eq!(s3.prefix.as_deref(), Some("photos"));
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s3.region, "us-east-1");
        assert_eq!(
            s.media.public_url.as_deref(),
            Some("https://cdn.example.go.id/media")
        );
        assert!(!format!("{s:?}").contains("s3-secret-value"));
    }

    #[test]
    fn bad_media_settings_are_reported() {
        let err = Settings::from_vars(vars(&[
            ("PEKEN_MEDIA_URL", "s3://A/../x"),
            ("PEKEN_MEDIA_S3_ENDPOINT", "minio:9000"),
            ("PEKEN_MEDIA_S3_ACCESS_KEY_ID", "peken"),
            ("PEKEN_MEDIA_PUBLIC_URL", "cdn.example"),
        ]))
        .expect_err("invalid");
        let text = err.to_string();
        for name in [
            "PEKEN_MEDIA_URL: expected s3://bucket",
            "PEKEN_MEDIA_S3_ENDPOINT: expected an address",
            "PEKEN_MEDIA_S3_ACCESS_KEY_ID and PEKEN_MEDIA_S3_SECRET_ACCESS_KEY",
            "PEKEN_MEDIA_PUBLIC_URL: expected an address",
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
        let err = Settings::from_vars(vars(&[("PEKEN_MEDIA_S3_REGION", "eu-west-1")]))
            .expect_err("S3 settings without a bucket");
        assert!(err.to_string().contains("PEKEN_MEDIA_URL is not"), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let s = Settings::from_vars(vars(&[
            (
                "PEKEN_JWT_SECRET",
                "a-very-long-signing-key-of-32-characters!",
            ),
            ("PEKEN_SMTP_URL", "smtps://user:hunter2hunter2@mail.example"),
        ]))
        .expect("valid");
        let debug = format!("{s:?}");
        assert!(!debug.contains("a-very-long-signing-key"));
        assert!(!debug.contains("hunter2"));
    }
}
