//! Byte layout of the compiled database (shared by the writer and the reader).
//!
//! All integers are little-endian; nothing relies on alignment (fields are read with
//! `from_le_bytes` from checked slices). See the crate documentation for the full layout.

/// File magic.
pub const MAGIC: [u8; 8] = *b"GHFILTDB";
/// Format version written and read by this build.
pub const VERSION: u32 = 1;
/// Entries per front-coded block.
pub const BLOCK: usize = 16;
/// Number of sections, in file order: metadata, sets, block index, domain blob, urls.
pub const SECTIONS: usize = 5;
/// Offset of the checksum field in the header.
pub const CHECKSUM_AT: usize = 40 + 8 * SECTIONS;
/// Header length; the first section starts here.
pub const HEADER_LEN: usize = CHECKSUM_AT + 8;

pub const SEC_META: usize = 0;
pub const SEC_SETS: usize = 1;
pub const SEC_INDEX: usize = 2;
pub const SEC_BLOB: usize = 3;
pub const SEC_URLS: usize = 4;

/// Header fields (everything but the checksum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    pub version: u32,
    pub flags: u32,
    pub domains: u32,
    pub urls: u32,
    pub sets: u32,
    pub categories: u32,
    pub block: u32,
    pub reserved: u32,
    pub section_len: [u64; SECTIONS],
}

impl Header {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(&MAGIC);
        for v in [
            self.version,
            self.flags,
            self.domains,
            self.urls,
            self.sets,
            self.categories,
            self.block,
            self.reserved,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for l in self.section_len {
            out.extend_from_slice(&l.to_le_bytes());
        }
        out.extend_from_slice(&0u64.to_le_bytes());
        out
    }

    /// Decode the header (magic checked; other checks are the reader's).
    pub fn decode(bytes: &[u8]) -> Option<Header> {
        if bytes.get(..8)? != MAGIC {
            return None;
        }
        let u = |i: usize| read_u32(bytes, 8 + 4 * i);
        let mut section_len = [0u64; SECTIONS];
        for (i, l) in section_len.iter_mut().enumerate() {
            *l = read_u64(bytes, 40 + 8 * i)?;
        }
        Some(Header {
            version: u(0)?,
            flags: u(1)?,
            domains: u(2)?,
            urls: u(3)?,
            sets: u(4)?,
            categories: u(5)?,
            block: u(6)?,
            reserved: u(7)?,
            section_len,
        })
    }
}

pub fn read_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([
        s.first().copied()?,
        s.get(1).copied()?,
    ]))
}

pub fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(s))
}

pub fn read_u64(b: &[u8], at: usize) -> Option<u64> {
    let s: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(s))
}

/// Append an unsigned LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Read an unsigned LEB128 varint (at most 5 bytes, must fit in u32); returns value and
/// new position.
#[inline]
pub fn get_varint(b: &[u8], mut at: usize) -> Option<(u32, usize)> {
    let mut v: u32 = 0;
    for shift in [0u32, 7, 14, 21, 28] {
        let byte = *b.get(at)?;
        at += 1;
        let part = u32::from(byte & 0x7f);
        if shift == 28 && part > 0x0f {
            return None;
        }
        v |= part << shift;
        if byte & 0x80 == 0 {
            return Some((v, at));
        }
    }
    None
}

/// 64-bit checksum of the file with the checksum field skipped. Each step
/// `h = rotl((h ^ chunk) * K, 29)` is a bijection of `h` for a fixed chunk and of the chunk
/// for a fixed `h`, so any change confined to one 8-byte chunk (every single-byte flip)
/// always changes the result. Not cryptographic: it detects corruption, not tampering.
pub fn checksum(file: &[u8]) -> u64 {
    let head = file.get(..CHECKSUM_AT).unwrap_or(file);
    let tail = file.get(HEADER_LEN..).unwrap_or(&[]);
    let h = hash_into(0x243f_6a88_85a3_08d3, head);
    let h = hash_into(h, tail);
    mix(h, file.len() as u64)
}

#[inline]
fn mix(h: u64, chunk: u64) -> u64 {
    (h ^ chunk)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(29)
}

fn hash_into(mut h: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(a));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut a = [0u8; 8];
        if let Some(dst) = a.get_mut(..rest.len()) {
            dst.copy_from_slice(rest);
        }
        h = mix(h, u64::from_le_bytes(a));
    }
    h
}

/// Reverse the labels of a normalised name: `a.b.example.com` → `com.example.b.a`.
/// Returns the length written; `out` must be at least `name.len()` long.
pub fn reverse_labels(name: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut pos = 0usize;
    for (i, label) in name.rsplit(|&b| b == b'.').enumerate() {
        if i > 0 {
            *out.get_mut(pos)? = b'.';
            pos += 1;
        }
        out.get_mut(pos..pos + label.len())?.copy_from_slice(label);
        pos += label.len();
    }
    Some(pos)
}
