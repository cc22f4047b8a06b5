//! End-to-end tests of the web application over HTTP: each test starts a fresh
//! installation (its own SQLite file, a fixed clock) on a local port and drives it like a
//! browser does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod agreements;
mod alerts;
mod api;
mod auth;
mod devices;
mod doh;
mod filtering;
mod import;
mod incidents;
mod support;
