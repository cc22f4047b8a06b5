//! Activity log tests: storage round trip, search, retention, CSV export and the writer.

mod csv_export;
mod prune;
mod search;
mod support;
mod writer;
