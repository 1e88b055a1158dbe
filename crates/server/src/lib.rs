//! The `peken` server: wires the domain crates into one actix-web application, runs
//! migrations, workers and the command line.

pub mod cli;
pub mod guard;
pub mod malloc;
pub mod middleware;
pub mod openapi;
pub mod policies;
pub mod problem_codes;
pub mod routes;
pub mod secrets;
pub mod seed;
pub mod startup;
pub mod workers;

pub use startup::{Application, build_state};
