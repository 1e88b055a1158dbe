//! Identity: users of every role, OPDs (city departments), sessions, and the region table.

pub mod addresses;
pub mod http;
pub mod opd_staff;
pub mod password;
pub mod people;
pub mod profile;
pub mod registration;
pub mod roster;
pub mod service;
pub mod store;
