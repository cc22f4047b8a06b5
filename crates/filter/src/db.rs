//! Opening, validating and querying a compiled database.
//!
//! [`Database::open`] memory-maps the file and validates all of it (magic, version,
//! header, section bounds, checksum, every block and entry, sort order, set and category
//! references, URL records) so that a corrupt file is an error at open, never a panic or
//! a wrong answer later. Query code still uses checked access only; on inconsistent data
//! it answers "no match".
//!
//! [`Database::lookup`] is the DNS hot path: it lower-cases the query into a stack buffer,
//! reverses its labels, and tries each suffix from the most specific down, binary-searching
//! the front-coded blocks. It allocates only for non-ASCII queries (IDNA).
//!
//! [`Shared`] holds the current database behind an `ArcSwap`, so a reload replaces it
//! atomically while queries continue without taking a lock.

use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::error::{Error, Result};
use crate::format::{
    self, BLOCK, CHECKSUM_AT, HEADER_LEN, Header, SEC_BLOB, SEC_INDEX, SEC_META, SEC_SETS,
    SEC_URLS, SECTIONS, VERSION, read_u16, read_u32, read_u64,
};
use crate::name::{self, MAX_NAME_LEN};

const BUF: usize = 256;

/// Index of a category in [`Database::categories`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CategoryId(pub u16);

/// Index of a distinct category set (stable within one database file). The policy engine
/// can precompute one verdict per set: `0..db.set_count()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CategorySetId(pub u32);

/// A category as recorded at compile time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryInfo {
    /// Its id.
    pub id: CategoryId,
    /// Name (UT1 folder name or the name given for a list).
    pub name: String,
    /// Other names (UT1 symlinks such as `porn` for `adult`).
    pub aliases: Vec<String>,
    /// UT1 `usage` tags.
    pub usage: Vec<String>,
    /// Distinct domains in the category.
    pub domains: u64,
    /// Distinct URL entries in the category.
    pub urls: u64,
}

/// A source as recorded at compile time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// Category name (or `prefix*` for a UT1 tree).
    pub name: String,
    /// `ut1-tree`, `hosts`, `domains`, `adblock`, `ut1category`.
    pub kind: String,
    /// Path as given.
    pub path: String,
}

/// File metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Creation time given by the compiler's caller (Unix seconds).
    pub created_unix: i64,
    /// Sources in compile order.
    pub sources: Vec<SourceInfo>,
    /// Distinct domains.
    pub domains: u32,
    /// Distinct URL entries.
    pub urls: u32,
    /// Distinct category sets.
    pub sets: u32,
    /// File size in bytes.
    pub file_bytes: usize,
}

/// The categories of one entry (sorted, distinct), borrowed from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategorySet<'db> {
    id: CategorySetId,
    ids: &'db [u8],
}

impl<'db> CategorySet<'db> {
    /// The set's id.
    pub fn id(&self) -> CategorySetId {
        self.id
    }

    /// Number of categories.
    pub fn len(&self) -> usize {
        self.ids.len() / 2
    }

    /// Never true for a set in a valid file.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Does the set contain `cat`?
    pub fn contains(&self, cat: CategoryId) -> bool {
        self.iter().any(|c| c == cat)
    }

    /// The category ids, ascending.
    pub fn iter(&self) -> impl Iterator<Item = CategoryId> + 'db {
        self.ids
            .chunks_exact(2)
            .filter_map(|c| read_u16(c, 0).map(CategoryId))
    }
}

/// The result of a domain lookup: the listed name that matched (a suffix of the query,
/// normalised) and its categories.
#[derive(Clone, Copy)]
pub struct Match<'db> {
    name: [u8; MAX_NAME_LEN],
    name_len: u8,
    categories: CategorySet<'db>,
}

impl std::fmt::Debug for Match<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Match")
            .field("name", &self.name())
            .field("categories", &self.categories)
            .finish()
    }
}

impl<'db> Match<'db> {
    /// The listed name that matched, e.g. `example.com` for a query `a.b.example.com`.
    pub fn name(&self) -> &str {
        let b = self.name.get(..usize::from(self.name_len)).unwrap_or(&[]);
        std::str::from_utf8(b).unwrap_or("")
    }

    /// Its categories.
    pub fn categories(&self) -> CategorySet<'db> {
        self.categories
    }

    /// Its category set id.
    pub fn set_id(&self) -> CategorySetId {
        self.categories.id
    }
}

/// The result of a URL lookup: the listed host and path prefix, borrowed from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlMatch<'db> {
    /// Listed host (a suffix of the queried host).
    pub host: &'db str,
    /// Listed path prefix.
    pub path: &'db str,
    /// Its categories.
    pub categories: CategorySet<'db>,
}

enum Backing {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

/// An open, validated database. Immutable; share it with [`Shared`] or `Arc`.
pub struct Database {
    backing: Backing,
    header: Header,
    sections: [Range<usize>; SECTIONS],
    categories: Vec<CategoryInfo>,
    metadata: Metadata,
    /// First 8 bytes (big-endian, zero-padded) of every block head, built at open: the
    /// binary search runs over this dense array (0.5 bytes per domain, cache-friendly) and
    /// touches the mapped heads only among blocks sharing those 8 bytes.
    head_prefixes: Vec<u64>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("metadata", &self.metadata)
            .field("categories", &self.categories.len())
            .finish()
    }
}

/// Map `file` read-only.
///
/// This is the crate's only unsafe code.
#[allow(unsafe_code)]
fn map_file(file: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: `Mmap::map` is unsafe because the mapped bytes could change (or the file
    // shrink, raising SIGBUS) if another process modified the file while it is mapped.
    // Database files are only ever produced by `compile`, which writes a temporary file,
    // fsyncs it and atomically renames it into place; nothing in Gatehouse writes to a
    // database file after that rename. A new database is a new file (a new inode): the
    // rename replaces the directory entry, while an existing mapping keeps referring to the
    // old, unchanged inode. So the bytes behind this mapping never change while we hold
    // it. Operators must not edit or truncate database files in place (e.g. `cp` over
    // them or open them for writing); install a new file by rename, as `compile` does.
    // Every byte is additionally validated before use, and all reads are bounds-checked.
    unsafe { memmap2::Mmap::map(file) }
}

impl Database {
    /// Map and validate the database at `path`.
    pub fn open(path: &Path) -> Result<Database> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len < HEADER_LEN as u64 {
            return Err(Error::corrupt(format!(
                "{}: file of {len} bytes is shorter than the header",
                path.display()
            )));
        }
        let map = map_file(&file).map_err(|e| Error::io(path, e))?;
        Self::validate(Backing::Mapped(map))
    }

    /// Validate a database held in memory (tests, or files fetched over the network).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Database> {
        Self::validate(Backing::Owned(bytes))
    }

    fn bytes(&self) -> &[u8] {
        match &self.backing {
            Backing::Mapped(m) => m,
            Backing::Owned(v) => v,
        }
    }

    fn section(&self, i: usize) -> &[u8] {
        self.sections
            .get(i)
            .and_then(|r| self.bytes().get(r.clone()))
            .unwrap_or(&[])
    }

    fn validate(backing: Backing) -> Result<Database> {
        let bytes: &[u8] = match &backing {
            Backing::Mapped(m) => m,
            Backing::Owned(v) => v,
        };
        let bad = Error::corrupt;
        if bytes.len() < HEADER_LEN {
            return Err(bad("shorter than the header"));
        }
        let header = Header::decode(bytes).ok_or_else(|| bad("bad magic"))?;
        if header.version != VERSION {
            return Err(Error::Version {
                found: header.version,
                expected: VERSION,
            });
        }
        if header.flags != 0 || header.reserved != 0 || header.block as usize != BLOCK {
            return Err(bad("unknown flags or block size"));
        }
        let stored = read_u64(bytes, CHECKSUM_AT).ok_or_else(|| bad("header"))?;
        if stored != format::checksum(bytes) {
            return Err(bad("checksum mismatch"));
        }
        let mut sections: [Range<usize>; SECTIONS] = Default::default();
        let mut at = HEADER_LEN;
        for (r, &len) in sections.iter_mut().zip(&header.section_len) {
            let len = usize::try_from(len).map_err(|_| bad("section length"))?;
            let end = at
                .checked_add(len)
                .filter(|&e| e <= bytes.len())
                .ok_or_else(|| bad("section out of bounds"))?;
            *r = at..end;
            at = end;
        }
        if at != bytes.len() {
            return Err(bad("trailing bytes after the last section"));
        }
        let sec = |i: usize| {
            sections
                .get(i)
                .and_then(|r| bytes.get(r.clone()))
                .unwrap_or(&[])
        };
        let (categories, metadata) = parse_meta(sec(SEC_META), &header, bytes.len())?;
        validate_sets(sec(SEC_SETS), &header)?;
        validate_domains(sec(SEC_INDEX), sec(SEC_BLOB), &header)?;
        let head_prefixes =
            head_prefixes(sec(SEC_INDEX), sec(SEC_BLOB)).ok_or_else(|| bad("block heads"))?;
        validate_urls(sec(SEC_URLS), &header)?;
        Ok(Database {
            backing,
            header,
            sections,
            categories,
            metadata,
            head_prefixes,
        })
    }

    /// All categories, indexed by [`CategoryId`].
    pub fn categories(&self) -> &[CategoryInfo] {
        &self.categories
    }

    /// A category by id.
    pub fn category(&self, id: CategoryId) -> Option<&CategoryInfo> {
        self.categories.get(usize::from(id.0))
    }

    /// A category by name or alias.
    pub fn category_by_name(&self, name: &str) -> Option<&CategoryInfo> {
        self.categories.iter().find(|c| c.name == name).or_else(|| {
            self.categories
                .iter()
                .find(|c| c.aliases.iter().any(|a| a == name))
        })
    }

    /// File metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Number of distinct category sets (set ids are `0..set_count()`).
    pub fn set_count(&self) -> u32 {
        self.header.sets
    }

    /// A category set by id.
    pub fn set(&self, id: CategorySetId) -> Option<CategorySet<'_>> {
        let sets = self.section(SEC_SETS);
        let i = id.0 as usize;
        if id.0 >= self.header.sets {
            return None;
        }
        let start = read_u32(sets, i * 4)? as usize;
        let end = read_u32(sets, i * 4 + 4)? as usize;
        let base = (self.header.sets as usize + 1) * 4;
        let ids = sets.get(base + start * 2..base + end * 2)?;
        Some(CategorySet { id, ids })
    }

    /// Find the most specific listed suffix of `host` (`a.b.example.com` matches a listing
    /// of `example.com`; `badexample.com` does not). Case and one trailing dot are ignored;
    /// non-ASCII names go through IDNA (the only allocating path).
    pub fn lookup(&self, host: &str) -> Option<Match<'_>> {
        if !host.is_ascii() {
            let d = name::normalise_domain(host).ok()?;
            return self.lookup_ascii(d.as_str().as_bytes());
        }
        self.lookup_ascii(host.as_bytes())
    }

    fn lookup_ascii(&self, host: &[u8]) -> Option<Match<'_>> {
        let host = host.strip_suffix(b".").unwrap_or(host);
        if host.is_empty() || host.len() > MAX_NAME_LEN {
            return None;
        }
        let mut lower = [0u8; BUF];
        let lower = lower.get_mut(..host.len())?;
        for (d, s) in lower.iter_mut().zip(host) {
            *d = s.to_ascii_lowercase();
        }
        let mut rev = [0u8; BUF];
        let n = format::reverse_labels(lower, &mut rev)?;
        let rev = rev.get(..n)?;
        // Candidate prefixes of `rev` end at label boundaries; most specific first.
        let mut end = n;
        loop {
            let key = rev.get(..end)?;
            if !key.is_empty()
                && let Some(set) = self.find_exact(key)
            {
                {
                    let mut m = Match {
                        name: [0u8; MAX_NAME_LEN],
                        name_len: end as u8,
                        categories: self.set(set)?,
                    };
                    m.name
                        .get_mut(..end)?
                        .copy_from_slice(lower.get(n - end..)?);
                    return Some(m);
                }
            }
            end = key.iter().rposition(|&b| b == b'.')?;
        }
    }

    /// Exact search for a reversed key; returns its set id.
    fn find_exact(&self, key: &[u8]) -> Option<CategorySetId> {
        let index = self.section(SEC_INDEX);
        let blob = self.section(SEC_BLOB);
        // Last block whose head is <= key: narrow with the dense 8-byte prefixes, then
        // compare full heads only where the prefixes are equal.
        let kp = prefix8(key);
        let mut hi = self.head_prefixes.partition_point(|&p| p <= kp);
        let mut lo = self.head_prefixes.partition_point(|&p| p < kp);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let off = read_u32(index, mid * 4)? as usize;
            let len = usize::from(*blob.get(off + 1)?);
            let head = blob.get(off + 2..off + 2 + len)?;
            if head <= key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let block = lo.checked_sub(1)?;
        let off = read_u32(index, block * 4)? as usize;
        let count = (self.header.domains as usize)
            .saturating_sub(block * BLOCK)
            .min(BLOCK);
        let mut buf = [0u8; BUF];
        let mut pos = off;
        for _ in 0..count {
            let (len, set, next) = decode_entry(blob, pos, &mut buf)?;
            let cur = buf.get(..len)?;
            match cur.cmp(key) {
                std::cmp::Ordering::Equal => return Some(CategorySetId(set)),
                std::cmp::Ordering::Greater => return None,
                std::cmp::Ordering::Less => {}
            }
            pos = next;
        }
        None
    }

    /// Every listed domain (forward form) with its set, in reversed-name order. For export
    /// and tests; allocates per entry.
    pub fn domains(&self) -> impl Iterator<Item = (String, CategorySetId)> + '_ {
        let blob = self.section(SEC_BLOB);
        let total = self.header.domains as usize;
        let mut buf = [0u8; BUF];
        let mut pos = 0usize;
        let mut i = 0usize;
        std::iter::from_fn(move || {
            if i >= total {
                return None;
            }
            let (len, set, next) = decode_entry(blob, pos, &mut buf)?;
            pos = next;
            i += 1;
            let mut fwd = [0u8; BUF];
            let n = format::reverse_labels(buf.get(..len)?, &mut fwd)?;
            let s = String::from_utf8_lossy(fwd.get(..n)?).into_owned();
            Some((s, CategorySetId(set)))
        })
    }

    /// Find the most specific URL entry for `host` + `path`: the listed host is `host` or
    /// one of its suffixes, the listed path a prefix of `path` (byte-wise, case-sensitive);
    /// the longest listed host, then the longest path, wins.
    pub fn url_match(&self, host: &str, path: &str) -> Option<UrlMatch<'_>> {
        let owned;
        let host = if host.is_ascii() {
            host
        } else {
            owned = name::normalise_domain(host).ok()?;
            owned.as_str()
        };
        let host = host.strip_suffix('.').unwrap_or(host);
        if host.is_empty() || host.len() > MAX_NAME_LEN {
            return None;
        }
        let mut lower = [0u8; BUF];
        let lower = lower.get_mut(..host.len())?;
        lower.copy_from_slice(host.as_bytes());
        lower.make_ascii_lowercase();
        let lower = std::str::from_utf8(lower).ok()?;
        let path = if path.is_empty() { "/" } else { path };
        let n = self.header.urls as usize;
        let mut cand = lower;
        loop {
            // First record with host >= cand.
            let (mut lo, mut hi) = (0usize, n);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let (h, _, _) = self.url_record(mid)?;
                if h < cand {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            let mut best: Option<UrlMatch<'_>> = None;
            let mut i = lo;
            while i < n {
                let (h, p, set) = self.url_record(i)?;
                if h != cand {
                    break;
                }
                if path.starts_with(p) {
                    best = Some(UrlMatch {
                        host: h,
                        path: p,
                        categories: self.set(set)?,
                    });
                }
                i += 1;
            }
            if best.is_some() {
                return best;
            }
            let dot = cand.find('.')?;
            cand = cand.get(dot + 1..)?;
        }
    }

    fn url_record(&self, i: usize) -> Option<(&str, &str, CategorySetId)> {
        url_record(self.section(SEC_URLS), self.header.urls as usize, i)
    }
}

/// First 8 bytes of `key` as a big-endian integer, zero-padded: order-preserving for
/// names (which never contain a zero byte).
#[inline]
fn prefix8(key: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    for (d, s) in a.iter_mut().zip(key) {
        *d = *s;
    }
    u64::from_be_bytes(a)
}

fn head_prefixes(index: &[u8], blob: &[u8]) -> Option<Vec<u64>> {
    index
        .chunks_exact(4)
        .map(|c| {
            let off = read_u32(c, 0)? as usize;
            let len = usize::from(*blob.get(off + 1)?);
            Some(prefix8(blob.get(off + 2..off + 2 + len)?))
        })
        .collect()
}

/// Decode one front-coded entry at `pos` into `buf` (which holds the previous key).
/// Returns (key length, set id, next position).
#[inline]
fn decode_entry(blob: &[u8], pos: usize, buf: &mut [u8; BUF]) -> Option<(usize, u32, usize)> {
    let shared = usize::from(*blob.get(pos)?);
    let slen = usize::from(*blob.get(pos + 1)?);
    let start = pos + 2;
    let suffix = blob.get(start..start + slen)?;
    let len = shared + slen;
    buf.get_mut(shared..len)?.copy_from_slice(suffix);
    let (set, next) = format::get_varint(blob, start + slen)?;
    Some((len, set, next))
}

fn url_record(sec: &[u8], n: usize, i: usize) -> Option<(&str, &str, CategorySetId)> {
    let strings_at = (n + 1) * 4 + n * 4;
    let start = read_u32(sec, i * 4)? as usize;
    let end = read_u32(sec, i * 4 + 4)? as usize;
    let set = read_u32(sec, (n + 1) * 4 + i * 4)?;
    let rec = sec.get(strings_at + start..strings_at + end)?;
    let rec = std::str::from_utf8(rec).ok()?;
    let slash = rec.find('/')?;
    Some((rec.get(..slash)?, rec.get(slash..)?, CategorySetId(set)))
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .ok_or_else(|| Error::corrupt("metadata"))?;
        let s = self
            .b
            .get(self.at..end)
            .ok_or_else(|| Error::corrupt("metadata truncated"))?;
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32> {
        read_u32(self.take(4)?, 0).ok_or_else(|| Error::corrupt("metadata"))
    }
    fn u64(&mut self) -> Result<u64> {
        read_u64(self.take(8)?, 0).ok_or_else(|| Error::corrupt("metadata"))
    }
    fn str(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| Error::corrupt("metadata string not UTF-8"))
    }
    fn strs(&mut self) -> Result<Vec<String>> {
        let n = self.u32()? as usize;
        if n > self.b.len() {
            return Err(Error::corrupt("metadata count"));
        }
        (0..n).map(|_| self.str()).collect()
    }
}

fn parse_meta(b: &[u8], h: &Header, file_bytes: usize) -> Result<(Vec<CategoryInfo>, Metadata)> {
    let mut r = Reader { b, at: 0 };
    let created_unix = r.u64()? as i64;
    let n = r.u32()?;
    if n != h.categories || n > u32::from(u16::MAX) + 1 {
        return Err(Error::corrupt("category count"));
    }
    let mut categories = Vec::new();
    for i in 0..n {
        categories.push(CategoryInfo {
            id: CategoryId(i as u16),
            name: r.str()?,
            aliases: r.strs()?,
            usage: r.strs()?,
            domains: r.u64()?,
            urls: r.u64()?,
        });
    }
    let ns = r.u32()? as usize;
    if ns > b.len() {
        return Err(Error::corrupt("source count"));
    }
    let mut sources = Vec::new();
    for _ in 0..ns {
        sources.push(SourceInfo {
            name: r.str()?,
            kind: r.str()?,
            path: r.str()?,
        });
    }
    if r.at != b.len() {
        return Err(Error::corrupt("trailing metadata bytes"));
    }
    Ok((
        categories,
        Metadata {
            created_unix,
            sources,
            domains: h.domains,
            urls: h.urls,
            sets: h.sets,
            file_bytes,
        },
    ))
}

fn validate_sets(sec: &[u8], h: &Header) -> Result<()> {
    let bad = || Error::corrupt("category set table");
    let n = h.sets as usize;
    let base = n
        .checked_add(1)
        .and_then(|x| x.checked_mul(4))
        .ok_or_else(bad)?;
    let ids = sec.get(base..).ok_or_else(bad)?;
    if ids.len() % 2 != 0 || read_u32(sec, 0) != Some(0) {
        return Err(bad());
    }
    let mut prev = 0usize;
    for i in 1..=n {
        let end = read_u32(sec, i * 4).ok_or_else(bad)? as usize;
        if end <= prev {
            return Err(bad()); // empty or backwards
        }
        let mut last: Option<u16> = None;
        for j in prev..end {
            let c = read_u16(ids, j * 2).ok_or_else(bad)?;
            if u32::from(c) >= h.categories || last.is_some_and(|l| l >= c) {
                return Err(bad());
            }
            last = Some(c);
        }
        prev = end;
    }
    if prev * 2 != ids.len() {
        return Err(bad());
    }
    Ok(())
}

fn validate_domains(index: &[u8], blob: &[u8], h: &Header) -> Result<()> {
    let n = h.domains as usize;
    let blocks = n.div_ceil(BLOCK);
    if index.len() != blocks * 4 {
        return Err(Error::corrupt("block index length"));
    }
    let mut buf = [0u8; BUF];
    let mut prev = [0u8; BUF];
    let mut prev_len = 0usize;
    let mut pos = 0usize;
    for i in 0..n {
        let bad = |what: &str| Error::corrupt(format!("domain entry {i}: {what}"));
        if i % BLOCK == 0 {
            let off = read_u32(index, (i / BLOCK) * 4).ok_or_else(|| bad("index"))?;
            if off as usize != pos {
                return Err(bad("block offset"));
            }
            if blob.get(pos) != Some(&0) {
                return Err(bad("block head is not stored in full"));
            }
        }
        let shared = usize::from(*blob.get(pos).ok_or_else(|| bad("truncated"))?);
        if shared > prev_len {
            return Err(bad("shared prefix longer than previous name"));
        }
        let (len, set, next) = decode_entry(blob, pos, &mut buf).ok_or_else(|| bad("truncated"))?;
        if len > MAX_NAME_LEN || set >= h.sets {
            return Err(bad("length or set out of range"));
        }
        let key = buf.get(..len).ok_or_else(|| bad("length"))?;
        name::validate_labels(key).map_err(|e| bad(&e.to_string()))?;
        if i > 0 && prev.get(..prev_len) >= Some(key) {
            return Err(bad("not sorted"));
        }
        prev.get_mut(..len)
            .ok_or_else(|| bad("length"))?
            .copy_from_slice(key);
        prev_len = len;
        pos = next;
    }
    if pos != blob.len() {
        return Err(Error::corrupt("trailing bytes in the domain section"));
    }
    Ok(())
}

fn validate_urls(sec: &[u8], h: &Header) -> Result<()> {
    let bad = |what: &str| Error::corrupt(format!("url section: {what}"));
    let n = h.urls as usize;
    let strings_at = n
        .checked_mul(8)
        .and_then(|x| x.checked_add(4))
        .ok_or_else(|| bad("count"))?;
    let strings_len = sec
        .len()
        .checked_sub(strings_at)
        .ok_or_else(|| bad("truncated"))?;
    if read_u32(sec, 0) != Some(0) || read_u32(sec, n * 4).map(|e| e as usize) != Some(strings_len)
    {
        return Err(bad("offsets"));
    }
    let mut prev: Option<(&str, &str)> = None;
    for i in 0..n {
        let start = read_u32(sec, i * 4).ok_or_else(|| bad("offsets"))?;
        let end = read_u32(sec, i * 4 + 4).ok_or_else(|| bad("offsets"))?;
        if end <= start {
            return Err(bad("offsets"));
        }
        let (host, path, set) = url_record(sec, n, i).ok_or_else(|| bad("record"))?;
        if set.0 >= h.sets {
            return Err(bad("set out of range"));
        }
        name::validate_normalised(host.as_bytes()).map_err(|e| bad(&e.to_string()))?;
        if prev.is_some_and(|p| p >= (host, path)) {
            return Err(bad("not sorted"));
        }
        prev = Some((host, path));
    }
    Ok(())
}

/// The current database, replaceable atomically while queries run (no lock on the query
/// path: readers do an atomic load and an `Arc` clone).
pub struct Shared {
    current: ArcSwap<Database>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("current", &self.current.load().metadata)
            .finish()
    }
}

impl Shared {
    /// Start with `db`.
    pub fn new(db: Database) -> Self {
        Self {
            current: ArcSwap::from_pointee(db),
        }
    }

    /// The current database. Cheap; hold the `Arc` for the duration of one query so that
    /// a concurrent [`Shared::store`] does not change answers mid-query.
    pub fn load(&self) -> Arc<Database> {
        self.current.load_full()
    }

    /// Replace the database; queries in flight finish on the old one, which is unmapped
    /// when the last `Arc` is dropped.
    pub fn store(&self, db: Database) {
        self.current.store(Arc::new(db));
    }

    /// Open and validate `path`, then [`Shared::store`] it. On error the current database
    /// stays in service.
    pub fn reload(&self, path: &Path) -> Result<()> {
        let db = Database::open(path)?;
        self.store(db);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{CompileOptions, Source, compile};
    use crate::list::ListFormat;

    fn build(lists: &[(&str, &str)], urls: Option<&str>) -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let mut sources = Vec::new();
        for (cat, text) in lists {
            let p = dir.path().join(format!("{cat}.txt"));
            std::fs::write(&p, text).unwrap();
            sources.push(Source::List {
                category: (*cat).into(),
                format: ListFormat::Domains,
                path: p,
            });
        }
        if let Some(u) = urls {
            let d = dir.path().join("ut1cat");
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("urls"), u).unwrap();
            sources.push(Source::List {
                category: "urlcat".into(),
                format: ListFormat::Ut1Category,
                path: d,
            });
        }
        let out = dir.path().join("db.ghf");
        compile(
            &sources,
            &CompileOptions { created_unix: 42 },
            &out,
            &mut |_| {},
        )
        .unwrap();
        let db = Database::open(&out).unwrap();
        (dir, db)
    }

    fn cats(db: &Database, host: &str) -> Option<(String, Vec<String>)> {
        db.lookup(host).map(|m| {
            let names = m
                .categories()
                .iter()
                .map(|c| db.category(c).unwrap().name.clone())
                .collect();
            (m.name().to_owned(), names)
        })
    }

    #[test]
    fn suffix_walk() {
        let (_d, db) = build(
            &[
                ("a", "example.com\nbad.org\nx.y.z.net\n"),
                ("b", "sub.example.com\nexample.com\n"),
            ],
            None,
        );
        assert_eq!(
            cats(&db, "a.b.example.com"),
            Some(("example.com".into(), vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            cats(&db, "X.Sub.Example.COM."),
            Some(("sub.example.com".into(), vec!["b".into()]))
        );
        assert_eq!(cats(&db, "badexample.com"), None);
        assert_eq!(cats(&db, "com"), None);
        assert_eq!(cats(&db, "y.z.net"), None);
        assert_eq!(cats(&db, "bad.org").unwrap().0, "bad.org");
        assert_eq!(db.metadata().created_unix, 42);
        assert_eq!(db.metadata().domains, 4);
        let all: Vec<String> = db.domains().map(|d| d.0).collect();
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn urls() {
        let (_d, db) = build(
            &[("a", "x.org\n")],
            Some("www.example.com/a/b\nexample.com/a\nother.net/p\n"),
        );
        let m = db.url_match("www.Example.com", "/a/b/c").unwrap();
        assert_eq!((m.host, m.path), ("example.com", "/a/b"));
        let m = db.url_match("example.com", "/a/x").unwrap();
        assert_eq!(m.path, "/a");
        assert!(db.url_match("example.com", "/b").is_none());
        assert!(db.url_match("deep.other.net", "/p?q=1").is_some());
        assert!(db.url_match("notother.net", "/p").is_none());
    }

    #[test]
    fn shared_swaps() {
        let (_d1, db1) = build(&[("a", "one.com\n")], None);
        let (_d2, db2) = build(&[("a", "two.com\n")], None);
        let shared = Shared::new(db1);
        let old = shared.load();
        shared.store(db2);
        assert!(old.lookup("one.com").is_some());
        assert!(shared.load().lookup("two.com").is_some());
        assert!(shared.load().lookup("one.com").is_none());
    }
}
