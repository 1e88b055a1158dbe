//! The three things Redis does for peken, each behind a small trait with an in-process
//! implementation for the embedded default: a read cache, rate limits, and revoked sessions.
//!
//! No correctness depends on Redis. When Redis is configured but unreachable, the cache misses,
//! and rate limits and revocations fall back to this process's memory; requests go on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Mutex as AsyncMutex;

/// A cache of serialised read results. Invalidation is by generation: a key's owner bumps the
/// generation of a namespace on every change, and readers put the generation into their keys,
/// so every stale entry is unreachable at once.
#[async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> Option<Arc<[u8]>>;
    async fn set(&self, key: &str, value: Arc<[u8]>, ttl: Duration);
    /// The current generation of a namespace.
    async fn generation(&self, namespace: &str) -> u64;
    /// Makes every entry of the namespace stale.
    async fn bump(&self, namespace: &str);
}

/// Decision of a rate limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    Limited { retry_after_secs: u64 },
}

#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one hit of `key` in a fixed window and says whether it is within `limit`.
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> RateDecision;
}

/// Sessions ended before their access tokens expire (logout, refresh-token reuse).
#[async_trait]
pub trait Revocations: Send + Sync {
    async fn revoke(&self, session_id: &str, ttl: Duration);
    async fn is_revoked(&self, session_id: &str) -> bool;
}

/// The in-process implementation of all three, for the embedded mode and as the fallback.
pub struct MemoryStore {
    entries: Mutex<Entries>,
    generations: Mutex<HashMap<String, u64>>,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    revoked: Mutex<HashMap<String, Instant>>,
    sweeps: AtomicU64,
    max_bytes: usize,
}

/// Cached values and the bytes they hold.
#[derive(Default)]
struct Entries {
    map: HashMap<String, (Instant, Arc<[u8]>)>,
    bytes: usize,
}

/// Bounds on cached entries, so a scan of unique queries cannot grow memory without limit: when
/// either is reached the cache starts again empty (cheaper than tracking recency, and a scan
/// would evict everything anyway).
const MAX_MEMORY_ENTRIES: usize = 10_000;
/// What an entry costs besides its key's and value's bytes: the map's slot (key, expiry and
/// value handles) and the allocator's headers of the key and the value.
pub const ENTRY_OVERHEAD_BYTES: usize = 96;
/// The near cache in front of Redis holds values briefly.
const NEAR_TTL: Duration = Duration::from_secs(2);

/// What the in-process caches may hold, in bytes (`PEKEN_CACHE_MAX_BYTES`,
/// `PEKEN_CACHE_NEAR_BYTES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheBudget {
    /// The cache of the embedded mode (and of a process whose Redis is down).
    pub memory_bytes: usize,
    /// The near cache in front of Redis.
    pub near_bytes: usize,
}

impl Default for CacheBudget {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            near_bytes: 8 << 20,
        }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_budget(CacheBudget::default().memory_bytes)
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store whose cached entries hold at most `max_bytes`, counting each entry's key, value
    /// and [`ENTRY_OVERHEAD_BYTES`].
    pub fn with_budget(max_bytes: usize) -> Self {
        Self {
            entries: Mutex::new(Entries::default()),
            generations: Mutex::new(HashMap::new()),
            windows: Mutex::new(HashMap::new()),
            revoked: Mutex::new(HashMap::new()),
            sweeps: AtomicU64::new(0),
            max_bytes,
        }
    }

    /// The cached value of `key`, shared rather than copied.
    pub fn get_shared(&self, key: &str) -> Option<Arc<[u8]>> {
        let entries = lock(&self.entries);
        entries
            .map
            .get(key)
            .filter(|(until, _)| *until > Instant::now())
            .map(|(_, v)| v.clone())
    }

    /// Caches a shared value; one that alone would take more than the budget is not kept.
    pub fn set_shared(&self, key: &str, value: Arc<[u8]>, ttl: Duration) {
        self.maybe_sweep();
        let cost = entry_cost(key, &value);
        let mut entries = lock(&self.entries);
        if let Some((_, old)) = entries.map.remove(key) {
            entries.bytes = entries.bytes.saturating_sub(entry_cost(key, &old));
        }
        if cost > self.max_bytes {
            return;
        }
        if entries.map.len() >= MAX_MEMORY_ENTRIES || entries.bytes + cost > self.max_bytes {
            entries.map.clear();
            entries.bytes = 0;
        }
        entries.bytes += cost;
        entries
            .map
            .insert(key.to_owned(), (Instant::now() + ttl, value));
    }

    /// What the cached entries hold now, as counted against the budget.
    pub fn held_bytes(&self) -> usize {
        lock(&self.entries).bytes
    }

    /// Drops expired entries every so often instead of on every call.
    fn maybe_sweep(&self) {
        if !self
            .sweeps
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(1024)
        {
            return;
        }
        let now = Instant::now();
        {
            let mut entries = lock(&self.entries);
            entries.map.retain(|_, (until, _)| *until > now);
            entries.bytes = entries.map.iter().map(|(k, (_, v))| entry_cost(k, v)).sum();
        }
        lock(&self.windows).retain(|_, (until, _)| *until > now);
        lock(&self.revoked).retain(|_, until| *until > now);
    }
}

fn entry_cost(key: &str, value: &[u8]) -> usize {
    key.len() + value.len() + ENTRY_OVERHEAD_BYTES
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl Cache for MemoryStore {
    async fn get(&self, key: &str) -> Option<Arc<[u8]>> {
        self.get_shared(key)
    }

    async fn set(&self, key: &str, value: Arc<[u8]>, ttl: Duration) {
        self.set_shared(key, value, ttl);
    }

    async fn generation(&self, namespace: &str) -> u64 {
        lock(&self.generations).get(namespace).copied().unwrap_or(0)
    }

    async fn bump(&self, namespace: &str) {
        *lock(&self.generations)
            .entry(namespace.to_owned())
            .or_insert(0) += 1;
    }
}

#[async_trait]
impl RateLimiter for MemoryStore {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> RateDecision {
        self.maybe_sweep();
        let now = Instant::now();
        let mut windows = lock(&self.windows);
        let entry = windows.entry(key.to_owned()).or_insert((now + window, 0));
        if entry.0 <= now {
            *entry = (now + window, 0);
        }
        entry.1 += 1;
        if entry.1 > limit {
            RateDecision::Limited {
                retry_after_secs: entry.0.saturating_duration_since(now).as_secs().max(1),
            }
        } else {
            RateDecision::Allowed
        }
    }
}

#[async_trait]
impl Revocations for MemoryStore {
    async fn revoke(&self, session_id: &str, ttl: Duration) {
        self.maybe_sweep();
        lock(&self.revoked).insert(session_id.to_owned(), Instant::now() + ttl);
    }

    async fn is_revoked(&self, session_id: &str) -> bool {
        lock(&self.revoked)
            .get(session_id)
            .is_some_and(|until| *until > Instant::now())
    }
}

/// How long one Redis call may take before the request goes on without it.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// Redis, connected lazily and reconnected by the connection manager; every call falls back to
/// the in-process store when Redis does not answer in time.
pub struct RedisStore {
    client: redis::Client,
    prefix: String,
    /// The live connection (a cheap handle to clone); `connecting` serialises reconnects.
    conn: Mutex<Option<ConnectionManager>>,
    connecting: AsyncMutex<()>,
    last_attempt: Mutex<Option<Instant>>,
    fallback: MemoryStore,
    /// Values read or written in the last [`NEAR_TTL`]: cached entries live under keys that
    /// carry their namespace's generation, so a near copy is never newer data under an old
    /// key, only the same value a little longer.
    near: MemoryStore,
}

impl RedisStore {
    pub fn new(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        Self::within(url, prefix, CacheBudget::default())
    }

    /// A store whose in-process caches (the near cache and the fallback) keep to `budget`.
    pub fn within(url: &str, prefix: &str, budget: CacheBudget) -> redis::RedisResult<Self> {
        Ok(Self {
            client: redis::Client::open(url)?,
            prefix: prefix.to_owned(),
            conn: Mutex::new(None),
            connecting: AsyncMutex::new(()),
            last_attempt: Mutex::new(None),
            fallback: MemoryStore::with_budget(budget.memory_bytes),
            near: MemoryStore::with_budget(budget.near_bytes),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// A connection, or `None` while Redis is unreachable (retried at most once a second).
    async fn connection(&self) -> Option<ConnectionManager> {
        if let Some(conn) = lock(&self.conn).as_ref() {
            return Some(conn.clone());
        }
        let _connecting = self.connecting.lock().await;
        if let Some(conn) = lock(&self.conn).as_ref() {
            return Some(conn.clone());
        }
        {
            let mut last = lock(&self.last_attempt);
            if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                return None;
            }
            *last = Some(Instant::now());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        match tokio::time::timeout(
            REDIS_TIMEOUT * 2,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        {
            Ok(Ok(conn)) => {
                *lock(&self.conn) = Some(conn.clone());
                Some(conn)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "redis unreachable; using in-process fallback");
                None
            }
            Err(_) => {
                tracing::warn!("redis connect timed out; using in-process fallback");
                None
            }
        }
    }

    /// Runs one Redis operation with a deadline; `None` when Redis failed or was too slow.
    async fn run<T, F, Fut>(&self, op: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.connection().await?;
        match tokio::time::timeout(REDIS_TIMEOUT, op(conn)).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "redis call failed; using in-process fallback");
                None
            }
            Err(_) => {
                tracing::warn!("redis call timed out; using in-process fallback");
                None
            }
        }
    }

    /// Whether Redis answers a PING now.
    pub async fn ping(&self) -> bool {
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .is_some()
    }
}

#[async_trait]
impl Cache for RedisStore {
    async fn get(&self, key: &str) -> Option<Arc<[u8]>> {
        if let Some(value) = self.near.get_shared(key) {
            return Some(value);
        }
        let rkey = self.key(key);
        let value: Arc<[u8]> = self
            .run(|mut c| async move { c.get::<_, Option<Vec<u8>>>(rkey).await })
            .await
            .flatten()?
            .into();
        self.near.set_shared(key, value.clone(), NEAR_TTL);
        Some(value)
    }

    async fn set(&self, key: &str, value: Arc<[u8]>, ttl: Duration) {
        self.near.set_shared(key, value.clone(), ttl.min(NEAR_TTL));
        let key = self.key(key);
        let value = value.to_vec();
        let _ = self
            .run(
                |mut c| async move { c.set_ex::<_, _, ()>(key, value, ttl.as_secs().max(1)).await },
            )
            .await;
    }

    async fn generation(&self, namespace: &str) -> u64 {
        let key = self.key(&format!("gen:{namespace}"));
        match self
            .run(|mut c| async move { c.get::<_, Option<u64>>(key).await })
            .await
        {
            Some(v) => v.unwrap_or(0),
            // Redis is down: a generation no other process has seen keeps stale entries out.
            None => u64::MAX,
        }
    }

    async fn bump(&self, namespace: &str) {
        let key = self.key(&format!("gen:{namespace}"));
        let _ = self
            .run(|mut c| async move { c.incr::<_, _, u64>(key, 1).await })
            .await;
    }
}

#[async_trait]
impl RateLimiter for RedisStore {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> RateDecision {
        let rkey = self.key(&format!("rl:{key}"));
        let secs = window.as_secs().max(1);
        let result = self
            .run(|mut c| async move {
                let (count, ttl): (u64, i64) = redis::pipe()
                    .atomic()
                    .incr(&rkey, 1)
                    .cmd("EXPIRE")
                    .arg(&rkey)
                    .arg(secs)
                    .arg("NX")
                    .ignore()
                    .ttl(&rkey)
                    .query_async(&mut c)
                    .await?;
                Ok((count, ttl))
            })
            .await;
        match result {
            Some((count, ttl)) if count > u64::from(limit) => RateDecision::Limited {
                retry_after_secs: u64::try_from(ttl).unwrap_or(1).max(1),
            },
            Some(_) => RateDecision::Allowed,
            None => self.fallback.hit(key, limit, window).await,
        }
    }
}

#[async_trait]
impl Revocations for RedisStore {
    async fn revoke(&self, session_id: &str, ttl: Duration) {
        // Kept locally too, so this process honours it even if Redis is lost right after.
        self.fallback.revoke(session_id, ttl).await;
        let key = self.key(&format!("revoked:{session_id}"));
        let _ = self
            .run(|mut c| async move { c.set_ex::<_, _, ()>(key, 1_u8, ttl.as_secs().max(1)).await })
            .await;
    }

    async fn is_revoked(&self, session_id: &str) -> bool {
        if self.fallback.is_revoked(session_id).await {
            return true;
        }
        let key = self.key(&format!("revoked:{session_id}"));
        self.run(|mut c| async move { c.exists::<_, bool>(key).await })
            .await
            .unwrap_or(false)
    }
}

/// The stores a process uses, chosen once at start.
#[derive(Clone)]
pub struct Stores {
    pub cache: Arc<dyn Cache>,
    pub limiter: Arc<dyn RateLimiter>,
    pub revocations: Arc<dyn Revocations>,
    pub redis: Option<Arc<RedisStore>>,
}

impl Stores {
    pub fn memory() -> Self {
        Self::memory_within(CacheBudget::default())
    }

    /// In-process stores whose cache keeps to `budget.memory_bytes`.
    pub fn memory_within(budget: CacheBudget) -> Self {
        let store = Arc::new(MemoryStore::with_budget(budget.memory_bytes));
        Self {
            cache: store.clone(),
            limiter: store.clone(),
            revocations: store,
            redis: None,
        }
    }

    pub fn redis(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        Self::redis_within(url, prefix, CacheBudget::default())
    }

    /// Redis, with the in-process caches in front of it keeping to `budget`.
    pub fn redis_within(url: &str, prefix: &str, budget: CacheBudget) -> redis::RedisResult<Self> {
        let store = Arc::new(RedisStore::within(url, prefix, budget)?);
        Ok(Self {
            cache: store.clone(),
            limiter: store.clone(),
            revocations: store.clone(),
            redis: Some(store),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_limiter_counts_within_the_window() {
        let store = MemoryStore::new();
        let window = Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(store.hit("k", 3, window).await, RateDecision::Allowed);
        }
        assert!(matches!(
            store.hit("k", 3, window).await,
            RateDecision::Limited { .. }
        ));
        assert_eq!(store.hit("other", 3, window).await, RateDecision::Allowed);
    }

    #[tokio::test]
    async fn memory_cache_generations_make_entries_stale() {
        let store = MemoryStore::new();
        let g0 = store.generation("listings").await;
        store.bump("listings").await;
        assert_eq!(store.generation("listings").await, g0 + 1);
        store
            .set("a", Arc::from(&b"x"[..]), Duration::from_secs(10))
            .await;
        assert_eq!(store.get("a").await.as_deref(), Some(&b"x"[..]));
    }

    #[tokio::test]
    async fn memory_cache_keeps_within_its_byte_budget() {
        let store = MemoryStore::with_budget(1_000);
        for i in 0..50 {
            store.set_shared(
                &format!("k{i}"),
                Arc::from(vec![0_u8; 100]),
                Duration::from_secs(10),
            );
            let held = lock(&store.entries).bytes;
            assert!(held <= 1_000, "{held} bytes held");
        }
        // The latest value is always kept.
        assert!(store.get_shared("k49").is_some());
        store.set_shared("k49", Arc::from(vec![1_u8; 10]), Duration::from_secs(10));
        assert_eq!(store.get_shared("k49").as_deref(), Some(&[1_u8; 10][..]));
        {
            let entries = lock(&store.entries);
            let counted: usize = entries.map.iter().map(|(k, (_, v))| entry_cost(k, v)).sum();
            assert_eq!(entries.bytes, counted);
            assert!(counted >= entries.map.len() * ENTRY_OVERHEAD_BYTES);
        }
        // A value bigger than the whole budget is not kept, and does not empty the cache; an
        // older value under its key is dropped rather than answered.
        store.set_shared("k48", Arc::from(vec![2_u8; 5]), Duration::from_secs(10));
        store.set_shared("k49", Arc::from(vec![3_u8; 2_000]), Duration::from_secs(10));
        assert!(store.get_shared("k49").is_none());
        assert_eq!(store.get_shared("k48").as_deref(), Some(&[2_u8; 5][..]));
        let entries = lock(&store.entries);
        assert!(!entries.map.contains_key("k49"));
        let counted: usize = entries.map.iter().map(|(k, (_, v))| entry_cost(k, v)).sum();
        assert_eq!(entries.bytes, counted);
    }

    #[tokio::test]
    async fn unreachable_redis_falls_back_without_failing() {
        // Port 1 on loopback refuses connections at once.
        let store = RedisStore::new("redis://127.0.0.1:1/", "t:").expect("valid url");
        assert_eq!(store.get("x").await, None);
        assert_eq!(
            store.hit("k", 1, Duration::from_secs(60)).await,
            RateDecision::Allowed
        );
        assert!(matches!(
            store.hit("k", 1, Duration::from_secs(60)).await,
            RateDecision::Limited { .. }
        ));
        store.revoke("s", Duration::from_secs(60)).await;
        assert!(store.is_revoked("s").await);
    }
}
