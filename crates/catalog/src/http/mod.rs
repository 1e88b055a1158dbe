//! HTTP routes of the catalog: commodities, categories and permissions.

mod categories;
mod commodities;

use utoipa_actix_web::service_config::ServiceConfig;

pub use categories::CategoryResponse;
pub use commodities::CommodityResponse;

/// Registers the routes under the API scope.
pub fn configure(cfg: &mut ServiceConfig) {
    commodities::configure(cfg);
    categories::configure(cfg);
}
