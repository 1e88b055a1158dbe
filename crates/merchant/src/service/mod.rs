//! Operations on merchants and listings that handlers and other crates call.

pub mod bulk;
mod cards;
pub mod favourites;
pub mod listings;
pub mod merchants;
pub mod naik_kelas;
pub mod products;
pub(crate) mod sale;

pub use cards::{ListingCard, cards};
pub use sale::{
    BankAccount, ListingDetail, ListingForSale, add_turnover, add_turnovers, add_turnovers_chained,
    bank_account, listings_for_sale, merchant_name, owner_contact, shop_and_owner, shops,
    shops_chained, staples_for_sale,
};
