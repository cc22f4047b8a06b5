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
//! Domains are stored as a sorted array of label-reversed names (`com.example.www`),
//! front-coded in blocks of 16 entries (each entry: shared-prefix length, suffix length,
//! suffix bytes, varint index of its category set), with a block index (each block's
//! head prefix and offset, five blocks to a cache line) and a split-block Bloom filter of
//! every name (format version 3, see the crate documentation). Lookup probes the Bloom
//! filter for each suffix of the query and only for a positive probe searches the block
//! index and decodes one block. Reversed names share long prefixes (`com.`,
//! `com.blogspot.`, `xyz.0-1-x.`), so front coding takes the ~20 bytes of an average name
//! down to about 13 bytes per entry including the set index, with no false positives, a
//! deterministic byte-for-byte output, and the full listed names available for export and
//! validation. A fingerprint hash table would be slightly smaller and faster per probe,
//! but it either stores the names anyway (to be exact) or accepts false positives, which
//! over-blocks.
//!
//! Category sets are an index into a table of distinct sets (a few hundred for all of UT1),
//! not a bitmask, so the number of categories is not capped at 64; the policy engine can
//! precompute a verdict per set id.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::format::{self, BLOCK, HEADER_LEN, Header, VERSION};
use crate::list::{self, Entry, ListFormat, ListStats};
use crate::name::MAX_NAME_LEN;

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

    // Read everything: reversed names in one arena, (offset, len, category) per entry.
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
                let start = arena.len();
                let (Ok(off), Ok(len)) = (u32::try_from(start), u8::try_from(n.len())) else {
                    overflow = true;
                    return;
                };
                arena.resize(start + n.len(), 0);
                if let Some(dst) = arena.get_mut(start..)
                    && format::reverse_labels(n, dst).is_none()
                {
                    arena.truncate(start);
                    return;
                }
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

    // Domains: group equal keys, write front-coded blocks.
    let mut blob: Vec<u8> = Vec::new();
    let mut offsets: Vec<u32> = Vec::new();
    let mut heads: Vec<u64> = Vec::new();
    let mut n_domains: usize = 0;
    // whether any listed domain is a single label (see `format::FLAG_NO_SINGLE_LABEL`)
    let mut single_label = false;
    let mut prev: Vec<u8> = Vec::with_capacity(MAX_NAME_LEN);
    let mut i = 0;
    while i < items.len() {
        let Some(first) = items.get(i) else { break };
        let k = key(first);
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
        let sid = intern(set);
        let shared = if n_domains.is_multiple_of(BLOCK) {
            offsets.push(blob.len() as u32);
            heads.push(format::prefix12(k));
            0
        } else {
            prev.iter().zip(k).take_while(|(a, b)| a == b).count()
        };
        let suffix = k.get(shared..).unwrap_or(&[]);
        blob.push(shared as u8);
        blob.push(suffix.len() as u8);
        blob.extend_from_slice(suffix);
        format::put_varint(&mut blob, sid);
        single_label |= !k.contains(&b'.');
        prev.clear();
        prev.extend_from_slice(k);
        n_domains += 1;
    }
    if u32::try_from(blob.len()).is_err() {
        return Err(Error::Compile("domain section larger than 4 GiB".into()));
    }
    let (bloom, heavy) = bloom_and_heavy(&blob, n_domains)?;

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

    // Index section, version 3: padding to a 64-byte file offset, Bloom filter,
    // heavy-suffix bitmap, leaf nodes of block-head prefixes and blob offsets.
    let mut index = vec![0u8; format::index_padding(HEADER_LEN + meta.len() + sets.len())];
    for w in &bloom {
        index.extend_from_slice(&w.to_le_bytes());
    }
    for w in &heavy {
        index.extend_from_slice(&w.to_le_bytes());
    }
    for (ps, os) in heads.chunks(format::LEAF).zip(offsets.chunks(format::LEAF)) {
        for j in 0..format::LEAF {
            let p = ps.get(j).copied().unwrap_or(u64::MAX);
            index.extend_from_slice(&p.to_le_bytes());
        }
        for j in 0..format::LEAF {
            let o = os.get(j).copied().unwrap_or(0);
            index.extend_from_slice(&o.to_le_bytes());
        }
        index.extend_from_slice(&[0u8; 64 - format::LEAF * 12]);
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
        sets: u32::try_from(set_list.len()).map_err(|_| too_many("sets"))?,
        categories: u32::try_from(cats.len()).map_err(|_| too_many("categories"))?,
        block: BLOCK as u32,
        heavy_log2: heavy.len().trailing_zeros(),
        section_len: [
            meta.len() as u64,
            sets.len() as u64,
            index.len() as u64,
            blob.len() as u64,
            url_sec.len() as u64,
        ],
    };
    let mut file = header.encode();
    debug_assert_eq!(file.len(), HEADER_LEN);
    for sec in [&meta, &sets, &index, &blob, &url_sec] {
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
        domain_bytes: index.len() + blob.len() + sets.len(),
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

/// Build the Bloom filter and the heavy-suffix bitmap from the front-coded `blob` of
/// `n` sorted, reversed names: first count, per suffix of two labels or more, the listed
/// names below it (a suffix with more than [`format::HEAVY_ABOVE`] is heavy), then insert
/// every name under its group ([`format::for_each_bloom_key`]).
fn bloom_and_heavy(blob: &[u8], n: usize) -> Result<(Vec<u32>, Vec<u64>)> {
    let bad = || Error::Compile("internal error: unreadable domain section".into());
    let mut below: HashMap<u64, u32> = HashMap::new();
    let each = |f: &mut dyn FnMut(&[u8])| -> Result<()> {
        let mut buf = [0u8; 256];
        let mut fwd = [0u8; 256];
        let mut pos = 0usize;
        for _ in 0..n {
            let shared = usize::from(*blob.get(pos).ok_or_else(bad)?);
            let slen = usize::from(*blob.get(pos + 1).ok_or_else(bad)?);
            let suffix = blob.get(pos + 2..pos + 2 + slen).ok_or_else(bad)?;
            buf.get_mut(shared..shared + slen)
                .ok_or_else(bad)?
                .copy_from_slice(suffix);
            let (_, next) = format::get_varint(blob, pos + 2 + slen).ok_or_else(bad)?;
            pos = next;
            let len = shared + slen;
            let l = format::reverse_labels(buf.get(..len).ok_or_else(bad)?, &mut fwd)
                .ok_or_else(bad)?;
            f(fwd.get(..l).ok_or_else(bad)?);
        }
        Ok(())
    };
    let mut hashes: Vec<u64> = Vec::new();
    each(&mut |name: &[u8]| {
        hashes.clear();
        hashes.extend(format::suffixes(name).map(|(_, h)| h));
        // Proper suffixes of two labels or more.
        for &h in hashes.iter().take(hashes.len().saturating_sub(1)).skip(1) {
            *below.entry(h).or_insert(0) += 1;
        }
    })?;
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
    each(&mut |name: &[u8]| {
        if let Some(k) = format::name_bloom_key(name, &heavy_bytes) {
            format::bloom_insert(&mut bloom, k);
        }
    })?;
    Ok((bloom, heavy))
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
