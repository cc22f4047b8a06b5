//! Activity log tests: storage round trip, search, retention, CSV export and the writer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod csv_export;
mod monitor;
mod prune;
mod search;
mod support;
mod writer;
