//! The catalog: commodities and their categories, which merchant kinds may sell which
//! categories, HET ceilings, and the browse and search read side over listings.

pub mod browse;
pub mod cache;
pub mod http;
pub mod input;
pub mod readmodel;
pub mod service;
pub mod store;

/// The highest unit price (and HET) accepted, in rupiah: far above any staple, low enough that
/// a price times a quantity cannot overflow.
pub const MAX_PRICE: i64 = 100_000_000;
