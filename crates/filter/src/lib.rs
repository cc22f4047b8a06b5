//! # gatehouse-filter: the category database of the DNS filter
//!
//! Block lists (UT1 category folders, hosts files, plain domain lists, adblock `||domain^`
//! rules) are read by [`list`], normalised by [`normalise_domain`], compiled by
//! [`compile()`] into ONE immutable file, and served by [`Database`]: memory-mapped at
//! start, checked (header, section bounds, checksum, index and URL section sizes,
//! metadata, sets; the per-entry checks are [`Database::verify`]), queried with
//! [`Database::lookup`] (suffix walk: the most specific listed suffix of the query wins),
//! [`Database::probe`] (every listed suffix, and URL entries, from one pass) and
//! [`Database::url_match`]. [`Shared`] swaps a freshly compiled file in atomically while
//! queries continue without a lock.
//!
//! The policy engine sits on top: [`taxonomy`] (Gatehouse categories and the UT1
//! mapping), [`policy`] (per-group policies, schedules, term dates, school lists,
//! overrides), [`safesearch`] (safe-search rewrites, engines without safe search) and
//! [`decide`](mod@decide) ([`Engine`], [`Engine::decide`], [`Request`] (a host or URL split
//! once), [`EngineHandle`]; the precedence is documented there).
//!
//! [`update()`](mod@update) rebuilds the database from configured sources (folders,
//! `.tar.gz` archives, list files), verifies it, refuses a result where a category shrank
//! too much, and installs it atomically, keeping the previous file.
//!
//! Later layers (CLI, benchmarks) build on:
//! [`CategorySetId`] (dense ids `0..Database::set_count()`, so a policy can precompute
//! one verdict per set and decide a query with one array index), [`CategoryInfo`]
//! (names, UT1 aliases and `usage` tags), [`Metadata`], [`compile::Progress`] and
//! [`CompileReport`] (progress bars and import summaries).
//!
//! ## File format (version 4)
//!
//! Little-endian throughout. Every field is read from a bounds-checked slice; the index
//! section is padded so that the Bloom filter, and the name table after it, start at
//! 64-byte file offsets (one probe, one cache line), which only matters for speed.
//!
//! ```text
//! header (96 bytes)
//!   0  magic      "GHFILTDB"
//!   8  version    u32 = 4 (older files are refused with `Error::Version`)
//!  12  flags      u32   bit 0: no listed domain is a single label (lookups then skip
//!                        the Bloom probe of a query's last label); bit 1: the checksum
//!                        runs four lanes (format::checksum); other bits 0
//!  16  domains    u32   distinct listed domains
//!  20  urls       u32   distinct URL entries
//!  24  sets       u32   distinct category sets
//!  28  categories u32
//!  32  seed       u32   seed of the name hashes (format::suffixes), chosen by the compiler
//!  36  heavy_log2 u32   log2 of the heavy-suffix bitmap's size in u64 words (3..=17)
//!  40  section lengths, 6 x u64: meta, sets, index, table, urls, url hosts
//!  88  checksum   u64 over the whole file except these 8 bytes (see format.rs)
//! sections, contiguous from byte 96, in this order, ending exactly at end of file:
//!   meta   created_unix i64; u32 n_categories; per category: str name, strs aliases,
//!          strs usage, u64 domains, u64 urls; u32 n_sources; per source: str name,
//!          str kind, str path   (str = u32 len + UTF-8; strs = u32 count + str...)
//!   sets   u32 offsets[sets+1] (in category ids, first 0), then u16 category ids;
//!          each set non-empty, strictly ascending, ids < categories
//!   index  zero padding up to a 64-byte file offset, then
//!          Bloom filter: bloom_blocks(domains) (even, >= 2) split blocks of 8 u32 words;
//!            a key sets bit (h * SALT[i]) >> 27 of word i of the block chosen by its
//!            block hash (format::bloom_insert); keys from format::for_each_bloom_key:
//!            label-chained suffix hashes, every suffix at or above a name's group
//!            (its shortest non-heavy suffix of 2+ labels) in the group's block;
//!          heavy-suffix bitmap: 2^heavy_log2 u64 words; a suffix of 2+ labels with more
//!            than HEAVY_ABOVE (8) listed names below it is marked (bit (h >> 7) mod size)
//!   table  the name table: buckets of 8 u64 slots (64 bytes), at least domains/8 of
//!          them; every listed domain fills one slot of one of its two buckets
//!          (format::table_place, from its whole-name hash h): tag | set id, where the
//!          set id takes the low set_bits(sets) bits and the tag, a non-zero fingerprint
//!          of h, the rest; an empty slot is 0; no domain sees a second slot with its tag
//!          in its two buckets
//!   urls   u32 offsets[urls+1] into the string area, u32 set id[urls], string area of
//!          records `host/path` (host normalised, path starting with `/`), sorted by
//!          (host, path)
//!   url hosts  the hosts of the URL records by hash, so that a lookup skips with one
//!          probe every suffix without URL entries: format::url_host_slots(hosts)
//!          slots (a power of two, >= 16, >= 2 x hosts) of u64 whole-name hash of the
//!          host (0 = empty; a hash of 0 is stored as 1), u32 first record, u32 one past
//!          its last; open addressing, linear probing from hash mod slots (two hosts
//!          of one hash share a slot whose range covers both; format::url_host_table)
//! ```
//!
//! The file holds no listed names, only their fingerprints: it answers which categories
//! a name is in, but cannot list its names (the sources can). Why that is exact enough,
//! with the odds, is in [`compile`](mod@compile) ("Layout choice").
//!
//! [`Database::open`] refuses (with [`Error`], never a panic) a file whose magic,
//! version, flags, section lengths, checksum, index, table or URL-host table size, set
//! table, category ids, metadata or URL section size are wrong. The per-entry checks (each
//! table slot's set id and the count of filled slots, each URL record's host, UTF-8, set
//! and order, and that the URL-host table holds exactly the records' hosts) are
//! [`Database::verify`], which `open` does NOT run: they read every slot and record,
//! several milliseconds at 5M domains, and a batch helper that starts for each run should
//! not pay for them each time. This is safe because (1) the
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
//! At adult scale (5,013,722 listed domains, 64 category sets) the file is 10.08 bytes
//! per domain: 1.25 of Bloom filter, 8.5 of name table (8-byte slots, 94% full), 0.1 of
//! URL-host table, the rest URL records, sets and metadata (docs/benchmarks.md, "Filter lookups"; the target is
//! <= 16). The mapping is shared, read-only and page-cache backed, so several processes
//! serving the same file share it; on Linux it asks for 2 MiB pages before it is
//! populated, so that a file read in cold is cached in huge folios (see `map_file` in
//! [`db`]).
//!
//! Lookups hash every suffix of the query in one pass and probe the Bloom filter for
//! each (but the last label alone, `com`, when the file says no single-label name is
//! listed); a name's suffixes from its registrable part up share one block (so a miss costs
//! one random cache line), all probes are made before any branch on the result so that
//! their cache misses overlap, and only a positive probe reads the suffix's two buckets
//! of the name table. Adult-scale figures (benchmark `benches/lookup.rs`) are in
//! docs/benchmarks.md.
//!
//! ## Unsafe code
//!
//! The single `unsafe` call is `memmap2::MmapOptions::map` in `db.rs` (`map_read_only`), allowed
//! locally against the workspace-wide `unsafe_code = "deny"`; its `SAFETY` comment relies
//! on the immutability rule above.

pub mod compile;
pub mod db;
pub mod decide;
pub mod demo;
mod error;
mod format;
pub mod list;
mod name;
pub mod policy;
pub mod safesearch;
pub mod taxonomy;
pub mod update;

pub use compile::{CompileOptions, CompileReport, Progress, Source, compile};
pub use db::{
    CategoryId, CategoryInfo, CategorySet, CategorySetId, Database, Match, Metadata, Probe, Shared,
    SourceInfo, UrlMatch,
};
pub use decide::{Decision, Engine, EngineConfig, EngineHandle, Identity, Request, Rule};
pub use error::{DbError, Error, Result};
pub use list::{Entry, ListFormat, ListStats, UrlEntry, ip_entry_name, normalise_url_path};
pub use name::{Domain, MAX_LABEL_LEN, MAX_NAME_LEN, NameError, is_ip_literal, normalise_domain};
pub use policy::{
    Action, Days, Gate, GateMode, Override, OverrideTarget, Policy, PolicySet, SafeSearchLevel,
    ScheduleRule, SchoolLists, Term,
};
pub use safesearch::{RecordType, SafeSearchMap, SafeSearchTarget, UnsafeSearchList};
pub use taxonomy::{CategoryBits, CategoryDef, GhCategoryId, SetTable, Taxonomy};
pub use update::{
    CategoryChange, Outcome, SourceSpec, UpdateOptions, UpdateProgress, UpdateReport, update,
};
