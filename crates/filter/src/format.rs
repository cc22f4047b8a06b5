//! Byte layout of the compiled database (shared by the writer and the reader).
//!
//! All integers are little-endian; nothing relies on alignment (fields are read with
//! `from_le_bytes` from checked slices). See the crate documentation for the full layout.

/// File magic.
pub const MAGIC: [u8; 8] = *b"GHFILTDB";
/// Format version written and read by this build (4: listed names as fingerprints in a
/// two-choice hash table of 64-byte buckets, in place of version 3's front-coded sorted
/// names and block index; older files are refused).
pub const VERSION: u32 = 4;
/// Header flag: no listed domain is a single label (a top-level name such as `zip`), so
/// a lookup need not ask the Bloom filter about a query's last label. Files without it
/// (lists that block a whole top-level domain) are searched as before.
pub const FLAG_NO_SINGLE_LABEL: u32 = 1;
/// Header flag: the checksum runs four independent lanes over the sections (see
/// [`checksum`]), about four times as fast to verify at open as a single chain, which
/// files without it use.
pub const FLAG_CHECKSUM_LANES: u32 = 2;
/// Every flag this build understands; a file with any other is refused.
pub const KNOWN_FLAGS: u32 = FLAG_NO_SINGLE_LABEL | FLAG_CHECKSUM_LANES;
/// Most labels a name can have (253 bytes, one-byte labels).
pub const MAX_LABELS: usize = 128;
/// A suffix of three labels or more shares its Bloom block with a shorter suffix (see
/// [`for_each_bloom_key`]) unless more than this many listed names share that shorter
/// suffix.
pub const HEAVY_ABOVE: u32 = 8;
/// Bloom filter size: bits per listed domain (rounded up to an even number of 256-bit
/// blocks, so that what follows stays 64-byte aligned).
pub const BLOOM_BITS_PER_KEY: usize = 10;
/// The split-block Bloom filter's salts: a key sets one bit in each of the eight 32-bit
/// words of its block, bit `(h * SALT[i]) >> 27` of word `i` (as in Parquet's filters).
const SALT: [u32; 8] = [
    0x47b6_137b,
    0x4497_4d91,
    0x8824_ad5b,
    0xa2b7_289d,
    0x7054_95c7,
    0x2df1_424b,
    0x9efc_4947,
    0x5c6b_fb31,
];
/// Slots per bucket of the name table: eight u64 slots, one 64-byte cache line.
pub const BUCKET_SLOTS: usize = 8;
/// Bytes per bucket.
pub const BUCKET_BYTES: usize = BUCKET_SLOTS * 8;
/// How full the compiler makes the name table, in percent of its slots (a two-choice
/// table of eight-slot buckets fills to about 98% before insertion fails).
pub const TABLE_LOAD_PERCENT: usize = 94;

/// Number of sections, in file order: metadata, sets, index (Bloom filter and bitmap),
/// name table, urls, URL hosts.
pub const SECTIONS: usize = 6;
/// Offset of the checksum field in the header.
pub const CHECKSUM_AT: usize = 40 + 8 * SECTIONS;
/// Header length; the first section starts here.
pub const HEADER_LEN: usize = CHECKSUM_AT + 8;

pub const SEC_META: usize = 0;
pub const SEC_SETS: usize = 1;
pub const SEC_INDEX: usize = 2;
pub const SEC_TABLE: usize = 3;
pub const SEC_URLS: usize = 4;
pub const SEC_URL_HOSTS: usize = 5;

/// Bytes per slot of the URL-host table: the host's hash (u64, 0 = empty), then the
/// first and one-past-last of its URL records (u32 each).
pub const URL_HOST_SLOT: usize = 16;

/// Slots of the URL-host table for `hosts` distinct hosts: a power of two, at least
/// twice as many, at least 16 (so that a probe always ends at an empty slot).
pub fn url_host_slots(hosts: usize) -> usize {
    hosts.saturating_mul(2).next_power_of_two().max(16)
}

/// Build the URL-host table: every `(hash, start, end)` (0 taken as 1) by open addressing
/// with linear probing from `hash mod slots`. Two hosts of one hash (never seen) share a
/// slot whose range covers the records of both; the search within it compares hosts.
pub fn url_host_table(hosts: &[(u64, u32, u32)]) -> Vec<u8> {
    let slots = url_host_slots(hosts.len());
    let mut table = vec![0u8; slots * URL_HOST_SLOT];
    for &(h, start, end) in hosts {
        let h = h.max(1);
        let mut i = (h as usize) & (slots - 1);
        loop {
            let at = i * URL_HOST_SLOT;
            match read_u64(&table, at) {
                Some(s) if s == 0 || s == h => {
                    let (start, end) = if s == h {
                        let a = read_u32(&table, at + 8).unwrap_or(start);
                        let b = read_u32(&table, at + 12).unwrap_or(end);
                        (a.min(start), b.max(end))
                    } else {
                        (start, end)
                    };
                    if let Some(slot) = table.get_mut(at..at + URL_HOST_SLOT) {
                        slot[..8].copy_from_slice(&h.to_le_bytes());
                        slot[8..12].copy_from_slice(&start.to_le_bytes());
                        slot[12..].copy_from_slice(&end.to_le_bytes());
                    }
                    break;
                }
                Some(_) => i = (i + 1) & (slots - 1),
                None => break,
            }
        }
    }
    table
}

/// The records `(start, end)` of the host of hash `h` in the URL-host table `table`, if
/// it has any. At most every slot is looked at, so a corrupt table cannot loop.
#[inline]
pub fn url_host_find(table: &[u8], h: u64) -> Option<(u32, u32)> {
    let h = h.max(1);
    let slots = table.len() / URL_HOST_SLOT;
    if slots == 0 {
        return None;
    }
    let mut i = (h as usize) & (slots - 1);
    for _ in 0..slots {
        let at = i * URL_HOST_SLOT;
        let s = read_u64(table, at)?;
        if s == h {
            return Some((read_u32(table, at + 8)?, read_u32(table, at + 12)?));
        }
        if s == 0 {
            return None;
        }
        i = (i + 1) & (slots - 1);
    }
    None
}

/// Header fields (everything but the checksum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    pub version: u32,
    pub flags: u32,
    pub domains: u32,
    pub urls: u32,
    pub sets: u32,
    pub categories: u32,
    /// Seed of the suffix hashes ([`suffixes`]), chosen by the compiler.
    pub seed: u32,
    /// log2 of the heavy-suffix bitmap's size in 64-bit words (0..=[`MAX_HEAVY_LOG2`]).
    pub heavy_log2: u32,
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
            self.seed,
            self.heavy_log2,
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
            seed: u(6)?,
            heavy_log2: u(7)?,
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

/// 64-bit checksum of the file with the checksum field skipped. Each step
/// `h = rotl((h ^ chunk) * K, 29)` is a bijection of `h` for a fixed chunk and of the chunk
/// for a fixed `h`, so any change confined to one 8-byte chunk (every single-byte flip)
/// always changes the result. Not cryptographic: it detects corruption, not tampering.
///
/// With [`FLAG_CHECKSUM_LANES`] in the header's flags, the sections' chunks are dealt in
/// turn to four chains that are then folded into one with the same step: each chain, and
/// the fold in each chain's value, is still a bijection, so the property holds, and the
/// four multiplications overlap instead of waiting for one another.
pub fn checksum(file: &[u8]) -> u64 {
    let head = file.get(..CHECKSUM_AT).unwrap_or(file);
    let tail = file.get(HEADER_LEN..).unwrap_or(&[]);
    let h = hash_into(0x243f_6a88_85a3_08d3, head);
    let lanes = read_u32(file, 12).is_some_and(|f| f & FLAG_CHECKSUM_LANES != 0);
    let h = if lanes {
        hash_lanes(h, tail)
    } else {
        hash_into(h, tail)
    };
    mix(h, file.len() as u64)
}

/// [`hash_into`] over four chains, chunk `i` going to chain `i % 4`, folded at the end.
fn hash_lanes(h: u64, bytes: &[u8]) -> u64 {
    let mut lanes = [h, h ^ 1, h ^ 2, h ^ 3];
    let mut blocks = bytes.chunks_exact(32);
    for b in &mut blocks {
        for (lane, c) in lanes.iter_mut().zip(b.chunks_exact(8)) {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            *lane = mix(*lane, u64::from_le_bytes(a));
        }
    }
    let rest = blocks.remainder();
    let mut h = lanes.iter().fold(h, |acc, &lane| mix(acc, lane));
    if !rest.is_empty() {
        h = hash_into(h, rest);
    }
    h
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

/// Largest `heavy_log2` accepted (a 1 MiB bitmap).
pub const MAX_HEAVY_LOG2: u32 = 17;

/// Zero bytes at the start of the index section so that the Bloom filter (and, as its
/// sizes are multiples of 64 bytes, the bitmap and the name table after it) start at a
/// file offset that is a multiple of 64: one probe, one cache line.
pub fn index_padding(section_start: usize) -> usize {
    (64 - section_start % 64) % 64
}

/// Number of 256-bit (32-byte) Bloom blocks for `domains` keys (even, at least two).
pub fn bloom_blocks(domains: usize) -> usize {
    (domains.saturating_mul(BLOOM_BITS_PER_KEY))
        .div_ceil(512)
        .max(1)
        * 2
}

/// Size (log2 of 64-bit words) of the heavy-suffix bitmap for `heavy` suffixes: about 32
/// bits per heavy suffix, so about 3% of other suffixes test positive.
pub fn heavy_log2(heavy: usize) -> u32 {
    // At least 8 words, so that what follows stays 64-byte aligned.
    let words = heavy.saturating_mul(32).div_ceil(64).max(8);
    words
        .next_power_of_two()
        .trailing_zeros()
        .min(MAX_HEAVY_LOG2)
}

/// Lower-case the ASCII letters of eight bytes at once (other bytes unchanged).
#[inline]
fn lower8(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low7 = w & (0x7f * ONES);
    let ge_a = low7.wrapping_add((0x80 - u64::from(b'A')) * ONES);
    let gt_z = low7.wrapping_add((0x7f - u64::from(b'Z')) * ONES);
    let upper = ge_a & !gt_z & !w & (0x80 * ONES);
    w | (upper >> 2)
}

/// The suffixes of a forward name, shortest first (`www.example.com`: `com`,
/// `example.com`, `www.example.com`), each as (byte offset where it starts, hash). Each
/// suffix's hash extends its parent's by one label: the label's bytes eight at a time, the
/// last word carrying the label's length in its top byte (a word of its own when the
/// length is a multiple of eight), so that a label's words are never those of another
/// label or of a run of labels; each word is folded in with `fmix(state ^ word)`, a full
/// avalanche, so that names differing in a byte or two do not collide, as they would with
/// a multiply alone. ASCII upper case is folded while hashing. `seed` is the file's
/// (header field `seed`): a compiler that meets two listed names with one hash picks
/// another. Part of the file format: the Bloom filter, the heavy-suffix bitmap and the
/// name table are built with it.
#[derive(Debug, Clone)]
pub struct Suffixes<'a> {
    name: &'a [u8],
    /// End of the next label to hash; `None` when done.
    end: Option<usize>,
    state: u64,
}

/// The hash of the whole of `name` under `seed`: that of its longest suffix, as a lookup
/// computes it.
pub fn name_hash(name: &[u8], seed: u32) -> u64 {
    suffixes(name, seed).last().map_or(0, |(_, h)| h)
}

/// The [`Suffixes`] of `name` under `seed`.
#[inline]
pub fn suffixes(name: &[u8], seed: u32) -> Suffixes<'_> {
    Suffixes {
        name,
        end: Some(name.len()),
        state: 0x243f_6a88_85a3_08d3 ^ u64::from(seed).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    }
}

impl Iterator for Suffixes<'_> {
    type Item = (usize, u64);

    #[inline]
    fn next(&mut self) -> Option<(usize, u64)> {
        let end = self.end?;
        let head = self.name.get(..end)?;
        let start = head.iter().rposition(|&b| b == b'.').map_or(0, |p| p + 1);
        let label = head.get(start..)?;
        let mut chunks = label.chunks_exact(8);
        for c in &mut chunks {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            self.state = fmix(self.state ^ lower8(u64::from_le_bytes(a)));
        }
        let mut w = (label.len() as u64 & 0xff) << 56;
        for (j, &b) in chunks.remainder().iter().enumerate() {
            w |= u64::from(b) << (8 * j);
        }
        self.state = fmix(self.state ^ lower8(w));
        self.end = start.checked_sub(1);
        Some((start, self.state))
    }
}

/// Call `f(i, start, (block hash, bit hash))` with the Bloom key of every suffix `i`
/// (shortest first, starting at byte `start`) of the forward name `name`. The block of a
/// suffix is chosen by its group: the shortest suffix of two labels or more that is not
/// heavy (or the name itself, if all are). Suffixes at or above the group share its Bloom
/// block, so a query touches one random cache line for all of them (`www.example.com` and
/// `example.com` share one; `example.co.uk` gets its own because many listed names end in
/// `co.uk`); shorter suffixes (`com`, `co.uk`) use their own, hot, blocks. The same
/// function builds the filter and queries it.
#[inline]
pub fn for_each_bloom_key(
    name: &[u8],
    seed: u32,
    heavy: &[u8],
    mut f: impl FnMut(usize, usize, (u64, u64)),
) {
    let mut group: Option<u64> = None;
    for (i, (start, h)) in suffixes(name, seed).enumerate() {
        // `start > 0`: not yet the whole name, so a heavy suffix passes the group on.
        let block = match group {
            Some(g) => g,
            None if i == 0 || (start > 0 && heavy_contains(heavy, h)) => h,
            None => {
                group = Some(h);
                h
            }
        };
        f(i, start, (block, h));
    }
}

/// The Bloom key of the whole name (its longest suffix), see [`for_each_bloom_key`].
pub fn name_bloom_key(name: &[u8], seed: u32, heavy: &[u8]) -> Option<(u64, u64)> {
    let mut key = None;
    for_each_bloom_key(name, seed, heavy, |_, _, k| key = Some(k));
    key
}

#[inline]
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Is the suffix of hash `h` marked heavy in the bitmap `bytes` (little-endian u64
/// words, a power of two of them)? Out-of-bounds reads answer false.
#[inline]
pub fn heavy_contains(bytes: &[u8], h: u64) -> bool {
    let words = bytes.len() / 8;
    if words == 0 {
        return false;
    }
    let bit = (h >> 7) as usize & (words * 64 - 1);
    read_u64(bytes, (bit >> 6) * 8).is_some_and(|w| w & (1u64 << (bit & 63)) != 0)
}

/// Mark the suffix of hash `h` heavy in a bitmap of `words.len()` (a power of two) words.
pub fn heavy_insert(words: &mut [u64], h: u64) {
    let n = words.len();
    if n == 0 {
        return;
    }
    let bit = (h >> 7) as usize & (n * 64 - 1);
    if let Some(w) = words.get_mut(bit >> 6) {
        *w |= 1u64 << (bit & 63);
    }
}

/// The Bloom block (of `blocks`) chosen by block hash `bh`, and the bit of each of its
/// eight words set by bit hash `h`.
#[inline]
fn bloom_probe(bh: u64, h: u64, blocks: usize) -> (usize, [u32; 8]) {
    let block = ((u128::from(bh) * blocks as u128) >> 64) as usize;
    let x = h as u32;
    let mut mask = [0u32; 8];
    for (m, salt) in mask.iter_mut().zip(SALT) {
        *m = 1u32 << (x.wrapping_mul(salt) >> 27);
    }
    (block, mask)
}

/// Set the bits of Bloom key `(bh, h)` ([`for_each_bloom_key`]) in a filter of
/// `words.len() / 8` blocks.
pub fn bloom_insert(words: &mut [u32], (bh, h): (u64, u64)) {
    let (block, mask) = bloom_probe(bh, h, words.len() / 8);
    if let Some(ws) = words.get_mut(block * 8..block * 8 + 8) {
        for (w, m) in ws.iter_mut().zip(mask) {
            *w |= m;
        }
    }
}

/// May Bloom key `(bh, h)` be in the filter stored (little-endian u32 words) in `bytes`?
/// False means certainly not. Out-of-bounds reads answer true (never hide a listed name).
#[inline]
pub fn bloom_may_contain(bytes: &[u8], (bh, h): (u64, u64)) -> bool {
    let (block, mask) = bloom_probe(bh, h, bytes.len() / 32);
    let Some(line) = bytes
        .get(block * 32..block * 32 + 32)
        .and_then(|l| <&[u8; 32]>::try_from(l).ok())
    else {
        return true;
    };
    // Branch-free over one half cache line, two words at a time, so that the probes of
    // several suffixes of one query overlap their cache misses.
    let mut missing = 0u64;
    for (pair, words) in mask.chunks_exact(2).zip(line.chunks_exact(8)) {
        let (lo, hi) = (pair.first().copied(), pair.get(1).copied());
        let m = u64::from(lo.unwrap_or(0)) | u64::from(hi.unwrap_or(0)) << 32;
        let mut w = [0u8; 8];
        w.copy_from_slice(words);
        missing |= m & !u64::from_le_bytes(w);
    }
    missing == 0
}

/// Number of buckets the compiler first tries for `domains` names (at least one).
pub fn table_buckets(domains: usize) -> usize {
    domains
        .saturating_mul(100)
        .div_ceil(BUCKET_SLOTS * TABLE_LOAD_PERCENT)
        .max(1)
}

/// Low bits of a table slot that hold the name's category-set id: enough for `sets` ids,
/// at least one. The other `64 - set_bits` bits are the name's fingerprint.
pub fn set_bits(sets: u32) -> u32 {
    (32 - sets.saturating_sub(1).leading_zeros()).max(1)
}

/// Where the name of hash `h` (its whole-name [`suffixes`] hash) may sit in a table of
/// `buckets` buckets (`<= 2^32`), and its tag: two candidate buckets, chosen by the two
/// halves of `h`, and a non-zero fingerprint in the slot's high `64 - set_bits` bits,
/// from a further mix of `h`. A slot holds `tag | set id`; an empty slot is 0, which no
/// tag matches.
#[inline]
pub fn table_place(h: u64, buckets: usize, set_bits: u32) -> (usize, usize, u64) {
    let n = buckets as u64;
    let b1 = ((h & 0xffff_ffff) * n) >> 32;
    let b2 = ((h >> 32) * n) >> 32;
    let tag = fmix(h ^ 0x6a09_e667_f3bc_c909) >> set_bits << set_bits;
    let tag = if tag == 0 { 1u64 << set_bits } else { tag };
    (b1 as usize, b2 as usize, tag)
}

/// Does slot value `v` hold the name of tag `tag`?
#[inline]
pub fn slot_matches(v: u64, tag: u64, set_bits: u32) -> bool {
    (v ^ tag) >> set_bits == 0
}

/// The category-set id stored for the name of hash `h` in the table `table` (buckets of
/// eight little-endian u64 slots), or `None` when it is not listed. Both candidate
/// buckets are read before either is looked at, so that their cache misses overlap; the
/// compiler guarantees that at most one slot of them carries the name's tag.
#[inline]
pub fn table_find(table: &[u8], h: u64, set_bits: u32) -> Option<u32> {
    let buckets = table.len() / BUCKET_BYTES;
    if buckets == 0 || set_bits > 32 {
        return None;
    }
    let (b1, b2, tag) = table_place(h, buckets, set_bits);
    let line = |b: usize| table.get(b * BUCKET_BYTES..(b + 1) * BUCKET_BYTES);
    let (l1, l2) = (line(b1)?, line(b2)?);
    let mut found = 0u64;
    for w in l1.chunks_exact(8).chain(l2.chunks_exact(8)) {
        let v = u64::from_le_bytes(<[u8; 8]>::try_from(w).unwrap_or_default());
        if slot_matches(v, tag, set_bits) {
            found = v;
        }
    }
    (found != 0).then(|| (found & ((1u64 << set_bits) - 1)) as u32)
}
