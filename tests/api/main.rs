//! Black-box tests of the HTTP API. Each test starts its own server and database.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

mod audit;
mod auth;
mod authz;
mod boundaries;
mod browse;
mod buyer;
mod catalog;
mod console;
mod demo;
mod fixtures;
mod listings_import;
mod mail;
mod mandate;
mod media;
mod merchant_alerts;
mod merchants;
mod notifications;
mod opd;
mod ops;
mod orders;
mod password;
mod payouts;
mod photos;
mod policies;
mod privacy;
mod problems;
mod products;
mod programme;
mod proxy;
mod read_replica;
mod registration;
mod reports;
mod sessions;
mod text;
mod tokens;
mod users;
