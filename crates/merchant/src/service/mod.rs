//! Operations on merchants and listings that handlers and other crates call.

mod sale;

pub use sale::{
    BankAccount, ListingForSale, add_turnover, bank_account, listings_for_sale, owner_contact,
    turnover,
};
