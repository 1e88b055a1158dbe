//! HTTP routes of identity: auth, the caller's profile and addresses, users, OPDs, regions.

mod addresses;
mod auth;
mod opd_staff;
mod password;
mod profile;
mod regions;
mod users;

use utoipa_actix_web::service_config::ServiceConfig;

pub use auth::TokenResponse;
pub use users::check_position_class;

/// Registers the routes under the API scope.
pub fn configure(cfg: &mut ServiceConfig) {
    auth::configure(cfg);
    addresses::configure(cfg);
    opd_staff::configure(cfg);
    password::configure(cfg);
    profile::configure(cfg);
    users::configure(cfg);
    regions::configure(cfg);
}
