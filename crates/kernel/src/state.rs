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
    pub policies: Arc<PolicyStore>,
}

impl AppState {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
