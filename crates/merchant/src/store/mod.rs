//! Storage of merchants, their products and photos, listings, stock movements and month-to-date turnover. Entities are
//! storage only: the API has its own types in `http`.

pub mod favourite;
pub mod listing;
pub mod merchant;
pub mod product;
pub mod product_image;
pub mod stock_movement;
