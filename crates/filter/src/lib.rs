//! # gatehouse-filter: the category database of the DNS filter
//!
//! Block lists (UT1 category folders, hosts files, plain domain lists, adblock `||domain^`
//! rules) are read by [`list`], normalised by [`normalise_domain`], compiled by
//! [`compile()`] into ONE immutable file, and served by [`Database`]: memory-mapped at
//! start, checked (header, section bounds, checksum, block offsets, metadata, sets, URL
//! records; the per-entry checks are [`Database::verify`]), queried with [`Database::lookup`] (suffix walk: the most
//! specific listed suffix of the query wins) and [`Database::url_match`]. [`Shared`] swaps
//! a freshly compiled file in atomically while queries continue without a lock.
//!
//! The policy engine sits on top: [`taxonomy`] (Gatehouse categories and the UT1
//! mapping), [`policy`] (per-group policies, schedules, term dates, school lists,
//! overrides), [`safesearch`] (safe-search rewrites, engines without safe search) and
//! [`decide`](mod@decide) ([`Engine`], [`decide()`], [`EngineHandle`]; the precedence is documented
//! there).
//!
//! Later layers (CLI, benchmarks) build on:
//! [`CategorySetId`] (dense ids `0..Database::set_count()`, so a policy can precompute
//! one verdict per set and decide a query with one array index), [`CategoryInfo`]
//! (names, UT1 aliases and `usage` tags), [`Metadata`], [`compile::Progress`] and
//! [`CompileReport`] (progress bars and import summaries).
//!
//! ## File format (version 2)
//!
//! Little-endian throughout; no alignment is assumed (every field is read from a
//! bounds-checked slice).
//!
//! ```text
//! header (88 bytes)
//!   0  magic      "GHFILTDB"
//!   8  version    u32 = 2 (version 1 files are refused with `Error::Version`)
//!  12  flags      u32 = 0
//!  16  domains    u32   distinct listed domains
//!  20  urls       u32   distinct URL entries
//!  24  sets       u32   distinct category sets
//!  28  categories u32
//!  32  block      u32 = 16 (entries per front-coded block)
//!  36  reserved   u32 = 0
//!  40  section lengths, 5 x u64: meta, sets, index, blob, urls
//!  80  checksum   u64 over the whole file except these 8 bytes (see format.rs)
//! sections, contiguous from byte 88, in this order, ending exactly at end of file:
//!   meta   created_unix i64; u32 n_categories; per category: str name, strs aliases,
//!          strs usage, u64 domains, u64 urls; u32 n_sources; per source: str name,
//!          str kind, str path   (str = u32 len + UTF-8; strs = u32 count + str...)
//!   sets   u32 offsets[sets+1] (in category ids, first 0), then u16 category ids;
//!          each set non-empty, strictly ascending, ids < categories
//!   index  B = ceil(domains/16) blocks:
//!          u32 offset into blob of each block head [B] (first 0, strictly increasing),
//!          u64 first 8 bytes of each block head, big-endian zero-padded, stored LE [B],
//!          Bloom filter: bloom_blocks(domains) = max(1, ceil(domains*10/512)) blocks of
//!          512 bits (8 u64 LE words); every reversed name is inserted with
//!          `format::bloom_hashes` (6 bits from a remix of `key_hash(name)`; the block
//!          from the high bits of `key_hash(parent)` for names of 3+ labels, where
//!          parent = the name without its last reversed label, else of `key_hash(name)`)
//!   blob   domains sorted by their label-reversed name (`a.b.example.com` is stored as
//!          `com.example.b.a`), strictly ascending, each entry:
//!            u8 shared-prefix length with the previous name (0 at a block head),
//!            u8 suffix length, suffix bytes, LEB128 category-set id
//!   urls   u32 offsets[urls+1] into the string area, u32 set id[urls], string area of
//!          records `host/path` (host normalised, path starting with `/`), sorted by
//!          (host, path)
//! ```
//!
//! [`Database::open`] refuses (with [`Error`], never a panic) a file whose magic,
//! version, flags, section lengths, checksum, index length, block offsets, set table,
//! category ids, metadata or URL records are wrong. The per-entry checks (prefix lengths,
//! name syntax, sort order, set ids of entries, stored head prefixes, Bloom membership)
//! are [`Database::verify`], which `open` does NOT run: they cost ~75 ns per domain
//! (~0.4 s at 5M domains) against a 50 ms cold-load goal. This is safe because (1) the
//! checksum, verified at open over every byte, refuses any accidental corruption, and (2)
//! every read on the lookup path is bounds-checked (`get`, never indexing), so even a
//! crafted file with a valid checksum can only give wrong answers, never a panic or an
//! out-of-bounds read. Callers that load files from an untrusted place should run
//! `verify` (e.g. on a background thread after the first decision, or before installing
//! the file) and keep the previous database in service if it fails.
//!
//! **Database files are immutable.** They are written to a temporary name and renamed
//! into place; they must never be edited or truncated in place (that would change the
//! bytes under a live memory map). Install a new file by rename and call
//! [`Shared::reload`].
//!
//! ## Memory budget
//!
//! Measured on the UT1 snapshot in `../shared/data/ut1` beside the repository (all 69 category folders;
//! `adult/domains` is absent there): 532,113 distinct domains, 23,266 URL entries,
//! 374 distinct category sets; file 7,090,173 bytes = **13.3 bytes per domain** for the
//! whole file, of which **11.1 bytes per domain** is what lookups touch (index + blob +
//! sets; the rest is URL entries and metadata). The target was <= 16. Run
//! `cargo run --release -p gatehouse-filter --example measure` to re-measure (it also
//! prints compile time and lookup latency). The mapping is shared, read-only and
//! page-cache backed, so several processes serving the same file share it.
//!
//! (Those figures are for format version 1. Version 2 adds 0.5 bytes per domain of stored
//! block-head prefixes and 1.25 bytes per domain of Bloom filter: at adult scale, 4.99M
//! domains, the file is 14.96 bytes per domain; see docs/benchmarks.md "Filter lookups".)
//!
//! Lookups: each suffix of the query (most specific first) is hashed and probed in the
//! Bloom filter (one cache line, ~1% false positives); all suffixes are probed before
//! any branch on the result so that their cache misses overlap. Only a positive probe
//! runs the binary search over the stored 8-byte head prefixes and the front-coded block
//! scan. Adult-scale figures (benchmark `benches/lookup.rs`) are in docs/benchmarks.md.
//!
//! ## Unsafe code
//!
//! The single `unsafe` call is `memmap2::Mmap::map` in `db.rs` (`map_file`), allowed
//! locally against the workspace-wide `unsafe_code = "deny"`; its `SAFETY` comment relies
//! on the immutability rule above.

pub mod compile;
pub mod db;
pub mod decide;
mod error;
mod format;
pub mod list;
mod name;
pub mod policy;
pub mod safesearch;
pub mod taxonomy;

pub use compile::{CompileOptions, CompileReport, Progress, Source, compile};
pub use db::{
    CategoryId, CategoryInfo, CategorySet, CategorySetId, Database, Match, Metadata, Shared,
    SourceInfo, UrlMatch,
};
pub use decide::{Decision, Engine, EngineConfig, EngineHandle, Identity, Rule, decide, split_url};
pub use error::{DbError, Error, Result};
pub use list::{Entry, ListFormat, ListStats, UrlEntry, ip_entry_name, normalise_url_path};
pub use name::{Domain, MAX_LABEL_LEN, MAX_NAME_LEN, NameError, is_ip_literal, normalise_domain};
pub use policy::{
    Action, Days, Override, OverrideTarget, Policy, PolicySet, SafeSearchLevel, ScheduleRule,
    SchoolLists, Term,
};
pub use safesearch::{RecordType, SafeSearchMap, SafeSearchTarget, UnsafeSearchList};
pub use taxonomy::{CategoryBits, CategoryDef, GhCategoryId, SetTable, Taxonomy};
