//! Uploaded files (scans of paper signatures, later evidence), stored by the SHA-256 of
//! their content: the same file is kept once, a stored file never changes, and a record
//! that names a hash always finds the bytes it was made with.

use crate::{Result, ServiceError};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The largest upload kept.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// The kinds of file accepted, recognised by their first bytes (not by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// PDF.
    Pdf,
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
}

impl FileKind {
    /// Recognise a file by its content.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else {
            None
        }
    }

    /// MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
        }
    }
}

/// A content-addressed folder.
#[derive(Debug, Clone)]
pub struct Files {
    dir: PathBuf,
}

impl Files {
    /// Files under `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, sha: &str) -> Option<PathBuf> {
        let valid = sha.len() == 64
            && sha
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
        valid.then(|| self.dir.join(&sha[..2]).join(&sha[2..]))
    }

    /// Keep `bytes` (a PDF, PNG or JPEG up to [`MAX_FILE_BYTES`]); returns its SHA-256.
    /// Written to a temporary name and renamed, so a crash never leaves half a file.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(ServiceError::Invalid(format!(
                "file: larger than {} MB",
                MAX_FILE_BYTES / 1024 / 1024
            )));
        }
        if FileKind::sniff(bytes).is_none() {
            return Err(ServiceError::Invalid(
                "file: only PDF, PNG and JPEG files are accepted".into(),
            ));
        }
        let sha = hex::encode(Sha256::digest(bytes));
        let path = self
            .path(&sha)
            .ok_or_else(|| ServiceError::Invalid("file: bad hash".into()))?;
        if path.exists() {
            return Ok(sha);
        }
        let io =
            |e: std::io::Error| ServiceError::Invalid(format!("file: could not be stored ({e})"));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(sha)
    }

    /// The bytes stored under `sha`, with their kind.
    pub fn get(&self, sha: &str) -> Result<(FileKind, Vec<u8>)> {
        let path = self
            .path(sha)
            .ok_or_else(|| ServiceError::NotFound(format!("file {sha}")))?;
        let bytes =
            std::fs::read(&path).map_err(|_| ServiceError::NotFound(format!("file {sha}")))?;
        let kind =
            FileKind::sniff(&bytes).ok_or_else(|| ServiceError::NotFound(format!("file {sha}")))?;
        Ok((kind, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_kept_once_by_content_and_checked_by_type() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::new(dir.path().to_path_buf());
        let pdf = b"%PDF-1.4 scanned form".to_vec();
        let a = files.put(&pdf).unwrap();
        assert_eq!(files.put(&pdf).unwrap(), a);
        assert_eq!(files.get(&a).unwrap(), (FileKind::Pdf, pdf));
        assert!(files.put(b"MZ\x90\x00 not a document").is_err());
        assert!(files.get("../../etc/passwd").is_err());
        assert!(files.put(&vec![0u8; MAX_FILE_BYTES + 1]).is_err());
    }
}
