//! HTTP routes of merchants: registration, verification, staff, listings and stock.

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the routes under the API scope.
pub fn configure(_cfg: &mut ServiceConfig) {}
