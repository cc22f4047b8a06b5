//! Opening, validating and querying a compiled database.
//!
//! [`Database::open`] memory-maps the file and checks its structure (magic, version,
//! header, section bounds, checksum over every byte, index, table and URL section sizes,
//! set and category tables, metadata), so that a corrupt file is an error at open. The
//! per-entry checks (table slots, URL records) are [`Database::verify`] (not run by
//! `open`, see the crate documentation for why this is safe). Query code uses checked
//! access only; on inconsistent data it answers "no match", never panics.
//!
//! [`Database::lookup`] is the DNS hot path: it hashes every suffix of the query in one
//! pass (folding case as it goes), probes the Bloom filter for each (the suffixes of one
//! registrable name share one cache line), and only for the positive ones (most specific
//! first) reads the suffix's two buckets of the name table ([`format::table_find`]): one
//! cache line each, fetched together. It allocates only for non-ASCII queries (IDNA).
//!
//! [`Database::probe`] does the same hashing and Bloom pass once for a decision that needs
//! more than the most specific listed name: the [`Probe`] then yields every listed suffix,
//! most specific first (a name keeps its listed parents' categories), and marks the
//! suffixes with URL entries, whose records (a range per host, found at open) are the only
//! ones [`Probe::url_match`] searches.
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
    self, BUCKET_BYTES, CHECKSUM_AT, HEADER_LEN, Header, SEC_INDEX, SEC_META, SEC_SETS, SEC_TABLE,
    SEC_URL_HOSTS, SEC_URLS, SECTIONS, VERSION, read_u16, read_u32, read_u64,
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
    /// Where the parts of the index section are, within it.
    layout: IndexLayout,
    /// Low bits of a table slot that hold the set id ([`format::set_bits`]).
    set_bits: u32,
}

/// Byte ranges of the index section's parts, relative to the section.
#[derive(Debug, Clone, Default)]
struct IndexLayout {
    bloom: Range<usize>,
    heavy: Range<usize>,
}

impl IndexLayout {
    /// The layout for `h`, in an index section starting at file offset `start`.
    fn of(h: &Header, start: usize) -> Option<IndexLayout> {
        let n = h.domains as usize;
        if !(3..=format::MAX_HEAVY_LOG2).contains(&h.heavy_log2) {
            return None;
        }
        let pad = format::index_padding(start);
        let bloom = pad..pad.checked_add(format::bloom_blocks(n).checked_mul(32)?)?;
        let heavy = bloom.end..bloom.end.checked_add(8usize << h.heavy_log2)?;
        Some(IndexLayout { bloom, heavy })
    }
}

/// One host's suffixes, hashed and probed once ([`Database::probe`]): the listed ones are
/// then found most specific first, and URL entries are searched only under the suffixes
/// that have some.
pub struct Probe<'db, 'h> {
    db: &'db Database,
    /// The host, ASCII, without its trailing dot.
    host: &'h [u8],
    /// Where suffix `i` (0 = the last label alone) starts in `host`.
    starts: [u8; format::MAX_LABELS],
    /// The suffixes that passed the Bloom filter.
    passed: Passed,
    /// Suffixes that have URL entries.
    urls: u128,
    /// Their records (`start..end`), for the first [`URL_RANGES`] of them (shortest
    /// first); further ones search every record.
    url_ranges: [(u8, u32, u32); URL_RANGES],
}

/// Suffixes of one host whose URL records a [`Probe`] keeps (more is unheard of).
const URL_RANGES: usize = 4;

/// Suffixes of one host that passed the Bloom filter whose hashes [`Passed`] keeps: a
/// miss has none or one, a hit one or two. Beyond these (never seen) a suffix is hashed
/// again when it is searched.
const KEPT_HASHES: usize = 4;

/// The suffixes of one host that passed the Bloom filter, with their hashes (kept small:
/// a probe is built and moved for every query).
#[derive(Debug, Clone, Copy, Default)]
struct Passed {
    /// Bit `i`: suffix `i` passed and is not yet searched.
    maybe: u128,
    /// Bit `i`: suffix `i` passed (the rank of its bit among these indexes `hashes`).
    all: u128,
    hashes: [u64; KEPT_HASHES],
}

impl Passed {
    /// Record that suffix `i`, of hash `h`, passed (suffixes in increasing `i`).
    #[inline]
    fn push(&mut self, i: usize, h: u64) {
        if let Some(slot) = self.hashes.get_mut(self.all.count_ones() as usize) {
            *slot = h;
        }
        self.all |= 1u128 << (i & 127);
        self.maybe = self.all;
    }

    /// Take the most specific suffix not yet searched: its index and hash (`host` and
    /// `seed` hash it again when its hash was not kept).
    #[inline]
    fn pop(&mut self, host: &[u8], seed: u32) -> Option<(usize, u64)> {
        if self.maybe == 0 {
            return None;
        }
        let i = 127 - self.maybe.leading_zeros() as usize;
        self.maybe &= !(1u128 << i);
        let rank = (self.all & ((1u128 << i) - 1)).count_ones() as usize;
        let h = match self.hashes.get(rank) {
            Some(&h) => h,
            None => format::suffixes(host, seed).nth(i)?.1,
        };
        Some((i, h))
    }
}

impl std::fmt::Debug for Probe<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe")
            .field("host", &String::from_utf8_lossy(self.host))
            .field("maybe", &self.passed.maybe)
            .field("urls", &self.urls)
            .finish()
    }
}

impl<'db> Probe<'db, '_> {
    /// The next listed suffix of the host, most specific first: where it starts in the
    /// host as given, and its categories. `None` once every listed suffix has been found.
    pub fn next_listed(&mut self) -> Option<(usize, CategorySet<'db>)> {
        self.db.resolve(self.host, &self.starts, &mut self.passed)
    }

    /// Whether any suffix of the host has URL entries (probed with `urls`).
    pub fn has_url_entries(&self) -> bool {
        self.urls != 0
    }

    /// The most specific URL entry for the host + `path` (see [`Database::url_match`]);
    /// only the suffixes marked at the probe (with `urls`) are searched.
    pub fn url_match(&self, path: &str) -> Option<UrlMatch<'db>> {
        if self.urls == 0 {
            return None;
        }
        let host = self.host;
        let mut lower = [0u8; BUF];
        let lower = lower.get_mut(..host.len())?;
        lower.copy_from_slice(host);
        lower.make_ascii_lowercase();
        let path = if path.is_empty() { "/" } else { path };
        let mut urls = self.urls;
        while urls != 0 {
            // Most specific (longest) listed host first.
            let i = 127 - urls.leading_zeros() as usize;
            urls &= !(1u128 << i);
            let cand = lower.get(usize::from(*self.starts.get(i)?)..)?;
            let records = self
                .url_ranges
                .iter()
                .find(|r| usize::from(r.0) == i)
                .map_or(0..self.db.header.urls as usize, |r| {
                    r.1 as usize..r.2 as usize
                });
            if let Some(m) = self.db.url_match_under(cand, path.as_bytes(), records) {
                return Some(m);
            }
        }
        None
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("metadata", &self.metadata)
            .field("categories", &self.categories.len())
            .finish()
    }
}

/// Map `file` read-only, asking for 2 MiB pages, then fill its page table at once: the
/// checksum at open reads every page anyway, and one call maps them more cheaply than a
/// page fault for each run of pages.
///
/// The order matters. A file not yet in the page cache (after a reboot) is read in, under
/// `MADV_HUGEPAGE`, as 2 MiB folios that the kernel maps with one page-table entry each,
/// so that mapping and unmapping cost a fraction of a millisecond instead of several
/// (docs/benchmarks.md). Without the advice, a file first read by page faults stays in
/// 4 KiB pages until it leaves the page cache. Both calls are Linux advice: a kernel
/// without transparent huge pages, or older than 5.14 (`MADV_POPULATE_READ`), or another
/// system, maps the file as it can and the checksum's reads fault its pages in.
fn map_file(file: &File) -> std::io::Result<memmap2::Mmap> {
    let map = map_read_only(file)?;
    #[cfg(target_os = "linux")]
    {
        let _ = map.advise(memmap2::Advice::HugePage);
        let _ = map.advise(memmap2::Advice::PopulateRead);
    }
    Ok(map)
}

/// Map `file` read-only. This is the crate's only unsafe code.
#[allow(unsafe_code)]
fn map_read_only(file: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: `MmapOptions::map` is unsafe because the mapped bytes could change (or the
    // file shrink, raising SIGBUS) if another process modified the file while it is mapped.
    // Database files are only ever produced by `compile`, which writes a temporary file,
    // fsyncs it and atomically renames it into place; nothing in Gatehouse writes to a
    // database file after that rename. A new database is a new file (a new inode): the
    // rename replaces the directory entry, while an existing mapping keeps referring to the
    // old, unchanged inode. So the bytes behind this mapping never change while we hold
    // it. Operators must not edit or truncate database files in place (e.g. `cp` over
    // them or open them for writing); install a new file by rename, as `compile` does.
    // Every byte is additionally validated before use, and all reads are bounds-checked.
    unsafe { memmap2::MmapOptions::new().map(file) }
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
        if header.flags & !format::KNOWN_FLAGS != 0 {
            return Err(bad("unknown flags"));
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
        let layout = IndexLayout::of(&header, sections[SEC_INDEX].start)
            .ok_or_else(|| bad("index: size"))?;
        check_index(sec(SEC_INDEX), sec(SEC_TABLE), &header, &layout)?;
        check_urls(sec(SEC_URLS), &header)?;
        check_url_hosts(sec(SEC_URL_HOSTS))?;
        Ok(Database {
            backing,
            header,
            sections,
            categories,
            metadata,
            layout,
            set_bits: format::set_bits(header.sets),
        })
    }

    /// Deep validation of every entry: each slot of the name table (empty, or a
    /// fingerprint with a known set id; as many filled slots as listed domains) and each
    /// URL record (UTF-8, host name, set, strict order). [`Database::open`] does not run
    /// this (it reads every slot, several milliseconds at 5M domains, which a batch helper
    /// started per run would pay each time, against a 50 ms cold-load goal); the checksum
    /// verified at open already refuses accidental corruption, and lookups read with
    /// checked access only, so an unverified file can never cause a panic or an
    /// out-of-bounds read. Run it from the compiler, an installer, or a background thread
    /// after the first decision; on error, keep the previous database in service. It also
    /// checks that the URL-host table holds exactly the hosts of the URL records.
    pub fn verify(&self) -> Result<()> {
        validate_table(self.section(SEC_TABLE), &self.header)?;
        validate_urls(self.section(SEC_URLS), &self.header)?;
        validate_url_hosts(
            self.section(SEC_URL_HOSTS),
            self.section(SEC_URLS),
            &self.header,
        )
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

    /// [`Database::lookup`] of an ASCII name: a [`Probe`]'s work for its first answer only,
    /// without keeping a probe (the DNS hot path).
    fn lookup_ascii(&self, host: &[u8]) -> Option<Match<'_>> {
        let host = host.strip_suffix(b".").unwrap_or(host);
        let mut starts = [0u8; format::MAX_LABELS];
        let (_, mut passed) = self.bloom_pass(host, |i, start, _| {
            if let Some(s) = starts.get_mut(i) {
                *s = start as u8;
            }
        });
        if passed.maybe == 0 {
            return None;
        }
        let (start, categories) = self.resolve(host, &starts, &mut passed)?;
        let suffix = host.get(start..)?;
        let mut m = Match {
            name: [0u8; MAX_NAME_LEN],
            name_len: suffix.len() as u8,
            categories,
        };
        for (d, s) in m.name.get_mut(..suffix.len())?.iter_mut().zip(suffix) {
            *d = s.to_ascii_lowercase();
        }
        Some(m)
    }

    /// Hash and probe in the Bloom filter every suffix of `host` (ASCII, no trailing dot),
    /// calling `each(i, start, hash)` for suffix `i` (0 = the last label alone) starting
    /// at byte `start`: its label count and the suffixes that may be listed. Nothing may
    /// be listed for an empty or too long host.
    #[inline(always)]
    fn bloom_pass(&self, host: &[u8], mut each: impl FnMut(usize, usize, u64)) -> (usize, Passed) {
        let index = self.section(SEC_INDEX);
        let (Some(bloom), Some(heavy)) = (
            index.get(self.layout.bloom.clone()),
            index.get(self.layout.heavy.clone()),
        ) else {
            return (0, Passed::default());
        };
        if host.is_empty() || host.len() > MAX_NAME_LEN {
            return (0, Passed::default());
        }
        // Probe every suffix before looking at any result: no data-dependent branch
        // between the loads, so their cache misses overlap (and all suffixes from the
        // group up share one line).
        // The last label alone (`com`) is asked only when such names are listed.
        let first = usize::from(self.header.flags & format::FLAG_NO_SINGLE_LABEL != 0);
        let (mut labels, mut passed) = (0usize, Passed::default());
        format::for_each_bloom_key(host, self.header.seed, heavy, |i, start, key| {
            labels = i + 1;
            if i >= first && format::bloom_may_contain(bloom, key) {
                passed.push(i, key.1);
            }
            each(i, start, key.1);
        });
        if labels > format::MAX_LABELS {
            return (labels, Passed::default());
        }
        (labels, passed)
    }

    /// The most specific listed suffix of `host` among those in `passed` not yet searched
    /// (suffix `i` starts at byte `starts[i]`): where it starts, and its categories. The
    /// suffixes searched are taken out of `passed`, so a second call finds the next one.
    fn resolve(
        &self,
        host: &[u8],
        starts: &[u8; format::MAX_LABELS],
        passed: &mut Passed,
    ) -> Option<(usize, CategorySet<'_>)> {
        let table = self.section(SEC_TABLE);
        // Most specific (longest) suffix first.
        while let Some((i, h)) = passed.pop(host, self.header.seed) {
            if let Some(set) = format::table_find(table, h, self.set_bits) {
                return Some((usize::from(*starts.get(i)?), self.set(CategorySetId(set))?));
            }
        }
        None
    }

    /// Hash every suffix of `host` (ASCII; case and one trailing dot are ignored) and probe
    /// the Bloom filter for each, in one pass: the start of a lookup that then finds the
    /// listed suffixes one by one ([`Probe::next_listed`]), and with `urls`, also marks
    /// the suffixes that have URL entries ([`Probe::url_match`]). A non-ASCII or invalid
    /// host gives a probe that finds nothing (normalise it first, as [`Database::lookup`]
    /// does).
    #[inline]
    pub fn probe<'h>(&self, host: &'h str, urls: bool) -> Probe<'_, 'h> {
        let host = host.as_bytes();
        let host = host.strip_suffix(b".").unwrap_or(host);
        // (non-ASCII: nothing found; hashing folds ASCII case only)
        let host = if host.is_ascii() { host } else { &[] };
        let mut starts = [0u8; format::MAX_LABELS];
        let mut found_urls = 0u128;
        let mut url_ranges = [(0u8, 0u32, 0u32); URL_RANGES];
        let url_hosts = (urls && self.header.urls > 0).then(|| self.section(SEC_URL_HOSTS));
        let (labels, passed) = self.bloom_pass(host, |i, start, hash| {
            if let Some(s) = starts.get_mut(i) {
                *s = start as u8;
            }
            if let Some((start, end)) = url_hosts.and_then(|u| format::url_host_find(u, hash)) {
                let k = found_urls.count_ones() as usize;
                found_urls |= 1u128 << (i & 127);
                if let Some(r) = url_ranges.get_mut(k) {
                    *r = (i as u8, start, end);
                }
            }
        });
        if labels > format::MAX_LABELS {
            found_urls = 0;
        }
        Probe {
            db: self,
            host,
            starts,
            passed,
            urls: found_urls,
            url_ranges,
        }
    }

    /// Find the most specific URL entry for `host` + `path`: the listed host is `host` or
    /// one of its suffixes, the listed path a prefix of `path` (byte-wise, case-sensitive);
    /// the longest listed host, then the longest path, wins.
    pub fn url_match(&self, host: &str, path: &str) -> Option<UrlMatch<'_>> {
        if !host.is_ascii() {
            let d = name::normalise_domain(host).ok()?;
            return self.probe(d.as_str(), true).url_match(path);
        }
        self.probe(host, true).url_match(path)
    }

    /// The URL entry of exactly `host` (lower case) with the longest path prefix of `path`,
    /// among `records` (which hold every record of `host`).
    fn url_match_under(
        &self,
        host: &[u8],
        path: &[u8],
        records: Range<usize>,
    ) -> Option<UrlMatch<'_>> {
        let n = self.header.urls as usize;
        let sec = self.section(SEC_URLS);
        let first = records.start;
        // Records are sorted by (host, path), and every path that is a prefix of `path`
        // sorts at or before it, longer prefixes later: so the last record <= (host, path)
        // is found by binary search (as bytes: only the match is turned into text, and a
        // record that is not UTF-8, which `verify` refuses, ends the search unmatched),
        // and the walk back from it stops at the first prefix, which is the longest.
        let (mut lo, mut hi) = (records.start, records.end.min(n));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (h, p, _) = url_record_bytes(sec, n, mid)?;
            if (h, p) <= (host, path) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        while let Some(i) = lo.checked_sub(1).filter(|&i| i >= first) {
            let (h, p, _) = url_record_bytes(sec, n, i)?;
            if h != host {
                return None;
            }
            if path.starts_with(p) {
                let (host, path, set) = self.url_record(i)?;
                return Some(UrlMatch {
                    host,
                    path,
                    categories: self.set(set)?,
                });
            }
            lo = i;
        }
        None
    }

    fn url_record(&self, i: usize) -> Option<(&str, &str, CategorySetId)> {
        url_record(self.section(SEC_URLS), self.header.urls as usize, i)
    }
}

/// The index's length and padding, and the table's size, at open. The table's slots are
/// [`validate_table`] (deep validation).
fn check_index(index: &[u8], table: &[u8], h: &Header, layout: &IndexLayout) -> Result<()> {
    let bad = |what: &str| Error::corrupt(format!("index: {what}"));
    if index.len() != layout.heavy.end {
        return Err(bad("length"));
    }
    if index
        .get(..layout.bloom.start)
        .is_none_or(|pad| pad.iter().any(|&b| b != 0))
    {
        return Err(bad("padding"));
    }
    let buckets = table.len() / BUCKET_BYTES;
    if !table.len().is_multiple_of(BUCKET_BYTES)
        || u32::try_from(buckets).is_err()
        || buckets * format::BUCKET_SLOTS < h.domains as usize
        || buckets == 0
    {
        return Err(Error::corrupt("name table: size"));
    }
    Ok(())
}

/// Every slot of the name table: empty, or a non-zero tag with a known set id; as many
/// filled slots as listed domains.
fn validate_table(table: &[u8], h: &Header) -> Result<()> {
    let bits = format::set_bits(h.sets);
    let mut filled = 0u64;
    for (i, w) in table.chunks_exact(8).enumerate() {
        let v = read_u64(w, 0).unwrap_or(0);
        if v == 0 {
            continue;
        }
        if v >> bits == 0 || v & ((1u64 << bits) - 1) >= u64::from(h.sets) {
            return Err(Error::corrupt(format!(
                "name table: slot {i}: no fingerprint or an unknown set"
            )));
        }
        filled += 1;
    }
    if filled != u64::from(h.domains) {
        return Err(Error::corrupt(format!(
            "name table: {filled} filled slots for {} domains",
            h.domains
        )));
    }
    Ok(())
}

fn url_record(sec: &[u8], n: usize, i: usize) -> Option<(&str, &str, CategorySetId)> {
    let (host, path, set) = url_record_bytes(sec, n, i)?;
    Some((
        std::str::from_utf8(host).ok()?,
        std::str::from_utf8(path).ok()?,
        set,
    ))
}

/// URL record `i` as bytes: (host, path from its `/`, set).
#[inline]
fn url_record_bytes(sec: &[u8], n: usize, i: usize) -> Option<(&[u8], &[u8], CategorySetId)> {
    let strings_at = (n + 1) * 4 + n * 4;
    let start = read_u32(sec, i * 4)? as usize;
    let end = read_u32(sec, i * 4 + 4)? as usize;
    let set = read_u32(sec, (n + 1) * 4 + i * 4)?;
    let rec = sec.get(strings_at + start..strings_at + end)?;
    let slash = memchr::memchr(b'/', rec)?;
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

/// The URL section's size against its record count, and its first and last offsets, at
/// open; the records themselves are [`validate_urls`] (deep validation).
fn check_urls(sec: &[u8], h: &Header) -> Result<()> {
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
    Ok(())
}

/// Every URL record: rising offsets, UTF-8, a valid host name, a known set, and strictly
/// sorted by (host, path).
fn validate_urls(sec: &[u8], h: &Header) -> Result<()> {
    check_urls(sec, h)?;
    let bad = |what: &str| Error::corrupt(format!("url section: {what}"));
    let n = h.urls as usize;
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

/// Every distinct host with URL entries: its hash ([`format::suffixes`], whole name,
/// under `seed`) and the range of its records, which the compiler sorts by host (a record
/// that cannot be read is skipped). The compiler stores them as the URL-host table.
pub(crate) fn url_hosts(sec: &[u8], n: usize, seed: u32) -> Vec<(u64, u32, u32)> {
    let mut hosts: Vec<(u64, u32, u32)> = Vec::new();
    let mut prev: Option<&[u8]> = None;
    for i in 0..n {
        let Some((host, _, _)) = url_record_bytes(sec, n, i) else {
            continue;
        };
        if prev == Some(host) {
            if let Some(last) = hosts.last_mut() {
                last.2 = i as u32 + 1;
            }
            continue;
        }
        hosts.push((format::name_hash(host, seed), i as u32, i as u32 + 1));
        prev = Some(host);
    }
    hosts
}

/// The URL-host table's size at open: whole slots, a power of two of them, at least 16.
fn check_url_hosts(table: &[u8]) -> Result<()> {
    let slots = table.len() / format::URL_HOST_SLOT;
    if !table.len().is_multiple_of(format::URL_HOST_SLOT) || !slots.is_power_of_two() || slots < 16
    {
        return Err(Error::corrupt("url host table: size"));
    }
    Ok(())
}

/// The URL-host table is the one the compiler builds from the URL records.
fn validate_url_hosts(table: &[u8], urls: &[u8], h: &Header) -> Result<()> {
    let hosts = url_hosts(urls, h.urls as usize, h.seed);
    if table != format::url_host_table(&hosts).as_slice() {
        return Err(Error::corrupt(
            "url host table: a host's records, or its hosts, differ from the URL records",
        ));
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
        db.verify().unwrap();
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
    }

    #[test]
    fn many_names_and_verify() {
        // Thousands of names; every name (and a subdomain) must be found, near misses not.
        let names: Vec<String> = (0..5000)
            .map(|i| format!("h{}-{i}.d{}.t{}", i % 13, i % 97, i % 5))
            .collect();
        let text = names.join("\n");
        let (_d, db) = build(&[("a", &text)], None);
        db.verify().unwrap();
        for n in &names {
            assert_eq!(db.lookup(n).map(|m| m.name().to_owned()), Some(n.clone()));
            assert_eq!(
                db.lookup(&format!("www.{n}")).map(|m| m.name().to_owned()),
                Some(n.clone())
            );
            assert!(db.lookup(&format!("x{n}")).is_none());
        }
        assert!(db.lookup("d1.t1").is_none());
    }

    /// Byte offsets (in the file) of the filled slots of the name table.
    fn filled_slots(db: &Database) -> Vec<usize> {
        let table = db.sections[SEC_TABLE].clone();
        (table.clone())
            .step_by(8)
            .filter(|&at| read_u64(db.bytes(), at) != Some(0))
            .collect()
    }

    #[test]
    fn deep_verify_catches_what_open_defers() {
        // Slots that no compiler writes, with a valid checksum: the file opens (structure
        // and checksum are checked at open) but fails `verify`, and lookups do not panic.
        let (_d, db) = build(&[("a", "aa.com\nbb.com\n")], None);
        let slots = filled_slots(&db);
        assert_eq!(slots.len(), 2);
        let set_bits = format::set_bits(db.header.sets);
        // A set id past the set table.
        let mut bytes = db.bytes().to_vec();
        let v = read_u64(&bytes, slots[0]).unwrap() | ((1u64 << set_bits) - 1);
        bytes[slots[0]..slots[0] + 8].copy_from_slice(&v.to_le_bytes());
        let bad = resealed(bytes);
        let err = bad.verify().unwrap_err().to_string();
        assert!(err.contains("unknown set"), "{err}");
        let _ = bad.lookup("aa.com");
        let _ = bad.lookup("bb.com");
        // A slot emptied: one filled slot fewer than the domains the header counts.
        let mut bytes = db.bytes().to_vec();
        bytes[slots[1]..slots[1] + 8].fill(0);
        let err = resealed(bytes).verify().unwrap_err().to_string();
        assert!(err.contains("1 filled slots for 2 domains"), "{err}");
        // A table that is not whole buckets is refused at open.
        let mut bytes = db.bytes().to_vec();
        let len_at = 40 + 8 * SEC_TABLE;
        let len = read_u64(&bytes, len_at).unwrap() - 8;
        bytes[len_at..len_at + 8].copy_from_slice(&len.to_le_bytes());
        bytes.drain(slots[1]..slots[1] + 8);
        reseal(&mut bytes);
        let err = Database::from_bytes(bytes).unwrap_err().to_string();
        assert!(err.contains("name table: size"), "{err}");
    }

    /// Write the checksum of `bytes` into its header, as the compiler does.
    fn reseal(bytes: &mut [u8]) {
        let sum = format::checksum(bytes);
        bytes[CHECKSUM_AT..HEADER_LEN].copy_from_slice(&sum.to_le_bytes());
    }

    /// `bytes` with a new checksum, opened (the checks at open must pass).
    fn resealed(mut bytes: Vec<u8>) -> Database {
        reseal(&mut bytes);
        Database::from_bytes(bytes).unwrap()
    }

    #[test]
    fn url_records_are_verified_deeply_and_open_defers_them() {
        let (_d, db) = build(&[("a", "aa.com\n")], Some("bb.com/x\ncc.com/y\n"));
        db.verify().unwrap();
        let urls = db.sections[SEC_URLS].clone();
        let strings = urls.start + 2 * 4 + 4 + 2 * 4;
        // A record out of order (`zb.com/x` after `cc.com/y`).
        let mut bytes = db.bytes().to_vec();
        bytes[strings] = b'z';
        let unsorted = resealed(bytes);
        let err = unsorted.verify().unwrap_err().to_string();
        assert!(err.contains("url section: not sorted"), "{err}");
        assert!(unsorted.url_match("cc.com", "/y/1").is_some());
        assert!(unsorted.url_match("bb.com", "/x").is_none());
        // A host that is not a name (`.b.com`, an empty label).
        let mut bytes = db.bytes().to_vec();
        bytes[strings] = b'.';
        let err = resealed(bytes).verify().unwrap_err().to_string();
        assert!(err.contains("url section: empty label"), "{err}");
        // Invalid UTF-8: the record is skipped, never returned.
        let mut bytes = db.bytes().to_vec();
        bytes[strings + 7] = 0xff;
        let broken = resealed(bytes);
        assert!(broken.verify().is_err());
        assert!(broken.url_match("bb.com", "/x").is_none());
        assert!(broken.url_match("cc.com", "/y").is_some());
        // The URL-host table: a host's range changed, then a host's hash.
        let hosts = db.sections[SEC_URL_HOSTS].clone();
        let filled: Vec<usize> = hosts
            .clone()
            .step_by(format::URL_HOST_SLOT)
            .filter(|&at| read_u64(db.bytes(), at) != Some(0))
            .collect();
        assert_eq!(filled.len(), 2);
        let mut bytes = db.bytes().to_vec();
        bytes[filled[0] + 12] ^= 1;
        let err = resealed(bytes).verify().unwrap_err().to_string();
        assert!(err.contains("url host table: a host's records"), "{err}");
        let mut bytes = db.bytes().to_vec();
        bytes[filled[1]] ^= 1;
        let err = resealed(bytes).verify().unwrap_err().to_string();
        assert!(err.contains("url host table"), "{err}");
        // A table of 15 slots is refused at open.
        let mut bytes = db.bytes().to_vec();
        let len_at = 40 + 8 * SEC_URL_HOSTS;
        let len = read_u64(&bytes, len_at).unwrap() - format::URL_HOST_SLOT as u64;
        bytes[len_at..len_at + 8].copy_from_slice(&len.to_le_bytes());
        bytes.truncate(bytes.len() - format::URL_HOST_SLOT);
        reseal(&mut bytes);
        let err = Database::from_bytes(bytes).unwrap_err().to_string();
        assert!(err.contains("url host table: size"), "{err}");
    }

    #[test]
    fn a_listed_top_level_name_covers_every_name_under_it() {
        // Without single-label names the file says so and lookups skip the last label.
        let (_d, plain) = build(&[("a", "example.com\nbad.zip\n")], None);
        assert_ne!(plain.header.flags & format::FLAG_NO_SINGLE_LABEL, 0);
        assert_eq!(cats(&plain, "evil.zip"), None);
        assert_eq!(cats(&plain, "www.bad.zip").unwrap().0, "bad.zip");
        // With one, every name under it matches it, and the more specific listing wins.
        let (_d, tld) = build(&[("a", "example.com\nbad.zip\n"), ("b", "zip\n")], None);
        assert_eq!(tld.header.flags & format::FLAG_NO_SINGLE_LABEL, 0);
        assert_eq!(
            cats(&tld, "evil.ZIP."),
            Some(("zip".into(), vec!["b".into()]))
        );
        assert_eq!(cats(&tld, "zip").unwrap().0, "zip");
        assert_eq!(cats(&tld, "www.bad.zip").unwrap().0, "bad.zip");
        assert_eq!(cats(&tld, "example.com").unwrap().0, "example.com");
        assert_eq!(cats(&tld, "example.org"), None);
    }

    #[test]
    fn an_unknown_flag_is_refused_at_open() {
        let (_d, db) = build(&[("a", "example.com\n")], None);
        let mut bytes = db.bytes().to_vec();
        bytes[12..16].copy_from_slice(&(db.header.flags | 4).to_le_bytes());
        reseal(&mut bytes);
        let err = Database::from_bytes(bytes).unwrap_err().to_string();
        assert!(err.contains("unknown flags"), "{err}");
    }

    #[test]
    fn files_with_the_single_chain_checksum_still_open_and_a_flipped_byte_is_refused() {
        let (_d, db) = build(&[("a", "aa.com\nbb.org\n")], None);
        assert_ne!(db.header.flags & format::FLAG_CHECKSUM_LANES, 0);
        let mut bytes = db.bytes().to_vec();
        let flags = db.header.flags & !format::FLAG_CHECKSUM_LANES;
        bytes[12..16].copy_from_slice(&flags.to_le_bytes());
        // the lanes' checksum no longer matches once the flag is cleared
        assert!(Database::from_bytes(bytes.clone()).is_err());
        reseal(&mut bytes);
        let old = Database::from_bytes(bytes.clone()).unwrap();
        assert_eq!(old.lookup("x.aa.com").unwrap().name(), "aa.com");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(Database::from_bytes(bytes).is_err());
    }

    #[test]
    fn a_probe_finds_every_listed_suffix_most_specific_first_and_urls_only_when_asked() {
        let (_d, db) = build(
            &[
                ("a", "example.com\nb.example.com\n"),
                ("b", "a.b.example.com\n"),
            ],
            Some("b.example.com/x\n"),
        );
        let host = "WWW.a.b.Example.com.";
        let mut p = db.probe(host, true);
        let found: Vec<&str> = std::iter::from_fn(|| p.next_listed())
            .map(|(start, _)| &host[start..host.len() - 1])
            .collect();
        assert_eq!(found, ["a.b.Example.com", "b.Example.com", "Example.com"]);
        assert!(p.next_listed().is_none());
        assert!(p.has_url_entries());
        let u = p.url_match("/x/y").unwrap();
        assert_eq!((u.host, u.path), ("b.example.com", "/x"));
        assert!(p.url_match("/y").is_none());
        let p = db.probe(host, false);
        assert!(!p.has_url_entries());
        assert!(p.url_match("/x/y").is_none());
        let mut p = db.probe("notexample.com", true);
        assert!(p.next_listed().is_none());
        assert!(!p.has_url_entries());
    }

    #[test]
    fn a_probe_finds_listed_suffixes_beyond_the_hashes_it_keeps() {
        // Seven listed suffixes of one host: more than `KEPT_HASHES`, so the less specific
        // ones are hashed again when searched.
        let names = [
            "example.com",
            "f.example.com",
            "e.f.example.com",
            "d.e.f.example.com",
            "c.d.e.f.example.com",
            "b.c.d.e.f.example.com",
            "a.b.c.d.e.f.example.com",
        ];
        assert!(names.len() > KEPT_HASHES);
        let (_d, db) = build(&[("a", &names.join("\n"))], None);
        let host = "x.a.b.c.d.e.f.example.com";
        let mut p = db.probe(host, false);
        let found: Vec<&str> = std::iter::from_fn(|| p.next_listed())
            .map(|(start, _)| &host[start..])
            .collect();
        let mut want = names.to_vec();
        want.reverse();
        assert_eq!(found, want);
        assert_eq!(db.lookup(host).unwrap().name(), names[6]);
    }

    #[test]
    fn older_versions_are_refused() {
        let (_d, db) = build(&[("a", "aa.com\n")], None);
        let mut bytes = db.bytes().to_vec();
        bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
        let err = Database::from_bytes(bytes).unwrap_err();
        assert!(matches!(
            err,
            Error::Version {
                found: 3,
                expected: 4
            }
        ));
        assert!(err.to_string().contains("recompile"));
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
    fn url_match_finds_the_longest_listed_prefix_as_a_scan_of_every_entry_would() {
        // Paths over a small alphabet, so that prefixes, near misses and entries sorting
        // between them are common.
        let path = |mut x: u64, len: usize| -> String {
            let mut p = String::from("/");
            for _ in 0..len {
                p.push(['a', 'b', '/'][(x % 3) as usize]);
                x /= 3;
            }
            p
        };
        // (list paths as the list reader keeps them: no empty segment, no trailing slash)
        let listed: Vec<String> = (0..200u64)
            .map(|i| path(i * 7 + 1, 1 + (i % 5) as usize))
            .filter(|p| !p.contains("//") && !p.ends_with('/'))
            .collect();
        assert!(listed.len() > 50, "{}", listed.len());
        let urls: String = listed
            .iter()
            .map(|p| format!("example.com{p}\nother.com{p}\n"))
            .collect();
        let (_d, db) = build(&[("a", "x.org\n")], Some(&urls));
        for q in 0..2000u64 {
            let query = path(q * 13 + 5, 1 + (q % 7) as usize);
            let want = listed
                .iter()
                .filter(|p| query.starts_with(p.as_str()))
                .max_by_key(|p| p.len())
                .cloned();
            let got = db
                .url_match("www.example.com", &query)
                .map(|m| m.path.to_owned());
            assert_eq!(got, want, "{query}");
        }
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
