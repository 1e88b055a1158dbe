//! Cached catalog reads and their invalidation. The commodity and category lists live in
//! `state.stores.cache` (Redis when configured, in-process otherwise); browse pages live in each
//! process's read model ([`crate::readmodel`]) under the same listings generation.
//!
//! Invalidation is by generation: every change that affects what a reader sees bumps the
//! namespace's generation (in Redis, so every process sees it), and readers put the generation
//! into their keys, so the next read after a change misses the cache. Bumps happen after the
//! change commits, so a reader can never store pre-change data under the post-change
//! generation.
//!
//! Inputs that change with every order are not bumped here: month-to-date turnover and the
//! policies (the cap) change in other crates, and order-driven stock movements may be applied
//! without a bump (a caller may call [`listings_changed`] after its commit). Bumping on every
//! paid order would empty the cache under exactly the load it exists for, so browse pages live
//! only [`BROWSE_TTL`] and the read model's snapshot at most its own five seconds, which bounds
//! how long fairness order, the cap and shown stock may lag. Checkout checks stock and the cap
//! itself, so the lag never sells what it should not.

use std::time::Duration;

use peken_kernel::AppState;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Browse results (listings, merchants' status, prices, stock, commodities).
pub const LISTINGS: &str = "catalog:listings";
/// The commodity and category lists.
pub const COMMODITIES: &str = "catalog:commodities";

/// How long an answered browse page is reused (on top of the read model's own age).
pub const BROWSE_TTL: Duration = Duration::from_secs(5);
pub const COMMODITIES_TTL: Duration = Duration::from_secs(300);

/// Call after any change that a browse page shows: a listing created or changed, a stock
/// change, a takedown, a merchant's status change.
pub async fn listings_changed(state: &AppState) {
    state.stores.cache.bump(LISTINGS).await;
}

/// Call after a commodity, category or category-permission change; it affects browse too.
pub async fn commodities_changed(state: &AppState) {
    state.stores.cache.bump(COMMODITIES).await;
    state.stores.cache.bump(LISTINGS).await;
}

/// The key of an entry of `namespace` at its current generation.
pub async fn key(state: &AppState, namespace: &str, rest: &str) -> String {
    let generation = state.stores.cache.generation(namespace).await;
    key_at(namespace, generation, rest)
}

/// The key of an entry of `namespace` at a generation already read.
pub fn key_at(namespace: &str, generation: u64, rest: &str) -> String {
    format!("{namespace}:{generation}:{rest}")
}

pub async fn get<T: DeserializeOwned>(state: &AppState, key: &str) -> Option<T> {
    let bytes = state.stores.cache.get(key).await?;
    serde_json::from_slice(&bytes).ok()
}

pub async fn put<T: Serialize>(state: &AppState, key: &str, value: &T, ttl: Duration) {
    if let Ok(bytes) = serde_json::to_vec(value) {
        state.stores.cache.set(key, bytes.into(), ttl).await;
    }
}
