//! Merchants: registration, verification, suspension, staff users, listings, and stock with
//! its movements.

pub mod alerts;
pub mod browse;
pub mod facts;
pub mod http;
pub mod media;
pub mod programme;
pub mod readmodel;
pub mod service;
pub mod stock;
pub mod store;
pub mod tax_certificate;
