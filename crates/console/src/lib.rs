//! The web console under `/console`: server-rendered pages in Indonesian for treasury, the
//! cooperatives office (admins) and OPD admins, signed in with a cookie session.
//!
//! Pages are HTML, not part of the JSON API, so they stay out of the OpenAPI document. Every
//! page calls the same service functions as the JSON handlers; role checks use the same role
//! sets. Templates live in `templates/` (askama, escaped by default), the stylesheet in
//! `assets/`; both are compiled into the binary.

mod accounts;
mod admin;
mod assets;
mod chart;
mod compliance;
mod holds;
mod ledger;
mod moderation;
mod office;
mod page;
mod reconciliation;
mod refund_batches;
mod refunds;
mod session;
mod sign_in;
mod sla;
mod takedowns;
mod treasury;

use actix_web::web;

pub use session::{COOKIE, COOKIE_SECURE};

/// Registers the console's routes; the caller mounts them under `/console`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    assets::configure(cfg);
    sign_in::configure(cfg);
    treasury::configure(cfg);
    reconciliation::configure(cfg);
    ledger::configure(cfg);
    sla::configure(cfg);
    refunds::configure(cfg);
    refund_batches::configure(cfg);
    holds::configure(cfg);
    admin::configure(cfg);
    accounts::configure(cfg);
    office::configure(cfg);
    moderation::configure(cfg);
    takedowns::configure(cfg);
    compliance::configure(cfg);
}
