//! Merchants: registration, verification, suspension, staff users, listings, and stock with
//! its movements.

pub mod facts;
pub mod http;
pub mod service;
pub mod stock;
pub mod store;
