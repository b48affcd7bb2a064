//! The store's behaviour, every test run twice: against an SQLite file in a
//! temporary directory and against a real PostgreSQL server (see `pg`).

#![allow(unreachable_pub, clippy::unwrap_used)]
#[path = "../../../herd/tests/support/pg.rs"]
mod pg;
mod support;

mod audit;
mod open;
mod probes;
mod replicas;
mod servers;
mod tokens;
mod users;
