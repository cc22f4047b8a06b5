//! Compiling lists into one immutable database file.
//!
//! [`compile`] reads every [`Source`], normalises entries, merges duplicates into category
//! sets, and writes the file described in the crate documentation to a temporary name in
//! the target directory, `fsync`s it, and renames it over `out` atomically. A running filter
//! that mapped the previous file keeps its mapping (the old inode stays alive until
//! unmapped); it picks up the new file with [`crate::Shared::store`].
//!
//! # Layout choice
//!
//! Each distinct name is stored as a fingerprint of its hash with the id of its category
//! set, one u64 slot, in a two-choice hash table of 64-byte buckets (cuckoo hashing, about
//! 94% full), after a split-block Bloom filter of every name (format version 4, see the
//! crate documentation). A lookup hashes each suffix of the query once, asks the Bloom
//! filter about each, and only for a positive one reads the suffix's two buckets: one
//! random cache line (two, fetched together) per listed suffix, and no name to decode.
//! That is about 10 bytes per domain where version 3's front-coded sorted names took 15.
//!
//! The price is that the file holds no names: it answers "which categories is this name
//! in", but cannot list its names (the sources can). Exactness rests on the fingerprint.
//! The compiler checks that no listed name can see a second slot with its own tag, so every
//! listed name finds exactly its own set. A name that is not listed is mistaken for a listed
//! one only if the Bloom filter passes it (about 1%) and one of the 16 slots it reads
//! carries its fingerprint of `64 - set_bits` bits (55 bits for up to 512 sets): fewer than
//! one in 10^17 per suffix, far below the error rate of any block list.
//!
//! Category sets are an index into a table of distinct sets (a few hundred for all of UT1),
//! not a bitmask, so the number of categories is not capped at 64; the policy engine can
//! precompute a verdict per set id.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::format::{self, HEADER_LEN, Header, VERSION};
use crate::list::{self, Entry, ListFormat, ListStats};

/// Where entries come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A whole UT1 tree: every category folder becomes the category `prefix + folder`;
    /// symlinked folders become aliases.
    Ut1Tree {
        /// Root of the tree.
        path: PathBuf,
        /// Prepended to every folder name (e.g. `""` or `"ut1/"`).
        prefix: String,
    },
    /// One list file (or one UT1 category folder) for one category.
    List {
        /// Category name.
        category: String,
        /// File format.
        format: ListFormat,
        /// File (or folder for [`ListFormat::Ut1Category`]).
        path: PathBuf,
    },
}

impl Source {
    fn describe(&self) -> (String, String, String) {
        match self {
            Source::Ut1Tree { path, prefix } => (
                format!("{prefix}*"),
                "ut1-tree".to_owned(),
                path.display().to_string(),
            ),
            Source::List {
                category,
                format,
                path,
            } => (
                category.clone(),
                format!("{format:?}").to_lowercase(),
                path.display().to_string(),
            ),
        }
    }
}

/// Options of a compile run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompileOptions {
    /// Creation time recorded in the metadata (Unix seconds), given by the caller so
    /// that output is reproducible.
    pub created_unix: i64,
}

/// Progress callbacks, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress<'a> {
    /// Starting to read a category (`index` of `total` across all sources).
    Reading {
        /// Category being read.
        category: &'a str,
        /// 0-based position.
        index: usize,
        /// Number of categories.
        total: usize,
    },
    /// Sorting and merging all entries read.
    Sorting {
        /// Raw (pre-dedup) domain entries.
        entries: usize,
    },
    /// Writing the file.
    Writing {
        /// File size.
        bytes: usize,
    },
    /// Finished.
    Done,
}

/// Per-category result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryReport {
    /// Category name.
    pub name: String,
    /// Distinct domains in the category.
    pub domains: u64,
    /// Distinct URL entries in the category.
    pub urls: u64,
    /// Counts from the readers.
    pub stats: ListStats,
}

/// What a compile did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileReport {
    /// Output file.
    pub path: PathBuf,
    /// Distinct domains stored.
    pub domains: usize,
    /// Distinct URL entries stored.
    pub urls: usize,
    /// Distinct category sets.
    pub sets: usize,
    /// Bytes written.
    pub bytes: usize,
    /// Bytes of the domain index + blob + sets (what a lookup touches).
    pub domain_bytes: usize,
    /// Per category.
    pub categories: Vec<CategoryReport>,
    /// All reader counts merged.
    pub totals: ListStats,
}

struct Cat {
    name: String,
    aliases: Vec<String>,
    usage: Vec<String>,
    domains: u64,
    urls: u64,
    stats: ListStats,
}

struct Job {
    cat: u16,
    format: ListFormat,
    path: PathBuf,
}

/// Compile `sources` into the database file `out` (see the module documentation).
pub fn compile(
    sources: &[Source],
    options: &CompileOptions,
    out: &Path,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<CompileReport> {
    let mut cats: Vec<Cat> = Vec::new();
    let mut jobs: Vec<Job> = Vec::new();
    let cat_id = |cats: &mut Vec<Cat>, name: &str| -> Result<u16> {
        if name.is_empty() || name.len() > 255 {
            return Err(Error::Compile(format!("bad category name {name:?}")));
        }
        if let Some(i) = cats.iter().position(|c| c.name == name) {
            return u16::try_from(i).map_err(|_| Error::Compile("too many categories".into()));
        }
        let id = u16::try_from(cats.len())
            .map_err(|_| Error::Compile("more than 65535 categories".into()))?;
        cats.push(Cat {
            name: name.to_owned(),
            aliases: Vec::new(),
            usage: Vec::new(),
            domains: 0,
            urls: 0,
            stats: ListStats::default(),
        });
        Ok(id)
    };
    for source in sources {
        match source {
            Source::Ut1Tree { path, prefix } => {
                for c in list::read_ut1_tree(path)? {
                    let id = cat_id(&mut cats, &format!("{prefix}{}", c.name))?;
                    if let Some(cat) = cats.get_mut(usize::from(id)) {
                        cat.aliases
                            .extend(c.aliases.iter().map(|a| format!("{prefix}{a}")));
                        cat.usage.extend(c.usage.iter().cloned());
                    }
                    jobs.push(Job {
                        cat: id,
                        format: ListFormat::Ut1Category,
                        path: c.dir,
                    });
                }
            }
            Source::List {
                category,
                format,
                path,
            } => {
                let id = cat_id(&mut cats, category)?;
                jobs.push(Job {
                    cat: id,
                    format: *format,
                    path: path.clone(),
                });
            }
        }
    }

    // Read everything: names in one arena, (offset, len, category) per entry.
    let mut arena: Vec<u8> = Vec::new();
    let mut items: Vec<(u32, u8, u16)> = Vec::new();
    let mut urls: Vec<(String, String, u16)> = Vec::new();
    let mut totals = ListStats::default();
    let total = jobs.len();
    for (index, job) in jobs.iter().enumerate() {
        let name = cats
            .get(usize::from(job.cat))
            .map(|c| c.name.clone())
            .unwrap_or_default();
        progress(Progress::Reading {
            category: &name,
            index,
            total,
        });
        let mut overflow = false;
        let stats = list::read_list(&job.path, job.format, &mut |e| match e {
            Entry::Domain(d) => {
                let n = d.as_str().as_bytes();
                let (Ok(off), Ok(len)) = (u32::try_from(arena.len()), u8::try_from(n.len())) else {
                    overflow = true;
                    return;
                };
                arena.extend_from_slice(n);
                items.push((off, len, job.cat));
            }
            Entry::Url(u) => urls.push((u.host.into_string(), u.path, job.cat)),
        })?;
        if overflow {
            return Err(Error::Compile("more than 4 GiB of names".into()));
        }
        if let Some(c) = cats.get_mut(usize::from(job.cat)) {
            c.stats.merge(stats.clone());
        }
        totals.merge(stats);
    }

    progress(Progress::Sorting {
        entries: items.len(),
    });
    let key = |&(off, len, _): &(u32, u8, u16)| -> &[u8] {
        let s = off as usize;
        arena.get(s..s + usize::from(len)).unwrap_or(&[])
    };
    items.sort_unstable_by(|a, b| key(a).cmp(key(b)).then(a.2.cmp(&b.2)));
    urls.sort_unstable();
    urls.dedup();

    // Intern category sets.
    let mut set_ids: HashMap<Vec<u16>, u32> = HashMap::new();
    let mut set_list: Vec<Vec<u16>> = Vec::new();
    let mut intern = |set: Vec<u16>| -> u32 {
        if let Some(&id) = set_ids.get(&set) {
            return id;
        }
        let id = set_list.len() as u32;
        set_list.push(set.clone());
        set_ids.insert(set, id);
        id
    };

    // Domains: group equal names into (name, set id).
    let mut names: Vec<(u32, u8, u32)> = Vec::new();
    // whether any listed domain is a single label (see `format::FLAG_NO_SINGLE_LABEL`)
    let mut single_label = false;
    let mut i = 0;
    while let Some(&first) = items.get(i) {
        let k = key(&first);
        let mut set: Vec<u16> = Vec::new();
        while let Some(it) = items.get(i) {
            if key(it) != k {
                break;
            }
            if set.last() != Some(&it.2) {
                set.push(it.2);
            }
            i += 1;
        }
        for &c in &set {
            if let Some(cat) = cats.get_mut(usize::from(c)) {
                cat.domains += 1;
            }
        }
        single_label |= !k.contains(&b'.');
        names.push((first.0, first.1, intern(set)));
    }
    drop(items);
    let n_domains = names.len();
    let name_of = |&(off, len, _): &(u32, u8, u32)| -> &[u8] {
        let s = off as usize;
        arena.get(s..s + usize::from(len)).unwrap_or(&[])
    };

    // URLs: group equal (host, path).
    let mut url_strings: Vec<u8> = Vec::new();
    let mut url_offsets: Vec<u32> = vec![0];
    let mut url_sets: Vec<u32> = Vec::new();
    let mut j = 0;
    while let Some((host, path, _)) = urls.get(j) {
        let mut set: Vec<u16> = Vec::new();
        while let Some((h, p, c)) = urls.get(j) {
            if h != host || p != path {
                break;
            }
            if set.last() != Some(c) {
                set.push(*c);
            }
            j += 1;
        }
        for &c in &set {
            if let Some(cat) = cats.get_mut(usize::from(c)) {
                cat.urls += 1;
            }
        }
        url_sets.push(intern(set));
        url_strings.extend_from_slice(host.as_bytes());
        url_strings.extend_from_slice(path.as_bytes());
        let end = u32::try_from(url_strings.len())
            .map_err(|_| Error::Compile("url section larger than 4 GiB".into()))?;
        url_offsets.push(end);
    }
    let n_urls = url_sets.len();

    // The Bloom filter, the heavy-suffix bitmap and the name table, under the first seed
    // that gives every listed name its own hash and a place in the table.
    let n_sets =
        u32::try_from(set_list.len()).map_err(|_| Error::Compile("too many sets".into()))?;
    let set_bits = format::set_bits(n_sets);
    let (seed, bloom, heavy, slots) = (0..SEEDS)
        .find_map(|seed| {
            let (bloom, heavy) = bloom_and_heavy(names.iter().map(name_of), n_domains, seed);
            let keys: Vec<(u64, u32)> = names
                .iter()
                .map(|e| (format::name_hash(name_of(e), seed), e.2))
                .collect();
            let buckets = format::table_buckets(n_domains);
            let slots = build_table(&keys, buckets + buckets * seed as usize / 32, set_bits)?;
            Some((seed, bloom, heavy, slots))
        })
        .ok_or_else(|| {
            Error::Compile(format!(
                "internal error: no seed of {SEEDS} gave the {n_domains} names a hash table"
            ))
        })?;
    let mut table = Vec::with_capacity(slots.len() * 8);
    for v in &slots {
        table.extend_from_slice(&v.to_le_bytes());
    }
    drop(slots);

    // Sections.
    let mut meta = Vec::new();
    meta.extend_from_slice(&options.created_unix.to_le_bytes());
    put_u32(&mut meta, cats.len());
    for c in &cats {
        put_str(&mut meta, &c.name);
        put_strs(&mut meta, &c.aliases);
        put_strs(&mut meta, &c.usage);
        meta.extend_from_slice(&c.domains.to_le_bytes());
        meta.extend_from_slice(&c.urls.to_le_bytes());
    }
    put_u32(&mut meta, sources.len());
    for s in sources {
        let (name, kind, path) = s.describe();
        put_str(&mut meta, &name);
        put_str(&mut meta, &kind);
        put_str(&mut meta, &path);
    }

    let mut sets = Vec::new();
    let mut acc = 0usize;
    put_u32(&mut sets, 0);
    for s in &set_list {
        acc += s.len();
        put_u32(&mut sets, acc);
    }
    for s in &set_list {
        for c in s {
            sets.extend_from_slice(&c.to_le_bytes());
        }
    }

    let mut url_sec = Vec::new();
    for o in &url_offsets {
        url_sec.extend_from_slice(&o.to_le_bytes());
    }
    for s in &url_sets {
        url_sec.extend_from_slice(&s.to_le_bytes());
    }
    url_sec.extend_from_slice(&url_strings);
    let url_hosts = format::url_host_table(&crate::db::url_hosts(&url_sec, n_urls, seed));

    // Index section: padding to a 64-byte file offset, Bloom filter, heavy-suffix bitmap
    // (both multiples of 64 bytes, so that the table after them is aligned too).
    let mut index = vec![0u8; format::index_padding(HEADER_LEN + meta.len() + sets.len())];
    for w in &bloom {
        index.extend_from_slice(&w.to_le_bytes());
    }
    for w in &heavy {
        index.extend_from_slice(&w.to_le_bytes());
    }

    let too_many = |what: &str| Error::Compile(format!("too many {what}"));
    let header = Header {
        version: VERSION,
        flags: format::FLAG_CHECKSUM_LANES
            | if single_label {
                0
            } else {
                format::FLAG_NO_SINGLE_LABEL
            },
        domains: u32::try_from(n_domains).map_err(|_| too_many("domains"))?,
        urls: u32::try_from(n_urls).map_err(|_| too_many("urls"))?,
        sets: n_sets,
        categories: u32::try_from(cats.len()).map_err(|_| too_many("categories"))?,
        seed,
        heavy_log2: heavy.len().trailing_zeros(),
        section_len: [
            meta.len() as u64,
            sets.len() as u64,
            index.len() as u64,
            table.len() as u64,
            url_sec.len() as u64,
            url_hosts.len() as u64,
        ],
    };
    let mut file = header.encode();
    debug_assert_eq!(file.len(), HEADER_LEN);
    for sec in [&meta, &sets, &index, &table, &url_sec, &url_hosts] {
        file.extend_from_slice(sec);
    }
    let sum = format::checksum(&file);
    if let Some(dst) = file.get_mut(format::CHECKSUM_AT..HEADER_LEN) {
        dst.copy_from_slice(&sum.to_le_bytes());
    }

    progress(Progress::Writing { bytes: file.len() });
    write_atomically(out, &file)?;
    progress(Progress::Done);

    Ok(CompileReport {
        path: out.to_path_buf(),
        domains: n_domains,
        urls: n_urls,
        sets: set_list.len(),
        bytes: file.len(),
        domain_bytes: index.len() + table.len() + sets.len(),
        categories: cats
            .into_iter()
            .map(|c| CategoryReport {
                name: c.name,
                domains: c.domains,
                urls: c.urls,
                stats: c.stats,
            })
            .collect(),
        totals,
    })
}

/// Build the Bloom filter and the heavy-suffix bitmap of `n` distinct names under `seed`:
/// first count, per suffix of two labels or more, the listed names below it (a suffix with
/// more than [`format::HEAVY_ABOVE`] is heavy), then insert every name under its group
/// ([`format::for_each_bloom_key`]).
fn bloom_and_heavy<'a>(
    names: impl Iterator<Item = &'a [u8]> + Clone,
    n: usize,
    seed: u32,
) -> (Vec<u32>, Vec<u64>) {
    let mut below: HashMap<u64, u32> = HashMap::new();
    let mut hashes: Vec<u64> = Vec::new();
    for name in names.clone() {
        hashes.clear();
        hashes.extend(format::suffixes(name, seed).map(|(_, h)| h));
        // Proper suffixes of two labels or more.
        for &h in hashes.iter().take(hashes.len().saturating_sub(1)).skip(1) {
            *below.entry(h).or_insert(0) += 1;
        }
    }
    let heavy_count = below.values().filter(|&&c| c > format::HEAVY_ABOVE).count();
    let mut heavy = vec![0u64; 1usize << format::heavy_log2(heavy_count)];
    for (&h, &c) in &below {
        if c > format::HEAVY_ABOVE {
            format::heavy_insert(&mut heavy, h);
        }
    }
    drop(below);
    let heavy_bytes: Vec<u8> = heavy.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut bloom = vec![0u32; format::bloom_blocks(n) * 8];
    for name in names {
        if let Some(k) = format::name_bloom_key(name, seed, &heavy_bytes) {
            format::bloom_insert(&mut bloom, k);
        }
    }
    (bloom, heavy)
}

/// Seeds the compiler tries (each with 1/32 more buckets than the one before).
const SEEDS: u32 = 16;
/// Evictions one insertion may make before the table is given up for the next seed.
const MAX_KICKS: usize = 1000;

/// Place every (name hash, set id) of `keys` in a two-choice hash table of `buckets`
/// eight-slot buckets ([`format::table_place`]) and return its slots. A name goes to
/// whichever of its two buckets has room; when neither has, it takes a slot from one and
/// the name it displaced moves to its own other bucket, and so on (cuckoo hashing). The
/// table is then checked: no name may see a second slot with its tag among its buckets
/// (two names with one hash would). `None` if either fails.
fn build_table(keys: &[(u64, u32)], buckets: usize, set_bits: u32) -> Option<Vec<u64>> {
    const W: usize = format::BUCKET_SLOTS;
    if buckets == 0 || u32::try_from(buckets).is_err() {
        return None;
    }
    // Slot values, and the hash of the name in each (to find a displaced name's other
    // bucket).
    let mut slots = vec![0u64; buckets * W];
    let mut owners = vec![0u64; buckets * W];
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let put = |slots: &mut [u64], owners: &mut [u64], b: usize, v: u64, h: u64| -> bool {
        let at = b * W;
        let Some(free) = slots
            .get(at..at + W)
            .and_then(|s| s.iter().position(|&x| x == 0))
        else {
            return false;
        };
        if let (Some(s), Some(o)) = (slots.get_mut(at + free), owners.get_mut(at + free)) {
            *s = v;
            *o = h;
        }
        true
    };
    for &(h, set) in keys {
        let (b1, b2, tag) = format::table_place(h, buckets, set_bits);
        let (mut v, mut owner) = (tag | u64::from(set), h);
        if put(&mut slots, &mut owners, b1, v, owner) || put(&mut slots, &mut owners, b2, v, owner)
        {
            continue;
        }
        let mut bucket = if rng & 1 == 0 { b1 } else { b2 };
        let mut placed = false;
        for _ in 0..MAX_KICKS {
            // xorshift64: which slot of the full bucket gives way
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let at = bucket * W + (rng % W as u64) as usize;
            let (Some(s), Some(o)) = (slots.get_mut(at), owners.get_mut(at)) else {
                return None;
            };
            std::mem::swap(s, &mut v);
            std::mem::swap(o, &mut owner);
            let (o1, o2, _) = format::table_place(owner, buckets, set_bits);
            bucket = if o1 == bucket { o2 } else { o1 };
            if put(&mut slots, &mut owners, bucket, v, owner) {
                placed = true;
                break;
            }
        }
        if !placed {
            return None;
        }
    }
    for &(h, _) in keys {
        let (b1, b2, tag) = format::table_place(h, buckets, set_bits);
        let mut seen = 0usize;
        for b in [b1, b2].into_iter().take(if b1 == b2 { 1 } else { 2 }) {
            seen += slots
                .get(b * W..b * W + W)?
                .iter()
                .filter(|&&x| format::slot_matches(x, tag, set_bits))
                .count();
        }
        if seen != 1 {
            return None;
        }
    }
    Some(slots)
}

fn put_u32(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u32).to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_strs(out: &mut Vec<u8>, v: &[String]) {
    put_u32(out, v.len());
    for s in v {
        put_str(out, s);
    }
}

/// Write `bytes` to a temporary file next to `out`, fsync, rename over `out`, fsync the
/// directory. The database file is never modified after the rename.
pub(crate) fn write_atomically(out: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = out
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("filter.db");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".{file_name}.{}.{nanos}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = File::options().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, out)?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(out, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_byte_or_two_apart_hash_apart() {
        // `blogspolfred.com` and `blogspotfree.com` had one hash under a multiply-only
        // chain (a difference in a word's top byte stays in the top bits, where the next
        // word's difference can cancel it). Every name two substitutions away from a few
        // bases, in any two positions of the first label, must hash apart.
        let alphabet = b"adefloprtz0-9.k7";
        let mut names: Vec<Vec<u8>> = Vec::new();
        for base in [&b"blogspotfree.com"[..], b"abcdefghijklmnop.example.net"] {
            let label = base.iter().position(|&b| b == b'.').unwrap_or(base.len());
            for i in 0..label {
                for j in i + 1..label {
                    for &a in alphabet {
                        for &b in alphabet {
                            let mut n = base.to_vec();
                            n[i] = a;
                            n[j] = b;
                            if crate::name::validate_labels(&n).is_ok() {
                                names.push(n);
                            }
                        }
                    }
                }
            }
        }
        names.sort();
        names.dedup();
        assert!(names.len() > 30_000, "{}", names.len());
        let mut hashes: Vec<u64> = names.iter().map(|n| format::name_hash(n, 0)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), names.len());
        assert_ne!(
            format::name_hash(b"blogspolfred.com", 0),
            format::name_hash(b"blogspotfree.com", 0)
        );
    }

    #[test]
    fn the_table_finds_every_name_and_refuses_two_names_with_one_hash() {
        let keys: Vec<(u64, u32)> = (0..20_000u32)
            .map(|i| {
                (
                    format::name_hash(format!("host{i}.example.org").as_bytes(), 7),
                    i % 61,
                )
            })
            .collect();
        let set_bits = format::set_bits(61);
        let buckets = format::table_buckets(keys.len());
        let slots = build_table(&keys, buckets, set_bits).unwrap();
        let table: Vec<u8> = slots.iter().flat_map(|v| v.to_le_bytes()).collect();
        let filled = slots.iter().filter(|&&v| v != 0).count();
        assert_eq!(filled, keys.len());
        for &(h, set) in &keys {
            assert_eq!(format::table_find(&table, h, set_bits), Some(set));
        }
        let absent = (0..20_000u32)
            .filter(|i| {
                let h = format::name_hash(format!("host{i}.example.com").as_bytes(), 7);
                format::table_find(&table, h, set_bits).is_some()
            })
            .count();
        assert_eq!(absent, 0);
        // Two names with one hash can never both be found: the build says so.
        let mut twice = keys.clone();
        twice.push((keys[5].0, 3));
        assert!(build_table(&twice, buckets + 1, set_bits).is_none());
    }
}
