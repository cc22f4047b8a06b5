//! Random secrets and their one-way hashes.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// `n` random bytes from the operating system's generator, as hex.
pub(crate) fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// `n` random bytes.
pub(crate) fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    buf
}

/// SHA-256 of a high-entropy secret (session ids, API tokens, recovery codes), as hex.
/// Such secrets need no slow hash: guessing them is hopeless anyway.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
