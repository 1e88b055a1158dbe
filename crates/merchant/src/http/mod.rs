//! HTTP routes of merchants: registration, verification, staff, products and their
//! moderation, listings and stock, browsing, and buyers' favourites.

mod admin;
mod browse;
mod bulk;
mod favourites;
mod listings;
mod merchants;
mod naik_kelas;
mod photos;
mod products;
mod tax_certificate;

use utoipa_actix_web::service_config::ServiceConfig;

pub use admin::check_reason;
pub use listings::{ListingResponse, MerchantOrAdmin};
pub use merchants::{BankAccountBody, MerchantResponse, check_bank};
pub use products::ProductResponse;

/// Registers the routes under the API scope.
pub fn configure(cfg: &mut ServiceConfig) {
    merchants::configure(cfg);
    // Before the listings' `/listings/{listing_id}`, which would take `export` for an id.
    bulk::configure(cfg);
    listings::configure(cfg);
    products::configure(cfg);
    photos::configure(cfg);
    admin::configure(cfg);
    naik_kelas::configure(cfg);
    browse::configure(cfg);
    favourites::configure(cfg);
    tax_certificate::configure(cfg);
}
