//! Rebuilding the compiled lists from their sources, with checks before installing.
//!
//! [`update`] is the whole of `gatehouse lists update` and of the scheduled rebuild in
//! `gatehouse serve`:
//!
//! 1. **Sources** ([`SourceSpec`]): a folder (a UT1 tree or one UT1 category folder), a
//!    `.tar.gz`/`.tgz` archive of either (extracted into a temporary folder inside the
//!    work folder, see [`extract_tar_gz`]; a single top folder such as UT1's
//!    `blacklists/` is stepped into), or a single list file (hosts, plain domains or
//!    adblock rules, for one category; the format is detected unless given).
//! 2. **Compile** to a temporary file beside the target (`.NAME.<unique>.new`, so that
//!    two updates at once never share one), then
//!    [`Database::verify`] every entry of it.
//! 3. **Shrink check**: per category, entries (domains + URLs) before and after. A
//!    category of the current file that vanished, or lost more than `max_shrink` of its
//!    entries, stops the update ([`Outcome::Refused`]): the current file stays, the new
//!    one is removed. `force` installs anyway ([`Outcome::Forced`]). A broken download
//!    (an empty or truncated archive) is the usual cause, and keeping yesterday's lists
//!    is far safer than filtering with half of them.
//! 4. **Install**: the current file is kept as `previous.gdb` beside it (a hard link, or
//!    a copy where links are not possible), then the new file is renamed over the target
//!    atomically. A running filter holding the old file keeps its mapping; it picks the
//!    new one up with [`crate::Shared::reload`].
//!
//! With `dry_run` everything happens in a temporary folder outside the target's folder
//! and nothing is installed or kept.

use std::fs::{self, File};
use std::io::{BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};

use crate::compile::{CompileOptions, CompileReport, Progress, Source, compile};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::list::{ListFormat, is_ut1_category};

/// The share of its entries a category may lose before an update is refused.
pub const DEFAULT_MAX_SHRINK: f64 = 0.5;

/// Most bytes extracted from the archives of one update (all archives together).
pub const MAX_ARCHIVE_BYTES: u64 = 4 << 30;

/// Most entries extracted from one archive.
pub const MAX_ARCHIVE_ENTRIES: u64 = 2_000_000;

/// The name the replaced file is kept under, beside the target.
pub const PREVIOUS_NAME: &str = "previous.gdb";

/// One configured source of entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// A folder (UT1 tree or category folder), a `.tar.gz`/`.tgz` archive of one, or a
    /// single list file.
    pub path: PathBuf,
    /// The format of a single list file (detected when `None`); for a folder or archive
    /// only [`ListFormat::Ut1Category`] makes sense.
    pub format: Option<ListFormat>,
    /// The category of a single list file (required) or of one UT1 category folder
    /// (default: the folder's name). Not allowed for a whole tree.
    pub category: Option<String>,
}

/// Is `path` named like a gzip-compressed tar archive (`.tar.gz` or `.tgz`)?
pub fn is_archive(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// How an update runs.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateOptions {
    /// The database file to replace (e.g. `<data>/lists/current.gdb`).
    pub target: PathBuf,
    /// Where archives are extracted (in a temporary sub-folder, removed afterwards).
    pub work_dir: PathBuf,
    /// Refuse when a category loses more than this share of its entries (0.0..=1.0).
    pub max_shrink: f64,
    /// Install even when the shrink check fails.
    pub force: bool,
    /// Compile and check only; install and keep nothing.
    pub dry_run: bool,
    /// Creation time recorded in the new file (Unix seconds).
    pub created_unix: i64,
    /// Most bytes extracted from archives.
    pub max_archive_bytes: u64,
}

impl UpdateOptions {
    /// Options with the defaults: [`DEFAULT_MAX_SHRINK`], no force, no dry run, creation
    /// time now, [`MAX_ARCHIVE_BYTES`].
    pub fn new(target: impl Into<PathBuf>, work_dir: impl Into<PathBuf>) -> Self {
        let created_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self {
            target: target.into(),
            work_dir: work_dir.into(),
            max_shrink: DEFAULT_MAX_SHRINK,
            force: false,
            dry_run: false,
            created_unix,
            max_archive_bytes: MAX_ARCHIVE_BYTES,
        }
    }
}

/// Progress callbacks of [`update`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateProgress<'a> {
    /// Extracting an archive.
    Extracting {
        /// The archive.
        archive: &'a Path,
    },
    /// Compiling (see [`Progress`]).
    Compiling(Progress<'a>),
    /// Checking every entry of the new file.
    Verifying,
}

/// Entries (domains + URLs) of one category before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryChange {
    /// Category name.
    pub name: String,
    /// Entries in the current file (`None`: not there).
    pub before: Option<u64>,
    /// Entries in the new file (`None`: not there).
    pub after: Option<u64>,
}

impl CategoryChange {
    /// Did the category vanish, or lose more than `max_shrink` of its entries? A category
    /// that had no entries never counts.
    pub fn shrank_beyond(&self, max_shrink: f64) -> bool {
        let Some(before) = self.before.filter(|b| *b > 0) else {
            return false;
        };
        let after = self.after.unwrap_or(0);
        let lost = before.saturating_sub(after) as f64;
        lost > max_shrink * before as f64
    }
}

/// What an update did with the new file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Installed; the file it replaced (if any) is kept at `previous`.
    Installed {
        /// Where the replaced file is kept.
        previous: Option<PathBuf>,
    },
    /// Installed although categories shrank (`force`).
    Forced {
        /// Where the replaced file is kept.
        previous: Option<PathBuf>,
    },
    /// Not installed: categories shrank too much (listed in [`UpdateReport::shrunk`]).
    Refused,
    /// A dry run: nothing installed.
    DryRun,
}

/// What [`update`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateReport {
    /// The compile (its `path` is the installed target, or the removed temporary file).
    pub compile: CompileReport,
    /// Every category of the current or the new file, sorted by name.
    pub changes: Vec<CategoryChange>,
    /// The categories that failed the shrink check.
    pub shrunk: Vec<CategoryChange>,
    /// Why the current file could not be compared (unreadable or corrupt), if so; such a
    /// file is replaced without a shrink check.
    pub current_unreadable: Option<String>,
    /// What happened.
    pub outcome: Outcome,
}

impl UpdateReport {
    /// Was the new file installed?
    pub fn installed(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Installed { .. } | Outcome::Forced { .. }
        )
    }
}

/// Removes a file when dropped (unless disarmed).
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Rebuild `options.target` from `sources` (see the module documentation). Errors
/// (unreadable sources, unsafe archives, a file failing verification) leave the current
/// file untouched; a failed shrink check is not an error but [`Outcome::Refused`].
pub fn update(
    sources: &[SourceSpec],
    options: &UpdateOptions,
    progress: &mut dyn FnMut(UpdateProgress<'_>),
) -> Result<UpdateReport> {
    if sources.is_empty() {
        return Err(Error::Update(
            "no list sources are configured (add [[filter.sources]] entries to the configuration)"
                .into(),
        ));
    }
    if !(0.0..=1.0).contains(&options.max_shrink) {
        return Err(Error::Update(format!(
            "max_shrink must be between 0 and 1, not {}",
            options.max_shrink
        )));
    }
    let file_name = options
        .target
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| *n != PREVIOUS_NAME)
        .ok_or_else(|| {
            Error::Update(format!(
                "{}: the target must be a file name other than {PREVIOUS_NAME}",
                options.target.display()
            ))
        })?;
    let target_dir = match options.target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };

    if !options.dry_run {
        remove_stale(&target_dir, &format!(".{file_name}."), ".new");
        remove_stale(&target_dir, &format!(".{PREVIOUS_NAME}."), ".tmp");
        remove_stale(&options.work_dir, ".lists-update-", "");
    }
    // Staging: archives are extracted here; a dry run also compiles here, so that it
    // writes nothing beside the target (nor in the work folder).
    let staging = if options.dry_run {
        tempfile::Builder::new()
            .prefix("gatehouse-lists-")
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?
    } else {
        fs::create_dir_all(&options.work_dir).map_err(|e| Error::io(&options.work_dir, e))?;
        tempfile::Builder::new()
            .prefix(".lists-update-")
            .tempdir_in(&options.work_dir)
            .map_err(|e| Error::io(&options.work_dir, e))?
    };
    let compile_sources =
        resolve_sources(sources, staging.path(), options.max_archive_bytes, progress)?;

    let new_file = if options.dry_run {
        staging.path().join(file_name)
    } else {
        fs::create_dir_all(&target_dir).map_err(|e| Error::io(&target_dir, e))?;
        target_dir.join(format!(".{file_name}.{}.new", unique()))
    };
    let mut cleanup = RemoveOnDrop(Some(new_file.clone()));
    let mut report = compile(
        &compile_sources,
        &CompileOptions {
            created_unix: options.created_unix,
        },
        &new_file,
        &mut |p| progress(UpdateProgress::Compiling(p)),
    )?;
    progress(UpdateProgress::Verifying);
    Database::open(&new_file)
        .and_then(|db| db.verify())
        .map_err(|e| Error::Update(format!("the new lists failed their checks: {e}")))?;

    // Compare with the current file.
    let mut current_unreadable = None;
    let before: Vec<(String, u64)> = if options.target.exists() {
        match Database::open(&options.target) {
            Ok(db) => db
                .categories()
                .iter()
                .map(|c| (c.name.clone(), c.domains + c.urls))
                .collect(),
            Err(e) => {
                current_unreadable = Some(e.to_string());
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let changes = category_changes(&before, &report);
    let shrunk: Vec<CategoryChange> = changes
        .iter()
        .filter(|c| c.shrank_beyond(options.max_shrink))
        .cloned()
        .collect();

    let outcome = if options.dry_run {
        Outcome::DryRun
    } else if !shrunk.is_empty() && !options.force {
        Outcome::Refused
    } else {
        let previous = install(&new_file, &options.target)?;
        cleanup.0 = None;
        report.path = options.target.clone();
        if shrunk.is_empty() {
            Outcome::Installed { previous }
        } else {
            Outcome::Forced { previous }
        }
    };
    Ok(UpdateReport {
        compile: report,
        changes,
        shrunk,
        current_unreadable,
        outcome,
    })
}

/// Leftovers of an update that was killed (it cleans up after itself otherwise) are
/// removed once they are this old; no update runs this long.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Remove files and folders in `dir` named `prefix…suffix` last modified more than
/// [`STALE_AFTER`] ago. Best effort: failures are ignored.
fn remove_stale(dir: &Path, prefix: &str, suffix: &str) {
    let Ok(items) = fs::read_dir(dir) else { return };
    let now = std::time::SystemTime::now();
    for item in items.flatten() {
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(prefix) || !name.ends_with(suffix) {
            continue;
        }
        let Ok(meta) = item.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > STALE_AFTER);
        if !old {
            continue;
        }
        let path = item.path();
        let _ = if meta.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
    }
}

/// A name part no other update running at the same time uses: process id and clock.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

fn category_changes(before: &[(String, u64)], report: &CompileReport) -> Vec<CategoryChange> {
    let mut changes: Vec<CategoryChange> = before
        .iter()
        .map(|(name, n)| CategoryChange {
            name: name.clone(),
            before: Some(*n),
            after: None,
        })
        .collect();
    for c in &report.categories {
        let n = c.domains + c.urls;
        match changes.iter_mut().find(|x| x.name == c.name) {
            Some(x) => x.after = Some(n),
            None => changes.push(CategoryChange {
                name: c.name.clone(),
                before: None,
                after: Some(n),
            }),
        }
    }
    changes.sort_by(|a, b| a.name.cmp(&b.name));
    changes
}

/// Keep the current target as `previous.gdb` beside it, then rename `new` over it.
fn install(new: &Path, target: &Path) -> Result<Option<PathBuf>> {
    let previous = target.with_file_name(PREVIOUS_NAME);
    let kept = if target.is_file() {
        let tmp = target.with_file_name(format!(".{PREVIOUS_NAME}.{}.tmp", unique()));
        // Database files are never changed in place, so a hard link is a faithful copy.
        if fs::hard_link(target, &tmp).is_err() {
            fs::copy(target, &tmp)
                .and_then(|_| File::open(&tmp)?.sync_all())
                .map_err(|e| {
                    let _ = fs::remove_file(&tmp);
                    Error::io(&tmp, e)
                })?;
        }
        fs::rename(&tmp, &previous).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io(&previous, e)
        })?;
        Some(previous)
    } else {
        None
    };
    fs::rename(new, target).map_err(|e| Error::io(target, e))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(kept)
}

/// Turn configured sources into compile sources, extracting archives into `staging`.
pub fn resolve_sources(
    specs: &[SourceSpec],
    staging: &Path,
    max_archive_bytes: u64,
    progress: &mut dyn FnMut(UpdateProgress<'_>),
) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    let mut budget = max_archive_bytes;
    for (i, spec) in specs.iter().enumerate() {
        let meta = fs::metadata(&spec.path).map_err(|e| Error::io(&spec.path, e))?;
        if meta.is_dir() || is_archive(&spec.path) {
            if let Some(f) = spec.format.filter(|f| *f != ListFormat::Ut1Category) {
                return Err(Error::Update(format!(
                    "{}: format {} is for a single list file, not a folder or archive",
                    spec.path.display(),
                    f.name()
                )));
            }
            // The name a category folder stands for: its own, or for list files at the
            // top of an archive, the archive's (`gambling.tar.gz`).
            let (root, own_name) = if meta.is_dir() {
                (spec.path.clone(), true)
            } else {
                progress(UpdateProgress::Extracting {
                    archive: &spec.path,
                });
                let dest = staging.join(format!("source-{i}"));
                let used = extract_tar_gz(&spec.path, &dest, budget)?;
                budget = budget.saturating_sub(used);
                let root = archive_root(&dest)?;
                let own = root != dest;
                (root, own)
            };
            if is_ut1_category(&root) {
                let named = if own_name {
                    root.file_name().and_then(|n| n.to_str()).map(str::to_owned)
                } else {
                    archive_stem(&spec.path)
                };
                let category = match &spec.category {
                    Some(c) => c.clone(),
                    None => named.ok_or_else(|| {
                        Error::Update(format!(
                            "{}: give the category folder's category",
                            spec.path.display()
                        ))
                    })?,
                };
                out.push(Source::List {
                    category,
                    format: ListFormat::Ut1Category,
                    path: root,
                });
            } else {
                if spec.category.is_some() {
                    return Err(Error::Update(format!(
                        "{}: a category applies to a list file or a UT1 category folder, not to a whole UT1 tree (its folders name their categories)",
                        spec.path.display()
                    )));
                }
                if list_dirs(&root)?.is_empty() {
                    return Err(Error::Update(format!(
                        "{}: no UT1 category folders (folders holding `domains` or `urls`) found",
                        spec.path.display()
                    )));
                }
                out.push(Source::Ut1Tree {
                    path: root,
                    prefix: String::new(),
                });
            }
        } else {
            let Some(category) = &spec.category else {
                return Err(Error::Update(format!(
                    "{}: a list file needs a category (e.g. category = \"gambling\")",
                    spec.path.display()
                )));
            };
            let format = match spec.format {
                Some(ListFormat::Ut1Category) => {
                    return Err(Error::Update(format!(
                        "{}: format ut1 is for a folder or archive, not a single file",
                        spec.path.display()
                    )));
                }
                Some(f) => f,
                None => ListFormat::detect(&spec.path)?,
            };
            out.push(Source::List {
                category: category.clone(),
                format,
                path: spec.path.clone(),
            });
        }
    }
    Ok(out)
}

/// `gambling` for `gambling.tar.gz` or `gambling.tgz`.
fn archive_stem(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    let cut = [".tar.gz", ".tgz"]
        .iter()
        .find_map(|ext| lower.ends_with(ext).then(|| name.len() - ext.len()))?;
    name.get(..cut).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The category folders directly inside `dir`.
fn list_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for item in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let item = item.map_err(|e| Error::io(dir, e))?;
        let p = item.path();
        if p.is_dir() && is_ut1_category(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Step into single top folders (`blacklists/`) until a category folder or a folder with
/// several entries.
fn archive_root(dir: &Path) -> Result<PathBuf> {
    let mut root = dir.to_path_buf();
    for _ in 0..8 {
        if is_ut1_category(&root) {
            break;
        }
        let mut items = Vec::new();
        for item in fs::read_dir(&root).map_err(|e| Error::io(&root, e))? {
            items.push(item.map_err(|e| Error::io(&root, e))?.path());
        }
        match items.as_slice() {
            [only] if only.is_dir() => root = only.clone(),
            _ => break,
        }
    }
    Ok(root)
}

/// A tar entry's path as a safe relative path: `None` for an absolute path, a Windows
/// prefix or a `..` component; `.` components are dropped.
fn safe_relative(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Extract the gzip-compressed tar archive `archive` into the new folder `dest`, safely:
/// an entry with an absolute path or a `..` component refuses the whole archive, as do
/// more than `max_bytes` of file contents or [`MAX_ARCHIVE_ENTRIES`] entries. Only
/// folders and regular files are written; a symbolic link to a sibling name (UT1's
/// `porn -> adult`) becomes a small file holding the target name, which
/// [`crate::list::read_ut1_tree`] reads as an alias; other links and special files are
/// skipped. Returns the bytes written.
pub fn extract_tar_gz(archive: &Path, dest: &Path, max_bytes: u64) -> Result<u64> {
    let unsafe_entry = |what: String| {
        Error::Update(format!(
            "{}: refused: {what}; nothing from it was used",
            archive.display()
        ))
    };
    let file = File::open(archive).map_err(|e| Error::io(archive, e))?;
    fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
    let io = |e: std::io::Error| Error::io(archive, e);
    let mut written: u64 = 0;
    let mut count: u64 = 0;
    for entry in tar.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        count += 1;
        if count > MAX_ARCHIVE_ENTRIES {
            return Err(unsafe_entry(format!(
                "more than {MAX_ARCHIVE_ENTRIES} entries"
            )));
        }
        let raw = entry.path().map_err(io)?.into_owned();
        let Some(rel) = safe_relative(&raw) else {
            return Err(unsafe_entry(format!(
                "the entry {:?} points outside the archive's folder",
                raw.display().to_string()
            )));
        };
        if rel.as_os_str().is_empty() {
            continue;
        }
        let path = dest.join(&rel);
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        } else if kind.is_file() {
            if entry.size() > max_bytes.saturating_sub(written) {
                return Err(unsafe_entry(format!(
                    "its files hold more than {max_bytes} bytes"
                )));
            }
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            let mut out = File::create(&path).map_err(|e| Error::io(&path, e))?;
            let room = max_bytes.saturating_sub(written);
            let n = std::io::copy(&mut (&mut entry).take(room.saturating_add(1)), &mut out)
                .map_err(|e| Error::io(&path, e))?;
            written = written.saturating_add(n);
            if written > max_bytes {
                return Err(unsafe_entry(format!(
                    "its files hold more than {max_bytes} bytes"
                )));
            }
            out.flush().map_err(|e| Error::io(&path, e))?;
        } else if kind.is_symlink() {
            let target = entry.link_name().map_err(io)?.map(|t| t.into_owned());
            let sibling = target.as_deref().and_then(|t| {
                let mut c = t.components();
                match (c.next(), c.next()) {
                    (Some(Component::Normal(n)), None) => n.to_str().map(str::to_owned),
                    _ => None,
                }
            });
            if let Some(name) = sibling {
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                }
                fs::write(&path, name.as_bytes()).map_err(|e| Error::io(&path, e))?;
            }
        }
    }
    Ok(written)
}

/// What identifies one version of a file on disk: size, modification time and (on Unix)
/// device and inode, so that a rename of a new file over it is seen even within the same
/// second.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: (u64, u64),
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let m = fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = {
            use std::os::unix::fs::MetadataExt as _;
            (m.dev(), m.ino())
        };
        #[cfg(not(unix))]
        let inode = (0, 0);
        Some(FileStamp {
            len: m.len(),
            modified: m.modified().ok(),
            inode,
        })
    }
}

/// Keeps a [`crate::Shared`] database in step with its file: [`Reloader::poll`] (called,
/// say, every second) opens the file again when it was replaced (by [`update`] or
/// `gatehouse lists compile`) and swaps it in; a file that fails to open leaves the
/// database in service unchanged.
#[derive(Debug)]
pub struct Reloader {
    path: PathBuf,
    seen: Option<FileStamp>,
}

impl Reloader {
    /// Watch `path`, whose current version is the one in service.
    pub fn new(path: impl Into<PathBuf>) -> Reloader {
        let path = path.into();
        let seen = FileStamp::of(&path);
        Reloader { path, seen }
    }

    /// If the file changed since the last call, open it: `Ok(Some(db))` is the new
    /// database, for the caller to put in service (a [`crate::Shared`], or a rebuilt
    /// engine). An error (the new file cannot be opened) is reported once per version of
    /// the file; the caller keeps the database in service.
    pub fn poll(&mut self) -> Result<Option<crate::Database>> {
        let now = FileStamp::of(&self.path);
        if now.is_none() || now == self.seen {
            return Ok(None);
        }
        self.seen = now;
        crate::Database::open(&self.path).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_rule() {
        let c = |before, after| CategoryChange {
            name: "x".into(),
            before,
            after,
        };
        assert!(!c(Some(100), Some(50)).shrank_beyond(0.5));
        assert!(c(Some(100), Some(49)).shrank_beyond(0.5));
        assert!(c(Some(100), None).shrank_beyond(0.5));
        assert!(!c(Some(0), None).shrank_beyond(0.5));
        assert!(!c(None, Some(3)).shrank_beyond(0.5));
        assert!(!c(Some(10), Some(20)).shrank_beyond(0.0));
        assert!(c(Some(10), Some(9)).shrank_beyond(0.0));
    }

    #[test]
    fn safe_paths() {
        assert_eq!(
            safe_relative(Path::new("./blacklists/adult/domains")),
            Some(PathBuf::from("blacklists/adult/domains"))
        );
        assert_eq!(safe_relative(Path::new("/etc/passwd")), None);
        assert_eq!(safe_relative(Path::new("a/../../b")), None);
    }

    #[test]
    fn stale_leftovers_are_removed_fresh_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::now() - STALE_AFTER - std::time::Duration::from_secs(60);
        let stale = dir.path().join(".current.gdb.1-2.new");
        let fresh = dir.path().join(".current.gdb.3-4.new");
        let other = dir.path().join("current.gdb");
        for p in [&stale, &fresh, &other] {
            fs::write(p, b"x").unwrap();
        }
        for p in [&stale, &other] {
            File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        let stale_dir = dir.path().join(".lists-update-abc");
        fs::create_dir(&stale_dir).unwrap();
        File::open(&stale_dir).unwrap().set_modified(old).unwrap();
        remove_stale(dir.path(), ".current.gdb.", ".new");
        remove_stale(dir.path(), ".lists-update-", "");
        assert!(!stale.exists() && !stale_dir.exists());
        assert!(fresh.exists() && other.exists());
    }

    #[test]
    fn archive_stems() {
        assert_eq!(
            archive_stem(Path::new("x/gambling.tar.gz")).as_deref(),
            Some("gambling")
        );
        assert_eq!(
            archive_stem(Path::new("Games.TGZ")).as_deref(),
            Some("Games")
        );
        assert_eq!(archive_stem(Path::new(".tgz")), None);
    }

    #[test]
    fn archive_names() {
        assert!(is_archive(Path::new("x/blacklists.tar.gz")));
        assert!(is_archive(Path::new("ADULT.TGZ")));
        assert!(!is_archive(Path::new("hosts.txt")));
        assert!(!is_archive(Path::new("list.gz")));
    }
}
