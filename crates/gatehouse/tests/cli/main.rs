#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]
//! Integration tests of the `gatehouse` binary: every test runs the real executable in
//! its own temporary data folder.
//!
//! - [`agreements`]: `agreements status`, `import` (the real school policies in the
//!   domain's fixtures) and `verify` (an edited, swapped, reordered or deleted signature).
//! - [`commands`]: the management commands (`import people`, `audit verify`, `user`,
//!   `token`, `config`, `backup`/`restore`, `healthcheck`).
//! - [`lists`]: `lists compile` (fixture lists and the real UT1 tree) and `check`
//!   (single checks, `--json`, `--at`, squid batch mode).
//! - [`update`]: `lists update` from configured sources (shrink check, `--force`,
//!   `--dry-run`) and the demo's compiled lists with the default policies.
//! - [`dns`]: the demo's DNS filter over UDP (blocked, allowed and safe-search answers).
//! - [`doh`]: DNS over HTTPS on the demo's web server, with a registered device's address
//!   and without, and the activity log naming the device.
//! - [`browser`]: the end-to-end tests in Chromium through chromedriver: sign in, import a
//!   pupils file through the web pages, find the new pupil in the directory; staff sign a
//!   changed agreement, the head publishes a new version and follows the register.

mod agreements;
mod browser;
mod commands;
mod dns;
mod doh;
mod lists;
mod support;
mod update;
