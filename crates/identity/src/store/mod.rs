//! Storage of users, OPDs, refresh tokens and regions. Entities are storage only: the API has
//! its own types in `http`.

pub mod opd;
pub mod refresh_token;
pub mod region;
pub mod user;
