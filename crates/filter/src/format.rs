//! Byte layout of the compiled database (shared by the writer and the reader).
//!
//! All integers are little-endian; nothing relies on alignment (fields are read with
//! `from_le_bytes` from checked slices). See the crate documentation for the full layout.

/// File magic.
pub const MAGIC: [u8; 8] = *b"GHFILTDB";
/// Format version written and read by this build (2: the index section also holds the
/// block-head prefixes and a blocked Bloom filter; older files are refused).
pub const VERSION: u32 = 2;
/// Bloom filter size: bits per listed domain (rounded up to whole 512-bit blocks).
pub const BLOOM_BITS_PER_KEY: usize = 10;
/// Bits set per key (each takes 9 bits of the probe hash).
pub const BLOOM_K: usize = 6;
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

/// First 8 bytes of `key` as a big-endian integer, zero-padded: order-preserving for
/// names (which never contain a zero byte).
#[inline]
pub fn prefix8(key: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    for (d, s) in a.iter_mut().zip(key) {
        *d = *s;
    }
    u64::from_be_bytes(a)
}

/// Number of 512-bit (64-byte) Bloom blocks for `domains` keys (at least one).
pub fn bloom_blocks(domains: usize) -> usize {
    (domains.saturating_mul(BLOOM_BITS_PER_KEY))
        .div_ceil(512)
        .max(1)
}

/// 64-bit hash of a reversed key (part of the file format: the Bloom filter is built
/// with it). 8 bytes per step, then the length; finalised with the murmur3 mixer.
#[inline]
pub fn key_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0x243f_6a88_85a3_08d3;
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(a));
    }
    let mut a = [0u8; 8];
    for (d, s) in a.iter_mut().zip(chunks.remainder()) {
        *d = *s;
    }
    h = mix(h, u64::from_le_bytes(a));
    h = mix(h, key.len() as u64);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The Bloom hashes of a reversed key: (block hash, bit hash). The bits come from the
/// key's own hash; the block from the hash of its parent (the key without its last
/// label) when the key has three labels or more, else from its own hash. So `com.x` and
/// `com.x.www` share one 64-byte block, and a lookup of a 3-label name touches one
/// random cache line instead of two (the top-level label's line stays hot).
pub fn bloom_hashes(key: &[u8]) -> (u64, u64) {
    let h = key_hash(key);
    let dots = key.iter().filter(|&&b| b == b'.').count();
    match key.iter().rposition(|&b| b == b'.') {
        Some(p) if dots >= 2 => (key_hash(key.get(..p).unwrap_or(&[])), h),
        _ => (h, h),
    }
}

/// The Bloom block of block hash `bh` and the [`BLOOM_K`] bit positions (0..512) of
/// bit hash `h` inside it.
#[inline]
fn bloom_probe(bh: u64, h: u64, blocks: usize) -> (usize, [u32; BLOOM_K]) {
    let block = ((u128::from(bh) * blocks as u128) >> 64) as usize;
    let g = h.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) ^ h;
    let mut bits = [0u32; BLOOM_K];
    for (i, b) in bits.iter_mut().enumerate() {
        *b = ((g >> (9 * i)) & 511) as u32;
    }
    (block, bits)
}

/// Set the bits of ([`bloom_hashes`]) `(bh, h)` in a Bloom filter of `words.len() / 8`
/// blocks.
pub fn bloom_insert(words: &mut [u64], (bh, h): (u64, u64)) {
    let (block, bits) = bloom_probe(bh, h, words.len() / 8);
    for b in bits {
        if let Some(w) = words.get_mut(block * 8 + (b as usize >> 6)) {
            *w |= 1u64 << (b & 63);
        }
    }
}

/// May a key of [`bloom_hashes`] `(bh, h)` be in the Bloom filter stored (little-endian u64 words) in
/// `bytes`? False means certainly not. Out-of-bounds reads answer true (never hide a
/// listed name).
#[inline]
pub fn bloom_may_contain(bytes: &[u8], (bh, h): (u64, u64)) -> bool {
    let (block, bits) = bloom_probe(bh, h, bytes.len() / 64);
    let Some(line) = bytes.get(block * 64..block * 64 + 64) else {
        return true;
    };
    // No short-circuit: the reads hit one cache line, and branch-free code lets the
    // probes of several suffixes of one query overlap their cache misses.
    bits.iter().fold(true, |acc, &b| {
        acc & read_u64(line, (b as usize >> 6) * 8).is_none_or(|w| w & (1u64 << (b & 63)) != 0)
    })
}
