//! The schema of peken, for PostgreSQL and SQLite alike. Migrations are append-only: a released
//! migration is never edited, a change is a new one.

pub use sea_orm_migration::prelude::*;

mod m0001_identity;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m0001_identity::Migration)]
    }
}
