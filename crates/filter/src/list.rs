//! Readers of block-list formats.
//!
//! Every reader yields normalised [`Entry`] values to a sink and returns [`ListStats`]:
//! counts of entries, skipped lines (comments, blank lines, unsupported syntax), IP
//! addresses (stored under their reverse-DNS names, [`ip_entry_name`]), and invalid lines
//! with file name and 1-based line number. A bad line is never fatal; only I/O errors are.
//!
//! Formats ([`ListFormat`]) and what they mean:
//!
//! * **UT1 / squidGuard category folder** ([`ListFormat::Ut1Category`] over a folder, or
//!   [`read_ut1_tree`] over the whole tree): `domains` holds one domain per line, each a
//!   *suffix* (the entry covers all sub-domains), so a leading `www.` is kept as written
//!   (it is a distinct, more specific suffix). `urls` holds `host/path` prefixes; following
//!   squidGuard, a leading `www.` of the host is stripped (squidGuard strips it from the
//!   request URL before matching, so a listed `www.` host could never match otherwise).
//!   Paths are compared in the form of [`normalise_url_path`] (case, escapes of
//!   unreserved characters, repeated `/`), the same for list entries and requests.
//!   `usage` is a comma list of tags (`black`, `white`, aliases). In the tree, a category
//!   "symlink" (`porn -> adult`) may be a real symlink or, as in git checkouts without
//!   symlink support, a small regular file holding the target name; both become aliases.
//! * **hosts file** ([`ListFormat::Hosts`]): `IP name [name...] [# comment]`; names are
//!   exact hosts so `www.` is kept. Local names (`localhost`, `broadcasthost`, `ip6-...`,
//!   ...) are skipped. The database treats every entry as a suffix, as DNS block lists
//!   intend in practice.
//! * **plain list** ([`ListFormat::Domains`]): one name per line, `#` comments; no
//!   stripping.
//! * **adblock** ([`ListFormat::Adblock`]): only `||domain^` (domain and sub-domains);
//!   every other rule (options `$...`, paths, exceptions `@@`, cosmetic `##`) is skipped and
//!   counted; `!` and `[...]` lines are comments.
//!
//! [`ListFormat::detect`] tells a UT1 category folder ([`is_ut1_category`]) from a list file
//! and guesses a file's format from its first lines.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::name::{Domain, NameError, is_ip_literal, normalise_domain};

/// Maximum number of invalid lines kept with details per read (all are counted).
pub const MAX_INVALID_DETAILS: usize = 100;

/// The format of one list file (or UT1 category folder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListFormat {
    /// A UT1 category folder (`domains`, optional `urls`, optional `usage`).
    Ut1Category,
    /// A hosts file.
    Hosts,
    /// One domain per line.
    Domains,
    /// Adblock-style `||domain^` rules.
    Adblock,
}

impl ListFormat {
    /// The format of the list at `path`: [`ListFormat::Ut1Category`] for a UT1 category
    /// folder (see [`is_ut1_category`]); for a file, a guess from its first lines (up to
    /// 64 KiB): adblock rules (`||name^`, an `[Adblock …]` header), hosts lines (an
    /// address, then names) or plain domains, whichever most meaningful lines look like.
    /// A folder that is not a category folder (e.g. a whole UT1 tree) is an error naming
    /// it, as is a file that cannot be read.
    pub fn detect(path: &Path) -> Result<ListFormat> {
        let meta = fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            if is_ut1_category(path) {
                return Ok(ListFormat::Ut1Category);
            }
            return Err(Error::io(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a folder that is not a UT1 category folder (it has no `domains`, `urls` or `usage` file)",
                ),
            ));
        }
        let mut head = Vec::with_capacity(DETECT_BYTES);
        fs::File::open(path)
            .and_then(|f| {
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(f, DETECT_BYTES as u64),
                    &mut head,
                )
            })
            .map_err(|e| Error::io(path, e))?;
        Ok(Self::detect_text(&String::from_utf8_lossy(&head)))
    }

    /// The format [`ListFormat::detect`] guesses for a file starting with `text`.
    pub fn detect_text(text: &str) -> ListFormat {
        let (mut adblock, mut hosts, mut domains) = (0usize, 0usize, 0usize);
        for line in text.lines().take(2_000) {
            let line = line.trim();
            if line.starts_with("[Adblock") {
                adblock += 10;
                continue;
            }
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            if line.starts_with("||") || line.starts_with("@@") || line.contains('^') {
                adblock += 1;
                continue;
            }
            let mut words = line.split_whitespace();
            let first = words.next().unwrap_or("");
            if first.parse::<std::net::IpAddr>().is_ok() && words.next().is_some() {
                hosts += 1;
            } else {
                domains += 1;
            }
        }
        if adblock > 0 && adblock >= hosts.max(domains) {
            ListFormat::Adblock
        } else if hosts > domains {
            ListFormat::Hosts
        } else {
            ListFormat::Domains
        }
    }

    /// The format's name as written in configuration files: `ut1`, `hosts`, `domains`,
    /// `adblock`.
    pub fn name(self) -> &'static str {
        match self {
            ListFormat::Ut1Category => "ut1",
            ListFormat::Hosts => "hosts",
            ListFormat::Domains => "domains",
            ListFormat::Adblock => "adblock",
        }
    }

    /// The format named `name` (see [`ListFormat::name`]), if any.
    pub fn from_name(name: &str) -> Option<ListFormat> {
        [
            ListFormat::Ut1Category,
            ListFormat::Hosts,
            ListFormat::Domains,
            ListFormat::Adblock,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }
}

/// Bytes of a file [`ListFormat::detect`] reads.
const DETECT_BYTES: usize = 64 * 1024;

/// Is `dir` a UT1 category folder (holding `domains`, `urls` or `usage`) rather than a
/// tree of them?
pub fn is_ut1_category(dir: &Path) -> bool {
    ["domains", "urls", "usage"]
        .iter()
        .any(|f| dir.join(f).is_file())
}

/// A URL prefix entry: host and path prefix (`example.com/path/to`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UrlEntry {
    /// Normalised host.
    pub host: Domain,
    /// Path prefix, starting with `/` (may be just `/`).
    pub path: String,
}

/// One normalised list entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Entry {
    /// A domain suffix.
    Domain(Domain),
    /// A URL prefix.
    Url(UrlEntry),
}

/// One rejected line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidLine {
    /// File the line came from.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// Why it was rejected.
    pub reason: String,
}

/// Counts for one read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListStats {
    /// Lines read.
    pub lines: usize,
    /// Domain entries yielded.
    pub domains: usize,
    /// URL entries yielded.
    pub urls: usize,
    /// Comments, blank lines, unsupported syntax, local names.
    pub skipped: usize,
    /// IP addresses among the entries (stored under their reverse-DNS names, see
    /// [`ip_entry_name`]; also counted in `domains` or `urls`).
    pub ip_literals: usize,
    /// Invalid lines (all counted).
    pub invalid: usize,
    /// The first [`MAX_INVALID_DETAILS`] invalid lines.
    pub invalid_lines: Vec<InvalidLine>,
}

impl ListStats {
    /// Add another read's counts into this one.
    pub fn merge(&mut self, other: ListStats) {
        self.lines += other.lines;
        self.domains += other.domains;
        self.urls += other.urls;
        self.skipped += other.skipped;
        self.ip_literals += other.ip_literals;
        self.invalid += other.invalid;
        let room = MAX_INVALID_DETAILS.saturating_sub(self.invalid_lines.len());
        self.invalid_lines
            .extend(other.invalid_lines.into_iter().take(room));
    }

    fn reject(&mut self, file: &Path, line: usize, reason: impl Into<String>) {
        self.invalid += 1;
        if self.invalid_lines.len() < MAX_INVALID_DETAILS {
            self.invalid_lines.push(InvalidLine {
                file: file.to_path_buf(),
                line,
                reason: reason.into(),
            });
        }
    }

    fn name_error(&mut self, file: &Path, line: usize, err: NameError, text: &str) {
        let shown: String = text.chars().take(80).collect();
        self.reject(file, line, format!("{err}: {shown:?}"));
    }
}

/// What a single-line parser decided.
enum LineKind<'a> {
    Skip,
    Names(Vec<&'a str>),
    Invalid(&'static str),
}

/// Parse list bytes in `format` (for [`ListFormat::Ut1Category`] the bytes are a `domains`
/// file). `file` only labels invalid lines. Never panics, whatever the bytes.
pub fn parse_list(
    bytes: &[u8],
    format: ListFormat,
    file: &Path,
    sink: &mut dyn FnMut(Entry),
) -> ListStats {
    let mut stats = ListStats::default();
    for (idx, raw) in split_lines(bytes).enumerate() {
        let lineno = idx + 1;
        stats.lines += 1;
        let Ok(line) = std::str::from_utf8(raw) else {
            stats.reject(file, lineno, "not UTF-8");
            continue;
        };
        let kind = match format {
            ListFormat::Ut1Category | ListFormat::Domains => plain_line(line),
            ListFormat::Hosts => hosts_line(line),
            ListFormat::Adblock => adblock_line(line),
        };
        match kind {
            LineKind::Skip => stats.skipped += 1,
            LineKind::Invalid(why) => stats.reject(file, lineno, why),
            LineKind::Names(names) => {
                for text in names {
                    match normalise_domain(text) {
                        Ok(d) => {
                            stats.domains += 1;
                            sink(Entry::Domain(d));
                        }
                        Err(NameError::IpLiteral) => match ip_entry_name(text) {
                            Some(d) => {
                                stats.ip_literals += 1;
                                stats.domains += 1;
                                sink(Entry::Domain(d));
                            }
                            None => stats.name_error(file, lineno, NameError::IpLiteral, text),
                        },
                        Err(e) => stats.name_error(file, lineno, e, text),
                    }
                }
            }
        }
    }
    stats
}

/// Parse a UT1 `urls` file (`host/path` per line). Never panics.
pub fn parse_url_list(bytes: &[u8], file: &Path, sink: &mut dyn FnMut(Entry)) -> ListStats {
    let mut stats = ListStats::default();
    for (idx, raw) in split_lines(bytes).enumerate() {
        let lineno = idx + 1;
        stats.lines += 1;
        let Ok(line) = std::str::from_utf8(raw) else {
            stats.reject(file, lineno, "not UTF-8");
            continue;
        };
        let line = strip_comment(line, '#');
        if line.is_empty() {
            stats.skipped += 1;
            continue;
        }
        match parse_url_entry(line, true) {
            Ok(url) => {
                stats.urls += 1;
                if url_host_is_ip(line) {
                    stats.ip_literals += 1;
                }
                sink(Entry::Url(url));
            }
            Err(e) => stats.name_error(file, lineno, e, line),
        }
    }
    stats
}

/// `host/path` → [`UrlEntry`]; a scheme (`http://`) is tolerated; `strip_www` removes one
/// leading `www.` from the host (UT1 / squidGuard semantics).
pub fn parse_url_entry(text: &str, strip_www: bool) -> Result<UrlEntry, NameError> {
    let text = text.trim();
    let text = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .unwrap_or(text);
    let (host, path) = match text.find('/') {
        Some(i) => text.split_at(i),
        None => (text, "/"),
    };
    // Drop a port.
    let host = match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let mut host = match normalise_domain(host) {
        Err(NameError::IpLiteral) => ip_entry_name(host).ok_or(NameError::IpLiteral)?,
        other => other?,
    };
    if strip_www
        && let Some(rest) = host.as_str().strip_prefix("www.")
        && let Ok(d) = normalise_domain(rest)
    {
        host = d;
    }
    Ok(UrlEntry {
        host,
        path: normalise_url_path(path).into_owned(),
    })
}

/// The name under which an IP address is listed and looked up: its reverse-DNS name
/// (`192.0.2.1` → `1.2.0.192.in-addr.arpa`, IPv6 as nibbles under `ip6.arpa`), so lists
/// that name IP addresses (UT1 `malware` has thousands) block requests to them, as
/// squidGuard does. `None` when `text` is not an IP address.
pub fn ip_entry_name(text: &str) -> Option<Domain> {
    let t = text.trim();
    let t = t.strip_suffix('.').unwrap_or(t);
    let t = t
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(t);
    let name = match t.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) => {
            let [x, y, z, w] = a.octets();
            format!("{w}.{z}.{y}.{x}.in-addr.arpa")
        }
        std::net::IpAddr::V6(a) => {
            let mut n = String::with_capacity(72);
            for b in a.octets().iter().rev() {
                n.push_str(&format!("{:x}.{:x}.", b & 15, b >> 4));
            }
            n.push_str("ip6.arpa");
            n
        }
    };
    normalise_domain(&name).ok()
}

/// Whether the host of a `host/path` URL-list line is an IP address.
fn url_host_is_ip(line: &str) -> bool {
    let t = line.trim();
    let t = t
        .strip_prefix("http://")
        .or_else(|| t.strip_prefix("https://"))
        .unwrap_or(t);
    let host = t.split('/').next().unwrap_or(t);
    is_ip_literal(host) || host.rsplit_once(':').is_some_and(|(h, _)| is_ip_literal(h))
}

/// The form in which URL paths are compared (list entries and requests alike): ASCII
/// lower case (as squidGuard compares them, so `/NSFW/` cannot slip past `/nsfw/`),
/// percent-escapes of unreserved characters decoded (`%6E` is `n`; other escapes stay
/// escaped, in lower case), and runs of `/` collapsed into one. Borrows when nothing
/// changes.
pub fn normalise_url_path(path: &str) -> std::borrow::Cow<'_, str> {
    let b = path.as_bytes();
    let clean = !b.iter().any(|c| c.is_ascii_uppercase() || *c == b'%')
        && !b.windows(2).any(|w| w == b"//");
    if clean {
        return std::borrow::Cow::Borrowed(path);
    }
    let hex = |i: usize| b.get(i).and_then(|h| char::from(*h).to_digit(16));
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%'
            && let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2))
        {
            let d = u8::try_from(h * 16 + l).unwrap_or(0);
            if d.is_ascii_alphanumeric() || matches!(d, b'-' | b'.' | b'_' | b'~') {
                out.push(d.to_ascii_lowercase());
            } else {
                out.push(b'%');
                out.extend(b.get(i + 1..i + 3).unwrap_or_default());
            }
            i += 3;
            continue;
        }
        if !(c == b'/' && out.last() == Some(&b'/')) {
            out.push(c);
        }
        i += 1;
    }
    out.make_ascii_lowercase();
    std::borrow::Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Split on `\n`, dropping a trailing `\r`; no empty trailing line after a final newline.
fn split_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = bytes.is_empty();
    body.split(|&b| b == b'\n')
        .filter(move |_| !empty)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

fn strip_comment(line: &str, marker: char) -> &str {
    match line.find(marker) {
        Some(i) => line.get(..i).unwrap_or(line).trim(),
        None => line.trim(),
    }
}

fn plain_line(line: &str) -> LineKind<'_> {
    let line = strip_comment(line, '#');
    if line.is_empty() {
        return LineKind::Skip;
    }
    if line.split_whitespace().nth(1).is_some() {
        return LineKind::Invalid("more than one field");
    }
    LineKind::Names(vec![line])
}

const LOCAL_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "local",
    "broadcasthost",
    "ip6-localhost",
    "ip6-loopback",
    "ip6-localnet",
    "ip6-mcastprefix",
    "ip6-allnodes",
    "ip6-allrouters",
    "ip6-allhosts",
    "0.0.0.0",
];

fn hosts_line(line: &str) -> LineKind<'_> {
    let line = strip_comment(line, '#');
    if line.is_empty() {
        return LineKind::Skip;
    }
    let mut fields = line.split_whitespace();
    let Some(addr) = fields.next() else {
        return LineKind::Skip;
    };
    if !is_ip_literal(addr) {
        return LineKind::Invalid("hosts line does not start with an IP address");
    }
    let names: Vec<&str> = fields
        .filter(|n| !LOCAL_NAMES.contains(&n.to_ascii_lowercase().as_str()))
        .collect();
    if names.is_empty() {
        return LineKind::Skip;
    }
    LineKind::Names(names)
}

fn adblock_line(line: &str) -> LineKind<'_> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('!') || line.starts_with('[') || line.starts_with('#') {
        return LineKind::Skip;
    }
    let Some(rest) = line.strip_prefix("||") else {
        return LineKind::Skip;
    };
    let Some(name) = rest.strip_suffix('^') else {
        return LineKind::Skip;
    };
    if name.contains(['/', '^', '$', '*', '|']) && !name.starts_with("*.") {
        return LineKind::Skip;
    }
    LineKind::Names(vec![name])
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io(path, e))
}

/// Read one list file (for [`ListFormat::Ut1Category`], `path` is the category folder and
/// both `domains` and `urls` are read).
pub fn read_list(
    path: &Path,
    format: ListFormat,
    sink: &mut dyn FnMut(Entry),
) -> Result<ListStats> {
    if format == ListFormat::Ut1Category {
        return read_ut1_category(path, sink);
    }
    let bytes = read_file(path)?;
    Ok(parse_list(&bytes, format, path, sink))
}

/// Read a UT1 category folder: `domains` and `urls` if present (either may be absent).
pub fn read_ut1_category(dir: &Path, sink: &mut dyn FnMut(Entry)) -> Result<ListStats> {
    let mut stats = ListStats::default();
    let domains = dir.join("domains");
    if domains.is_file() {
        let bytes = read_file(&domains)?;
        stats.merge(parse_list(&bytes, ListFormat::Domains, &domains, sink));
    }
    let urls = dir.join("urls");
    if urls.is_file() {
        let bytes = read_file(&urls)?;
        stats.merge(parse_url_list(&bytes, &urls, sink));
    }
    Ok(stats)
}

/// One category folder of a UT1 tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ut1Category {
    /// Folder name, used as the category name.
    pub name: String,
    /// The folder.
    pub dir: PathBuf,
    /// Tags from `usage` (e.g. `black`, `white`, alternative names).
    pub usage: Vec<String>,
    /// Other names pointing at this folder (symlinks or git symlink stubs), sorted.
    pub aliases: Vec<String>,
}

/// Discover the categories of a UT1 tree: every sub-folder holding `domains`, `urls` or
/// `usage`; symlinked folders and git symlink stub files become aliases. Sorted by name.
pub fn read_ut1_tree(root: &Path) -> Result<Vec<Ut1Category>> {
    let rd = fs::read_dir(root).map_err(|e| Error::io(root, e))?;
    let mut cats: Vec<Ut1Category> = Vec::new();
    let mut aliases: Vec<(String, String)> = Vec::new();
    for item in rd {
        let item = item.map_err(|e| Error::io(root, e))?;
        let Ok(name) = item.file_name().into_string() else {
            continue;
        };
        let path = item.path();
        let link = fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
        if link.file_type().is_symlink() {
            if let Ok(target) = fs::read_link(&path)
                && let Some(t) = target.file_name().and_then(|t| t.to_str())
            {
                aliases.push((name, t.to_owned()));
            }
            continue;
        }
        if link.is_dir() {
            if is_ut1_category(&path) {
                let usage = match fs::read_to_string(path.join("usage")) {
                    Ok(text) => text
                        .split([',', '\n'])
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect(),
                    Err(_) => Vec::new(),
                };
                cats.push(Ut1Category {
                    name,
                    dir: path,
                    usage,
                    aliases: Vec::new(),
                });
            }
        } else if link.is_file() && link.len() <= 64 {
            // A git symlink stub: the file holds the target folder name.
            if let Ok(text) = fs::read_to_string(&path) {
                let t = text.trim();
                if !t.is_empty() && !t.contains(['/', '\n']) && root.join(t).is_dir() {
                    aliases.push((name, t.to_owned()));
                }
            }
        }
    }
    for (alias, target) in aliases {
        if let Some(c) = cats.iter_mut().find(|c| c.name == target) {
            c.aliases.push(alias);
        }
    }
    for c in &mut cats {
        c.aliases.sort();
    }
    cats.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(bytes: &[u8], format: ListFormat) -> (Vec<Entry>, ListStats) {
        let mut out = Vec::new();
        let stats = parse_list(bytes, format, Path::new("t"), &mut |e| out.push(e));
        (out, stats)
    }

    fn names(entries: &[Entry]) -> Vec<&str> {
        entries
            .iter()
            .filter_map(|e| match e {
                Entry::Domain(d) => Some(d.as_str()),
                Entry::Url(_) => None,
            })
            .collect()
    }

    #[test]
    fn ip_addresses_are_listed_under_their_reverse_dns_names() {
        for (ip, name) in [
            ("192.0.2.1", Some("1.2.0.192.in-addr.arpa")),
            (" 10.0.0.255. ", Some("255.0.0.10.in-addr.arpa")),
            (
                "[2001:db8::1]",
                Some("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"),
            ),
            ("example.com", None),
            ("1.2.3", None),
        ] {
            assert_eq!(ip_entry_name(ip).as_ref().map(Domain::as_str), name, "{ip}");
        }
    }

    #[test]
    fn url_paths_compare_in_one_form() {
        for (path, want) in [
            ("/a/b?q=1", "/a/b?q=1"),
            ("/NSFW/Pic.JPG", "/nsfw/pic.jpg"),
            ("/%6Esfw/%7Ex", "/nsfw/~x"),
            ("/a%2Fb/%C3%B3", "/a%2fb/%c3%b3"),
            ("//a///b/", "/a/b/"),
            ("/100%/%zz%4", "/100%/%zz%4"),
        ] {
            assert_eq!(normalise_url_path(path), want, "{path}");
            assert_eq!(normalise_url_path(want), want, "{want} is already normal");
        }
        let e = parse_url_entry("WWW.Example.com//A/%42c", true).unwrap();
        assert_eq!((e.host.as_str(), e.path.as_str()), ("example.com", "/a/bc"));
    }

    #[test]
    fn hosts() {
        let text = b"# c\n127.0.0.1 localhost\n0.0.0.0 Ads.Example.com\n127.0.0.1 a.b c.d # x\nbad line\n::1 ip6-localhost\n0.0.0.0 www.x.org\n";
        let (e, s) = collect(text, ListFormat::Hosts);
        assert_eq!(names(&e), ["ads.example.com", "a.b", "c.d", "www.x.org"]);
        assert_eq!(s.invalid, 1);
        assert_eq!(s.invalid_lines[0].line, 5);
        assert_eq!(s.skipped, 3);
    }

    #[test]
    fn plain_and_ips() {
        let (e, s) = collect(
            b"example.com\r\n1.2.3.4\n\n*.w.net\nbad..name\n",
            ListFormat::Domains,
        );
        assert_eq!(names(&e), ["example.com", "4.3.2.1.in-addr.arpa", "w.net"]);
        assert_eq!(s.ip_literals, 1);
        assert_eq!(s.domains, 3);
        assert_eq!(s.invalid, 1);
        assert_eq!(s.invalid_lines[0].line, 5);
        assert_eq!(s.lines, 5);
    }

    #[test]
    fn adblock() {
        let text = b"[Adblock Plus 2.0]\n! title\n||ads.example.com^\n||x.com^$third-party\n@@||ok.com^\nexample.org##.ad\n||p.com/path^\n||bad..com^\n";
        let (e, s) = collect(text, ListFormat::Adblock);
        assert_eq!(names(&e), ["ads.example.com"]);
        assert_eq!(s.skipped, 6);
        assert_eq!(s.invalid, 1);
        assert_eq!(s.invalid_lines[0].line, 8);
    }

    #[test]
    fn urls() {
        let mut out = Vec::new();
        let s = parse_url_list(
            b"www.Example.com/Path/to\nexample.org\n1.2.3.4/x\n",
            Path::new("u"),
            &mut |e| out.push(e),
        );
        assert_eq!(s.urls, 3);
        assert_eq!(s.ip_literals, 1);
        assert_eq!(
            out[2],
            Entry::Url(UrlEntry {
                host: normalise_domain("4.3.2.1.in-addr.arpa").unwrap(),
                path: "/x".into()
            })
        );
        assert_eq!(
            out[0],
            Entry::Url(UrlEntry {
                host: normalise_domain("example.com").unwrap(),
                path: "/path/to".into() // paths compare in lower case
            })
        );
    }

    #[test]
    fn detect_formats_from_content() {
        assert_eq!(
            ListFormat::detect_text("[Adblock Plus 2.0]\n! c\n||ads.example.com^\n"),
            ListFormat::Adblock
        );
        assert_eq!(
            ListFormat::detect_text("||a.com^\n||b.com^\nc.com\n"),
            ListFormat::Adblock
        );
        assert_eq!(
            ListFormat::detect_text(
                "# hosts\n127.0.0.1 localhost\n0.0.0.0 ads.example.com\n::1 ip6-localhost\n"
            ),
            ListFormat::Hosts
        );
        assert_eq!(
            ListFormat::detect_text("# plain\nexample.com\nexample.org\n0.0.0.0 x.com\n"),
            ListFormat::Domains
        );
        assert_eq!(ListFormat::detect_text(""), ListFormat::Domains);
    }

    #[test]
    fn detect_folders_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        let cat = tree.join("gambling");
        fs::create_dir_all(&cat).unwrap();
        // A folder without list files is not a category folder.
        let err = ListFormat::detect(&cat).unwrap_err().to_string();
        assert!(
            err.contains("gambling") && err.contains("not a UT1 category"),
            "{err}"
        );
        fs::write(cat.join("urls"), "bet.example/x\n").unwrap();
        assert!(is_ut1_category(&cat));
        assert_eq!(ListFormat::detect(&cat).unwrap(), ListFormat::Ut1Category);
        // The tree above it is not a category folder.
        assert!(!is_ut1_category(&tree));
        assert!(ListFormat::detect(&tree).is_err());
        let hosts = dir.path().join("hosts.txt");
        fs::write(&hosts, "0.0.0.0 a.example\n0.0.0.0 b.example\n").unwrap();
        assert_eq!(ListFormat::detect(&hosts).unwrap(), ListFormat::Hosts);
        let missing = dir.path().join("missing.txt");
        let err = ListFormat::detect(&missing).unwrap_err().to_string();
        assert!(err.contains("missing.txt"), "{err}");
    }

    #[test]
    fn format_names_round_trip() {
        for f in [
            ListFormat::Ut1Category,
            ListFormat::Hosts,
            ListFormat::Domains,
            ListFormat::Adblock,
        ] {
            assert_eq!(ListFormat::from_name(f.name()), Some(f));
        }
        assert_eq!(ListFormat::from_name("csv"), None);
    }
}
