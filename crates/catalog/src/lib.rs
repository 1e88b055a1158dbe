//! The catalog: commodities and their categories, which merchant kinds may sell which
//! categories, and HET ceilings. Browsing the listings is the merchant crate's.

pub mod cache;
pub mod http;
pub mod input;
pub mod service;
pub mod store;

/// The highest unit price (and HET) accepted, in rupiah: far above any staple, low enough that
/// a price times a quantity cannot overflow.
pub const MAX_PRICE: i64 = 100_000_000;
