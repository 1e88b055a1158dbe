//! HTTP routes of the catalog: commodities, categories and permissions.

mod categories;
mod commodities;

use utoipa_actix_web::service_config::ServiceConfig;

pub use categories::CategoryResponse;
pub use commodities::CommodityResponse;

/// How long a phone may reuse the category and commodity lists before asking again (with its
/// `ETag`, so an unchanged list costs a 304): a minute, so a new HET reaches buyers soon.
const CATALOG_MAX_AGE: u32 = 60;

/// Registers the routes under the API scope.
pub fn configure(cfg: &mut ServiceConfig) {
    commodities::configure(cfg);
    categories::configure(cfg);
}
