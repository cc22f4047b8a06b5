//! # gatehouse-filter: the category database of the DNS filter
//!
//! Block lists (UT1 category folders, hosts files, plain domain lists, adblock `||domain^`
//! rules) are read by [`list`], normalised by [`normalise_domain`], compiled by
//! [`compile()`] into ONE immutable file, and served by [`Database`]: memory-mapped at
//! start, validated in full, queried with [`Database::lookup`] (suffix walk: the most
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
//! ## File format (version 1)
//!
//! Little-endian throughout; no alignment is assumed (every field is read from a
//! bounds-checked slice).
//!
//! ```text
//! header (88 bytes)
//!   0  magic      "GHFILTDB"
//!   8  version    u32 = 1
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
//!   index  u32 offset into blob of each block head, ceil(domains/16) entries
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
//! version, flags, section lengths, checksum, block offsets, prefix lengths, name syntax,
//! sort order, set ids, category ids, metadata or URL records are wrong.
//!
//! **Database files are immutable.** They are written to a temporary name and renamed
//! into place; they must never be edited or truncated in place (that would change the
//! bytes under a live memory map). Install a new file by rename and call
//! [`Shared::reload`].
//!
//! ## Memory budget
//!
//! Measured on the UT1 snapshot in `/work/shared/data/ut1` (all 69 category folders;
//! `adult/domains` is absent there): 532,113 distinct domains, 23,266 URL entries,
//! 374 distinct category sets; file 7,090,173 bytes = **13.3 bytes per domain** for the
//! whole file, of which **11.1 bytes per domain** is what lookups touch (index + blob +
//! sets; the rest is URL entries and metadata). The target was <= 16. Run
//! `cargo run --release -p gatehouse-filter --example measure` to re-measure (it also
//! prints compile time and lookup latency). The mapping is shared, read-only and
//! page-cache backed, so several processes serving the same file share it.
//!
//! On top of the mapping, `open` builds one `u64` per block (the first 8 bytes of its head,
//! 0.5 bytes per domain) so the binary search runs over a dense, cache-resident array.
//!
//! Measured on the shared 2-core dev machine (release build, `examples/measure.rs`):
//! compile of the whole UT1 tree 0.64 s, open + full validation 40 ms, lookups of
//! 4-6-label names ~0.7-0.85 µs (about 150 ns per suffix probed). A planned refinement:
//! sort with the label separator below every name byte so the walk can start at the
//! shortest suffix and stop as soon as no listed name continues it (one or two probes for
//! most misses).
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
pub use decide::{Decision, Engine, EngineConfig, EngineHandle, Identity, Rule, decide};
pub use error::{DbError, Error, Result};
pub use list::{Entry, ListFormat, ListStats, UrlEntry};
pub use name::{Domain, MAX_LABEL_LEN, MAX_NAME_LEN, NameError, is_ip_literal, normalise_domain};
pub use policy::{
    Action, Days, Override, OverrideTarget, Policy, PolicySet, SafeSearchLevel, ScheduleRule,
    SchoolLists, Term,
};
pub use safesearch::{RecordType, SafeSearchMap, SafeSearchTarget, UnsafeSearchList};
pub use taxonomy::{CategoryBits, CategoryDef, GhCategoryId, SetTable, Taxonomy};
