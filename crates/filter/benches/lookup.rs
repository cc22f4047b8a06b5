//! Adult-scale lookup benchmark (see docs/benchmarks.md, "Filter lookups").
//!
//! Database: the union of the 19 real UT1 block categories used by the anchors
//! (`../shared/bench/README.md` beside the repository, 388k domains) plus 4,599,280 synthetic adult-like
//! names from `make_synthetic_adult.py REAL OUT 4599280 42`, where REAL is ALL real UT1
//! domains (every `*/domains`, lower-cased, deduplicated, byte-sorted — as `run_all.sh`
//! does). Inputs are cached in `target/filter-bench/`; the database is compiled on every
//! run so that compile time is measured.
//!
//! Queries: 100k names, 90% misses (real UT1 `press`/`sports`/`bank`/... names not
//! covered by any listed suffix, half with `www.`), 10% hits (listed names, exact or
//! with `www.`/`m.`/`cdn.`), shuffled with a fixed seed, then stored one after another
//! in the order they are asked (see `Queries`).
//!
//! `nice cargo bench -p gatehouse-filter --bench lookup`
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gatehouse_filter::{CompileOptions, Database, ListFormat, Source, compile};

const BLOCK_CATS: [&str; 19] = [
    "agressif",
    "cryptojacking",
    "dangerous_material",
    "dating",
    "ddos",
    "doh",
    "drogue",
    "gambling",
    "hacking",
    "lingerie",
    "malware",
    "mixed_adult",
    "phishing",
    "redirector",
    "residential-proxies",
    "sect",
    "stalkerware",
    "vpn",
    "warez",
];
const ALLOW_CATS: [&str; 16] = [
    "press",
    "sports",
    "bank",
    "jobsearch",
    "shopping",
    "audio-video",
    "blog",
    "liste_bu",
    "cooking",
    "translation",
    "radio",
    "financial",
    "webmail",
    "child",
    "educational_games",
    "forums",
];
const SYNTH: usize = 4_599_280;
const QUERIES: usize = 100_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_names(p: &Path) -> Vec<String> {
    let Ok(bytes) = std::fs::read(p) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('#')
                && !l.replace('.', "").bytes().all(|b| b.is_ascii_digit())
        })
        .collect()
}

fn h64(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Setup {
    db_path: PathBuf,
    queries: Queries,
}

/// Query names stored one after another in one buffer, in the order they are asked.
///
/// A caller's name is in cache when it asks (a DNS server has just received the packet,
/// the squid helper has just read the line); names scattered over the heap, as a shuffled
/// `Vec<String>` leaves them, would add a cache miss per query that belongs to the
/// benchmark and not to the database.
struct Queries {
    text: String,
    ends: Vec<usize>,
}

impl Queries {
    fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Queries {
        let mut q = Queries {
            text: String::new(),
            ends: Vec::new(),
        };
        for n in names {
            q.text.push_str(n);
            q.ends.push(q.text.len());
        }
        q
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(a, b)| &self.text[a..b])
    }
}

fn setup() -> Setup {
    let ut1 = root().join("../shared/data/ut1");
    let cache = root().join("target/filter-bench");
    std::fs::create_dir_all(&cache).unwrap();
    let real_all = cache.join("ut1_all_real_domains.txt");
    if !real_all.exists() {
        let mut all = Vec::new();
        for e in std::fs::read_dir(&ut1).unwrap() {
            all.extend(read_names(&e.unwrap().path().join("domains")));
        }
        all.sort();
        all.dedup();
        std::fs::write(&real_all, all.join("\n") + "\n").unwrap();
    }
    let synth = cache.join(format!("synthetic_adult_{SYNTH}.txt"));
    if !synth.exists() {
        eprintln!("generating {} (about a minute)...", synth.display());
        let st = Command::new("python3")
            .arg(root().join("../shared/bench/anchors/make_synthetic_adult.py"))
            .arg(&real_all)
            .arg(&synth)
            .arg(SYNTH.to_string())
            .arg("42")
            .status()
            .unwrap();
        assert!(st.success());
    }
    let mut sources: Vec<Source> = BLOCK_CATS
        .iter()
        .map(|c| Source::List {
            category: (*c).into(),
            format: ListFormat::Ut1Category,
            path: ut1.join(c),
        })
        .collect();
    sources.push(Source::List {
        category: "adult_synthetic".into(),
        format: ListFormat::Domains,
        path: synth.clone(),
    });
    let db_path = cache.join("adultscale.ghf");
    let mut compiles = Vec::new();
    let mut report = None;
    for _ in 0..3 {
        let t = Instant::now();
        report = Some(
            compile(
                &sources,
                &CompileOptions { created_unix: 0 },
                &db_path,
                &mut |_| {},
            )
            .unwrap(),
        );
        compiles.push(t.elapsed());
    }
    let r = report.unwrap();

    // Query mix.
    let mut listed: Vec<String> = Vec::new();
    for c in BLOCK_CATS {
        listed.extend(read_names(&ut1.join(c).join("domains")));
    }
    listed.extend(read_names(&synth));
    let set: HashSet<u64> = listed.iter().map(|d| h64(d)).collect();
    let covered = |d: &str| {
        let mut s = d;
        loop {
            if set.contains(&h64(s)) {
                return true;
            }
            match s.find('.') {
                Some(i) => s = &s[i + 1..],
                None => return false,
            }
        }
    };
    let mut allowed: Vec<String> = ALLOW_CATS
        .iter()
        .flat_map(|c| read_names(&ut1.join(c).join("domains")))
        .filter(|d| !covered(d))
        .collect();
    allowed.sort();
    allowed.dedup();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let subs = ["www.", "m.", "cdn.", "", "", ""];
    let mut queries: Vec<String> = (0..QUERIES)
        .map(|i| {
            if i % 10 == 0 {
                format!(
                    "{}{}",
                    subs[rng.below(subs.len())],
                    listed[rng.below(listed.len())]
                )
            } else {
                let w = if rng.below(2) == 0 { "www." } else { "" };
                format!("{w}{}", allowed[rng.below(allowed.len())])
            }
        })
        .collect();
    for i in (1..queries.len()).rev() {
        let j = rng.below(i + 1);
        queries.swap(i, j);
    }
    let queries = Queries::new(queries.iter().map(String::as_str));

    // Open + first decision, resident memory.
    let mut opens = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let db = Database::open(&db_path).unwrap();
        black_box(db.lookup(queries.iter().next().unwrap()));
        opens.push(t.elapsed());
    }
    let rss0 = vm_rss_kib();
    let db = Database::open(&db_path).unwrap();
    let mut hits = 0usize;
    for q in queries.iter() {
        hits += usize::from(db.lookup(q).is_some());
    }
    let rss1 = vm_rss_kib();
    let d = r.domains as f64;
    println!("== filter lookup set-up ==");
    println!(
        "domains {} (allowed pool {}), sets {}, file {} bytes = {:.2} B/domain, lookup sections {:.2} B/domain",
        r.domains,
        allowed.len(),
        r.sets,
        r.bytes,
        r.bytes as f64 / d,
        r.domain_bytes as f64 / d
    );
    println!(
        "resident after open + 100k queries: +{} KiB = {:.2} B/domain",
        rss1.saturating_sub(rss0),
        rss1.saturating_sub(rss0) as f64 * 1024.0 / d
    );
    println!(
        "compile median of 3: {:.2} s {:?}",
        median(compiles.clone()).as_secs_f64(),
        compiles
    );
    println!(
        "open + first decision median of 7: {:.2} ms (page cache warm) {:?}",
        median(opens.clone()).as_secs_f64() * 1e3,
        opens
    );
    println!(
        "query mix: {} queries, {} matched ({:.1}%)",
        queries.len(),
        hits,
        hits as f64 * 100.0 / queries.len() as f64
    );
    drop(db);
    Setup { db_path, queries }
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let db = Database::open(&s.db_path).unwrap();
    let mut g = c.benchmark_group("filter_lookup");
    g.throughput(Throughput::Elements(s.queries.len() as u64));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("adultscale_90pct_miss", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for q in s.queries.iter() {
                n += usize::from(db.lookup(black_box(q)).is_some());
            }
            n
        });
    });
    let (hits, misses): (Vec<&str>, Vec<&str>) =
        s.queries.iter().partition(|q| db.lookup(q).is_some());
    for (name, qs) in [("hits_only", hits), ("misses_only", misses)] {
        let qs = Queries::new(qs);
        g.throughput(Throughput::Elements(qs.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0usize;
                for q in qs.iter() {
                    n += usize::from(db.lookup(black_box(q)).is_some());
                }
                n
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
