//! The state every handler shares. Everything in it is cheap to clone.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::{JwtKeys, PasswordHasherConfig};
use crate::cache::Stores;
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::period::WorkingCalendar;
use crate::policy::PolicyStore;
use crate::regions::Regions;
use crate::settings::{Secret, Settings};

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub stores: Stores,
    pub jwt: Arc<JwtKeys>,
    pub passwords: PasswordHasherConfig,
    pub calendar: Arc<WorkingCalendar>,
    pub regions: Arc<Regions>,
    pub metrics: Arc<Metrics>,
    pub webhook_secret: Secret,
    /// Key of the verification codes printed on documents (`PEKEN_DOCUMENT_SECRET`).
    pub document_secret: Secret,
    pub policies: Arc<PolicyStore>,
    /// Uploaded photos: the data directory's `media/` folder or an S3 bucket.
    pub media: crate::media::MediaStore,
    /// Per-process state a crate keeps for itself (an in-memory read model, say), one value per
    /// type, made on first use.
    pub locals: Arc<Locals>,
    /// The streaming replica of `PEKEN_DATABASE_READ_URL`, if one is configured.
    pub replica: Option<Arc<crate::replica::ReadReplica>>,
}

impl AppState {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The connection for reads that may be a few seconds stale (browse, reports, compliance,
    /// exports, the audit log): the read replica while the probe finds it up and fresh, the
    /// primary otherwise. A read that must see this process's own writes, and everything that
    /// writes, uses `db`.
    pub fn read_db(&self) -> crate::replica::ReadDb<'_> {
        crate::replica::ReadDb {
            primary: &self.db,
            replica: self.replica.as_deref(),
        }
    }
}

/// One value per type, made on first use and shared for the life of the state.
#[derive(Default)]
pub struct Locals {
    values: std::sync::Mutex<
        std::collections::HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>,
    >,
}

impl Locals {
    /// The value of type `T`, made by `make` the first time.
    pub fn get_or_init<T: Send + Sync + 'static>(&self, make: impl FnOnce() -> T) -> Arc<T> {
        let mut values = self
            .values
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let value = values
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| Arc::new(make()))
            .clone();
        drop(values);
        // The map holds a `T` under `T`'s own type id.
        value
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("a value stored under another type's id"))
    }
}

#[cfg(test)]
mod tests {
    use super::Locals;

    #[test]
    fn one_value_per_type_made_once() {
        let locals = Locals::default();
        let a = locals.get_or_init(|| 7_u32);
        let b = locals.get_or_init(|| 8_u32);
        assert_eq!((*a, *b), (7, 7));
        assert_eq!(*locals.get_or_init(|| String::from("x")), "x");
    }
}
