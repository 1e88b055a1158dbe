//! What a buyer's phone app uses besides browsing and checkout: the address book, the profile,
//! favourites, reorder, the monthly-minimum suggestion, and cacheable reference lists.

mod addresses;
mod caching;
mod favourites;
mod orders;
mod profile;
mod suggestion;
