//! Storage of users, their addresses, sessions, OPDs, refresh tokens and regions. Entities are storage only: the API has
//! its own types in `http`.

pub mod address;
pub mod email_change;
pub mod login_lock;
pub mod opd;
pub mod refresh_token;
pub mod region;
pub mod registration;
pub mod session;
pub mod user;
