//! The catalog: commodities and their categories, which merchant kinds may sell which
//! categories, HET ceilings, and the browse and search read side over listings.

pub mod store;
