use gatehouse_filter::{Database, Error};

fn sample() -> Vec<u8> {
    use gatehouse_filter::{CompileOptions, ListFormat, Source, compile};
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..40)
        .map(|i| format!("host{i}.example{}.com", i % 7))
        .collect();
    let list = dir.path().join("a.txt");
    std::fs::write(&list, names.join("\n")).unwrap();
    let ut = dir.path().join("cat");
    std::fs::create_dir(&ut).unwrap();
    std::fs::write(ut.join("domains"), "x.org\ny.net\n").unwrap();
    std::fs::write(ut.join("urls"), "example.com/a\nexample.org/b/c\n").unwrap();
    let out = dir.path().join("db.ghf");
    let sources = [
        Source::List {
            category: "a".into(),
            format: ListFormat::Domains,
            path: list,
        },
        Source::List {
            category: "b".into(),
            format: ListFormat::Ut1Category,
            path: ut,
        },
    ];
    let r = compile(
        &sources,
        &CompileOptions { created_unix: 5 },
        &out,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!((r.domains, r.urls), (42, 2));
    std::fs::read(out).unwrap()
}

#[test]
fn intact_file_opens() {
    let db = Database::from_bytes(sample()).unwrap();
    assert!(db.lookup("a.host3.example3.com").is_some());
    assert!(db.url_match("example.org", "/b/c/d").is_some());
}

#[test]
fn every_byte_flip_is_refused() {
    let bytes = sample();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= mask;
            assert!(
                Database::from_bytes(b).is_err(),
                "flip {mask:#x} at byte {i} accepted"
            );
        }
    }
}

#[test]
fn every_truncation_is_refused() {
    let bytes = sample();
    // Section boundaries from the header (6 u64 lengths at 40..88, sections from 96).
    let mut at = 96usize;
    let mut boundaries = vec![0, 8, 40, 96];
    for i in 0..6 {
        let len = u64::from_le_bytes(bytes[40 + 8 * i..48 + 8 * i].try_into().unwrap()) as usize;
        at += len;
        boundaries.push(at);
    }
    assert_eq!(at, bytes.len());
    for &cut in &boundaries[..boundaries.len() - 1] {
        assert!(
            Database::from_bytes(bytes[..cut].to_vec()).is_err(),
            "cut at section boundary {cut}"
        );
    }
    for cut in 0..bytes.len() {
        assert!(
            Database::from_bytes(bytes[..cut].to_vec()).is_err(),
            "cut at {cut}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Database::from_bytes(longer).is_err());
}

#[test]
fn wrong_version_and_open_errors() {
    let mut b = sample();
    b[8] = 9;
    assert!(matches!(
        Database::from_bytes(b),
        Err(Error::Version { found: 9, .. })
    ));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("short");
    std::fs::write(&p, b"GHF").unwrap();
    assert!(matches!(Database::open(&p), Err(Error::Corrupt(_))));
    assert!(matches!(
        Database::open(&dir.path().join("missing")),
        Err(Error::Io { .. })
    ));
}
