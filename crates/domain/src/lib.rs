//! Gatehouse's domain: the types and rules of a school's online-safety records.
//!
//! Nothing here does IO, speaks HTTP or knows SQL. Values are parsed into newtypes at
//! the boundary (see [`people`]), time comes from an injected [`clock::Clock`], and who
//! may do what is decided by the one permission matrix in [`permissions`].

pub mod agreements;
pub mod audit;
pub mod chain;
pub mod clock;
pub mod devices;
pub mod error;
pub mod filtering;
pub mod import;
pub mod incidents;
pub mod password;
pub mod people;
pub mod permissions;

pub use error::DomainError;
