//! Fault tests against real `peken` processes: SIGKILL under load, the database and Redis cut
//! off and restored under load, the audit chain checked by `peken audit verify`, and the logs of
//! a full run searched for personal data and secrets.
//!
//! The tests that need PostgreSQL (`PEKEN_TEST_DATABASE_URL`, as for the rest of the suite) say
//! so and pass without it; `.ci/run` runs them in its PostgreSQL pass. Figures are printed and
//! recorded in `RELIABILITY.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed expectation is a failed test"
)]

mod audit_cli;
mod crash;
mod dependencies;
mod harness;
mod logs;
mod proxy;
