//! Storage of categories, category permissions and commodities. Entities are storage only: the
//! API has its own types in `http`.

pub mod category;
pub mod category_permission;
pub mod commodity;
