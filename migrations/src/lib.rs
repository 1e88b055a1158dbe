//! The schema of peken, for PostgreSQL and SQLite alike. Migrations are append-only: a released
//! migration is never edited, a change is a new one.

pub use sea_orm_migration::prelude::*;

pub mod m0001_identity;
mod m0002_merchants;
mod m0003_mail;
mod m0004_ledger;
mod m0005_orders;
mod m0006_mandate;
mod m0007_password_tokens;
mod m0008_audit;
mod m0009_listing_search;
mod m0010_client_request_id;
mod m0012_payment_proofs;
mod m0013_bank_account_hold;
mod m0014_sessions;
mod m0015_registrations;
pub mod m0016_ledger_stripes;
mod m0017_remittance_jobs;
pub(crate) mod m0018_products;
mod m0019_buyer;
mod m0020_inbox_push;
mod m0021_merchant_alerts;
mod m0022_partial_fulfilment;
mod m0023_statement_credits;
mod m0024_refund_batches;
pub mod m0025_opd_purchasing;
mod m0026_programme;
pub mod m0027_programme_summaries;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_identity::Migration),
            Box::new(m0002_merchants::Migration),
            Box::new(m0003_mail::Migration),
            Box::new(m0004_ledger::Migration),
            Box::new(m0005_orders::Migration),
            Box::new(m0006_mandate::Migration),
            Box::new(m0007_password_tokens::Migration),
            Box::new(m0008_audit::Migration),
            Box::new(m0009_listing_search::Migration),
            Box::new(m0010_client_request_id::Migration),
            Box::new(m0012_payment_proofs::Migration),
            Box::new(m0013_bank_account_hold::Migration),
            Box::new(m0014_sessions::Migration),
            Box::new(m0015_registrations::Migration),
            Box::new(m0016_ledger_stripes::Migration),
            Box::new(m0017_remittance_jobs::Migration),
            Box::new(m0018_products::Migration),
            Box::new(m0019_buyer::Migration),
            Box::new(m0020_inbox_push::Migration),
            Box::new(m0021_merchant_alerts::Migration),
            Box::new(m0022_partial_fulfilment::Migration),
            Box::new(m0023_statement_credits::Migration),
            Box::new(m0024_refund_batches::Migration),
            Box::new(m0025_opd_purchasing::Migration),
            Box::new(m0026_programme::Migration),
            Box::new(m0027_programme_summaries::Migration),
        ]
    }
}
