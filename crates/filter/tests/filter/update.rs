//! `update`: install with `previous.gdb`, refuse a shrinking category (and `force`),
//! dry runs, `.tar.gz` sources (UT1's `blacklists/` top folder, symlink aliases) and
//! unsafe archives.

use std::fs;
use std::path::{Path, PathBuf};

use gatehouse_filter::update::{PREVIOUS_NAME, extract_tar_gz};
use gatehouse_filter::{
    Database, Error, ListFormat, Outcome, SourceSpec, UpdateOptions, UpdateProgress, update,
};

/// A UT1-style tree in `dir/name`: category -> domains.
fn tree(dir: &Path, name: &str, cats: &[(&str, usize)]) -> PathBuf {
    let root = dir.join(name);
    for (cat, n) in cats {
        let d = root.join(cat);
        fs::create_dir_all(&d).unwrap();
        let text: String = (0..*n).map(|i| format!("{cat}-{i}.example\n")).collect();
        fs::write(d.join("domains"), text).unwrap();
    }
    root
}

fn spec(path: &Path) -> SourceSpec {
    SourceSpec {
        path: path.to_path_buf(),
        format: None,
        category: None,
    }
}

fn options(dir: &Path) -> UpdateOptions {
    let mut o = UpdateOptions::new(dir.join("data/lists/current.gdb"), dir.join("data"));
    o.created_unix = 1;
    o
}

fn domains(path: &Path, category: &str) -> u64 {
    let db = Database::open(path).unwrap();
    db.category_by_name(category).unwrap().domains
}

/// Files in `dir` (names), sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn installs_and_keeps_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let first = tree(dir.path(), "v1", &[("gambling", 10), ("games", 4)]);
    let o = options(dir.path());
    let mut seen = Vec::new();
    let r = update(&[spec(&first)], &o, &mut |p| {
        if let UpdateProgress::Compiling(gatehouse_filter::Progress::Reading { category, .. }) = p {
            seen.push(category.to_owned());
        }
    })
    .unwrap();
    assert_eq!(r.outcome, Outcome::Installed { previous: None });
    assert_eq!(seen, ["gambling", "games"]);
    assert_eq!(domains(&o.target, "gambling"), 10);

    // Grows gambling, shrinks games by exactly half (allowed), adds chat.
    let second = tree(
        dir.path(),
        "v2",
        &[("gambling", 12), ("games", 2), ("chat", 3)],
    );
    let r = update(&[spec(&second)], &o, &mut |_| {}).unwrap();
    let previous = o.target.with_file_name(PREVIOUS_NAME);
    assert_eq!(
        r.outcome,
        Outcome::Installed {
            previous: Some(previous.clone())
        }
    );
    assert!(r.installed() && r.shrunk.is_empty());
    assert_eq!(domains(&o.target, "gambling"), 12);
    assert_eq!(domains(&previous, "gambling"), 10);
    let games = r.changes.iter().find(|c| c.name == "games").unwrap();
    assert_eq!((games.before, games.after), (Some(4), Some(2)));
    let chat = r.changes.iter().find(|c| c.name == "chat").unwrap();
    assert_eq!((chat.before, chat.after), (None, Some(3)));
    // Only the two database files are left in the lists folder, and no extraction
    // folder in the data folder.
    assert_eq!(
        names(o.target.parent().unwrap()),
        ["current.gdb", "previous.gdb"]
    );
    assert_eq!(names(&o.work_dir), ["lists"]);
}

#[test]
fn a_shrinking_category_keeps_the_current_file_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let first = tree(dir.path(), "v1", &[("gambling", 10), ("games", 4)]);
    let mut o = options(dir.path());
    update(&[spec(&first)], &o, &mut |_| {}).unwrap();
    let before = fs::read(&o.target).unwrap();

    // gambling loses 6 of 10 (more than half), games vanishes.
    let broken = tree(dir.path(), "v2", &[("gambling", 4)]);
    let r = update(&[spec(&broken)], &o, &mut |_| {}).unwrap();
    assert_eq!(r.outcome, Outcome::Refused);
    assert!(!r.installed());
    let shrunk: Vec<(&str, Option<u64>, Option<u64>)> = r
        .shrunk
        .iter()
        .map(|c| (c.name.as_str(), c.before, c.after))
        .collect();
    assert_eq!(
        shrunk,
        [("gambling", Some(10), Some(4)), ("games", Some(4), None)]
    );
    assert_eq!(
        fs::read(&o.target).unwrap(),
        before,
        "current file untouched"
    );
    assert_eq!(names(o.target.parent().unwrap()), ["current.gdb"]);

    // A looser limit lets gambling through but not the vanished category.
    o.max_shrink = 0.7;
    let r = update(&[spec(&broken)], &o, &mut |_| {}).unwrap();
    assert_eq!(r.outcome, Outcome::Refused);
    assert_eq!(r.shrunk.len(), 1);
    assert_eq!(r.shrunk[0].name, "games");

    o.force = true;
    let r = update(&[spec(&broken)], &o, &mut |_| {}).unwrap();
    assert!(matches!(r.outcome, Outcome::Forced { previous: Some(_) }));
    assert_eq!(domains(&o.target, "gambling"), 4);
    assert_eq!(
        fs::read(o.target.with_file_name(PREVIOUS_NAME)).unwrap(),
        before
    );
}

#[test]
fn a_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = tree(dir.path(), "v1", &[("gambling", 3)]);
    let mut o = options(dir.path());
    o.dry_run = true;
    let r = update(&[spec(&first)], &o, &mut |_| {}).unwrap();
    assert_eq!(r.outcome, Outcome::DryRun);
    assert_eq!(r.compile.domains, 3);
    assert!(!o.work_dir.exists(), "the data folder was not even created");
    assert!(!r.compile.path.exists(), "the compiled file was removed");

    // Over an installed file: it stays, and nothing is added beside it.
    o.dry_run = false;
    update(&[spec(&first)], &o, &mut |_| {}).unwrap();
    let before = fs::read(&o.target).unwrap();
    o.dry_run = true;
    let smaller = tree(dir.path(), "v2", &[("gambling", 1)]);
    let r = update(&[spec(&smaller)], &o, &mut |_| {}).unwrap();
    assert_eq!(r.outcome, Outcome::DryRun);
    assert_eq!(
        r.shrunk.len(),
        1,
        "a dry run still reports the shrink check"
    );
    assert_eq!(fs::read(&o.target).unwrap(), before);
    assert_eq!(names(o.target.parent().unwrap()), ["current.gdb"]);
    assert_eq!(names(&o.work_dir), ["lists"]);
}

/// Write a .tar.gz holding `files` (path, contents) and `links` (path, target).
fn archive(path: &Path, files: &[(&str, &str)], links: &[(&str, &str)]) {
    let out = fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (name, text) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Written straight into the header: the builder itself refuses `..` paths.
        let raw = &mut h.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, text.as_bytes()).unwrap();
    }
    for (name, target) in links {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, name, target).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
}

#[test]
fn a_ut1_archive_with_a_top_folder_is_a_source() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = dir.path().join("blacklists.tar.gz");
    archive(
        &tgz,
        &[
            (
                "blacklists/gambling/domains",
                "bet.example\ncasino.example\n",
            ),
            ("blacklists/adult/domains", "porn.example\n"),
            ("blacklists/adult/urls", "site.example/adult\n"),
            ("blacklists/README", "UT1\n"),
        ],
        &[("blacklists/porn", "adult")],
    );
    let hosts = dir.path().join("malware.txt");
    fs::write(&hosts, "0.0.0.0 bad.example\n0.0.0.0 worse.example\n").unwrap();
    let o = options(dir.path());
    let mut extracted = Vec::new();
    let r = update(
        &[
            spec(&tgz),
            SourceSpec {
                path: hosts,
                format: None,
                category: Some("malware".into()),
            },
        ],
        &o,
        &mut |p| {
            if let UpdateProgress::Extracting { archive } = p {
                extracted.push(archive.to_path_buf());
            }
        },
    )
    .unwrap();
    assert!(r.installed());
    assert_eq!(extracted, std::slice::from_ref(&tgz));
    let db = Database::open(&o.target).unwrap();
    db.verify().unwrap();
    assert_eq!(db.category_by_name("gambling").unwrap().domains, 2);
    assert_eq!(db.category_by_name("malware").unwrap().domains, 2);
    let adult = db.category_by_name("adult").unwrap();
    assert_eq!((adult.domains, adult.urls), (1, 1));
    assert_eq!(adult.aliases, ["porn"]);
    assert!(db.lookup("www.bet.example").is_some());
    // The extraction folder is gone.
    assert_eq!(names(&o.work_dir), ["lists"]);
}

#[test]
fn a_single_category_archive_takes_its_folder_or_archive_name() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = dir.path().join("gambling.tgz");
    archive(&tgz, &[("gambling/domains", "bet.example\n")], &[]);
    let o = options(dir.path());
    update(&[spec(&tgz)], &o, &mut |_| {}).unwrap();
    assert_eq!(domains(&o.target, "gambling"), 1);
    // List files at the top of the archive: the archive names the category.
    let flat = dir.path().join("games.tar.gz");
    archive(
        &flat,
        &[
            (
                "domains",
                "play.example
",
            ),
            (
                "urls",
                "site.example/games
",
            ),
        ],
        &[],
    );
    let o = options(&dir.path().join("second"));
    let r = update(&[spec(&flat)], &o, &mut |_| {}).unwrap();
    assert!(r.installed());
    assert_eq!(r.compile.categories.len(), 1);
    assert_eq!(r.compile.categories[0].name, "games");
    assert_eq!(
        (
            r.compile.categories[0].domains,
            r.compile.categories[0].urls
        ),
        (1, 1)
    );
}

#[test]
fn unsafe_archives_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (i, bad) in ["../escape/domains", "/srv/abs/domains", "a/../../b"]
        .iter()
        .enumerate()
    {
        let tgz = dir.path().join(format!("bad{i}.tar.gz"));
        archive(
            &tgz,
            &[("ok/domains", "fine.example\n"), (bad, "x.example\n")],
            &[],
        );
        let o = options(dir.path());
        let err = update(&[spec(&tgz)], &o, &mut |_| {}).unwrap_err();
        assert!(matches!(err, Error::Update(_)), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("bad{i}.tar.gz")) && msg.contains("outside"),
            "{msg}"
        );
        assert!(!o.target.exists());
        assert!(!dir.path().join("escape").exists());
    }
    // Too large.
    let big = dir.path().join("big.tar.gz");
    archive(
        &big,
        &[("gambling/domains", &"x.example\n".repeat(100))],
        &[],
    );
    let dest = dir.path().join("out");
    let err = extract_tar_gz(&big, &dest, 500).unwrap_err().to_string();
    assert!(err.contains("more than 500 bytes"), "{err}");
    assert_eq!(
        extract_tar_gz(&big, &dir.path().join("out2"), 5000).unwrap(),
        1000
    );
    // Links to anything but a sibling name are not followed or created.
    let links = dir.path().join("links.tar.gz");
    archive(
        &links,
        &[("t/gambling/domains", "bet.example\n")],
        &[("t/etc", "/etc"), ("t/up", "../x"), ("t/alias", "gambling")],
    );
    let dest = dir.path().join("out3");
    extract_tar_gz(&links, &dest, 5000).unwrap();
    assert!(!dest.join("t/etc").exists() && !dest.join("t/up").exists());
    assert_eq!(
        fs::read_to_string(dest.join("t/alias")).unwrap(),
        "gambling"
    );
    assert!(
        !fs::symlink_metadata(dest.join("t/alias"))
            .unwrap()
            .is_symlink()
    );
}

#[test]
fn bad_sources_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let o = options(dir.path());
    let err = update(&[], &o, &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("no list sources"), "{err}");
    let list = dir.path().join("list.txt");
    fs::write(&list, "a.example\n").unwrap();
    let err = update(&[spec(&list)], &o, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("list.txt") && err.contains("needs a category"),
        "{err}"
    );
    let missing = dir.path().join("missing");
    let err = update(&[spec(&missing)], &o, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing"), "{err}");
    let t = tree(dir.path(), "t", &[("games", 1)]);
    let err = update(
        &[SourceSpec {
            path: t.clone(),
            format: Some(ListFormat::Hosts),
            category: None,
        }],
        &o,
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("single list file"), "{err}");
    let err = update(
        &[SourceSpec {
            path: t,
            format: None,
            category: Some("games".into()),
        }],
        &o,
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("whole UT1 tree"), "{err}");
    assert!(!o.target.exists());
}

#[test]
fn a_reloader_swaps_in_an_updated_file() {
    let dir = tempfile::tempdir().unwrap();
    let first = tree(dir.path(), "v1", &[("gambling", 2)]);
    let o = options(dir.path());
    update(&[spec(&first)], &o, &mut |_| {}).unwrap();
    let shared = gatehouse_filter::Shared::new(Database::open(&o.target).unwrap());
    let mut reloader = gatehouse_filter::update::Reloader::new(&o.target);
    let mut poll = |shared: &gatehouse_filter::Shared| -> gatehouse_filter::Result<bool> {
        Ok(match reloader.poll()? {
            Some(db) => {
                shared.store(db);
                true
            }
            None => false,
        })
    };
    assert!(!poll(&shared).unwrap(), "nothing changed yet");
    assert!(shared.load().lookup("games-0.example").is_none());

    let second = tree(dir.path(), "v2", &[("gambling", 2), ("games", 1)]);
    update(&[spec(&second)], &o, &mut |_| {}).unwrap();
    assert!(poll(&shared).unwrap());
    assert!(shared.load().lookup("games-0.example").is_some());
    assert!(!poll(&shared).unwrap(), "seen once");

    // A broken file (renamed into place: files in service are never edited) is reported
    // and the database in service stays.
    let broken = dir.path().join("broken.gdb");
    fs::write(&broken, b"not a database").unwrap();
    fs::rename(&broken, &o.target).unwrap();
    assert!(poll(&shared).is_err());
    assert!(shared.load().lookup("games-0.example").is_some());
    assert!(!poll(&shared).unwrap(), "reported once");
}
