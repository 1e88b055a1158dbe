//! HTTP routes of merchants: registration, verification, staff, listings and stock.

mod admin;
mod listings;
mod merchants;

use utoipa_actix_web::service_config::ServiceConfig;

pub use listings::{ListingResponse, MerchantOrAdmin};
pub use merchants::MerchantResponse;

/// Registers the routes under the API scope.
pub fn configure(cfg: &mut ServiceConfig) {
    merchants::configure(cfg);
    listings::configure(cfg);
    admin::configure(cfg);
}
