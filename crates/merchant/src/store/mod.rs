//! Storage of merchants, listings, stock movements and month-to-date turnover. Entities are
//! storage only: the API has its own types in `http`.

pub mod listing;
pub mod merchant;
pub mod stock_movement;
