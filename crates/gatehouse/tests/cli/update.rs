//! `gatehouse lists update` from configured sources (install with `previous.gdb`, the
//! shrink check, `--force`, `--dry-run`, bad configuration), and the demo's compiled
//! lists answering `gatehouse check` with the default policies.

use crate::support::{Site, installation};
use std::path::{Path, PathBuf};

/// Write `n` gambling and `games` domains into the UT1-style tree `root`.
fn tree(root: &Path, gambling: usize, games: usize) {
    for (cat, n) in [("gambling", gambling), ("games", games)] {
        let dir = root.join(cat);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let text: String = (0..n).map(|i| format!("{cat}-{i}.example\n")).collect();
        std::fs::write(dir.join("domains"), text).expect("writing a list");
    }
}

/// A site whose configuration names the tree `ut1/` and a hosts file as sources.
fn site_with_sources() -> (Site, PathBuf, PathBuf) {
    let site = Site::empty();
    let root = site.file("ut1");
    tree(&root, 10, 4);
    let hosts = site.write("malware.txt", "0.0.0.0 bad.example\n");
    let config = site.write(
        "gatehouse.toml",
        format!(
            "[filter]\n[[filter.sources]]\npath = {:?}\n[[filter.sources]]\npath = {:?}\ncategory = \"malware\"\n",
            root.display().to_string(),
            hosts.display().to_string()
        ),
    );
    (site, root, config)
}

fn update(site: &Site, config: &Path, args: &[&str]) -> crate::support::Run {
    let mut cmd = site.command(&["--config"]);
    cmd.arg(config).args(["lists", "update"]).args(args);
    crate::support::Run::of(cmd, None)
}

#[test]
fn update_installs_keeps_the_previous_file_and_refuses_a_shrunk_category() {
    let (site, root, config) = site_with_sources();
    let current = site.data().join("lists/current.gdb");
    let previous = site.data().join("lists/previous.gdb");

    update(&site, &config, &[])
        .ok()
        .says("gambling")
        .says("new")
        .says("Installed");
    assert!(current.is_file() && !previous.exists());
    let first = std::fs::read(&current).expect("reading the lists");

    // Growing is fine; the replaced file is kept.
    tree(&root, 12, 4);
    update(&site, &config, &[])
        .ok()
        .says("+2")
        .says("previous.gdb");
    assert_eq!(std::fs::read(&previous).expect("previous"), first);
    let second = std::fs::read(&current).expect("reading the lists");

    // gambling drops from 12 to 3 entries: refused, the current file stays.
    tree(&root, 3, 4);
    update(&site, &config, &[])
        .fails()
        .complains("kept the current lists")
        .complains("gambling 12 -> 3 entries")
        .complains("--force");
    assert_eq!(std::fs::read(&current).expect("current"), second);

    // A dry run reports the same and changes nothing.
    let json = update(&site, &config, &["--dry-run", "--json"]).ok().json();
    assert_eq!(json["outcome"], "dry_run", "{json}");
    let gambling = json["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["name"] == "gambling")
        .expect("gambling")
        .clone();
    assert_eq!(gambling["before"], 12, "{json}");
    assert_eq!(gambling["after"], 3, "{json}");
    assert_eq!(gambling["shrunk"], true, "{json}");
    assert_eq!(std::fs::read(&current).expect("current"), second);
    assert_eq!(std::fs::read(&previous).expect("previous"), first);

    // --force installs it anyway.
    update(&site, &config, &["--force"])
        .ok()
        .says("Installed despite the shrink check");
    assert_eq!(std::fs::read(&previous).expect("previous"), second);
    let mut names: Vec<String> = std::fs::read_dir(site.data().join("lists"))
        .expect("lists folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["current.gdb", "previous.gdb"]);
}

#[test]
fn update_needs_sources_and_names_bad_keys() {
    let site = Site::empty();
    site.run(&["lists", "update"])
        .fails()
        .complains("no list sources are configured");
    let config = site.write(
        "gatehouse.toml",
        "[filter]\nupdate_at = \"half past three\"\n",
    );
    let mut cmd = site.command(&["--config"]);
    cmd.arg(&config).args(["lists", "update"]);
    crate::support::Run::of(cmd, None)
        .fails()
        .complains("filter.update_at");
    let config = site.write(
        "bad-format.toml",
        "[[filter.sources]]\npath = \"x.txt\"\nformat = \"csv\"\n",
    );
    let mut cmd = site.command(&["--config"]);
    cmd.arg(&config).args(["config", "check"]);
    crate::support::Run::of(cmd, None)
        .fails()
        .complains("filter.sources[0].format");
}

#[test]
fn the_demo_ships_compiled_lists_for_the_default_policies() {
    let site = installation();
    assert!(site.data().join("lists/current.gdb").is_file());
    assert!(site.data().join("lists/demo-ut1/README.md").is_file());
    let check = |host: &str, group: &str| {
        site.run(&["--json", "check", host, "--as", group])
            .ok()
            .json()
    };
    let ks2 = check("www.bet365.com", "ks2");
    assert_eq!(ks2["action"], "block", "{ks2}");
    assert_eq!(ks2["category"], "gambling", "{ks2}");
    // Shopping: blocked for a primary pupil, allowed for staff by the default policies.
    let pupil = check("amazon.co.uk", "ks2");
    assert_eq!(pupil["action"], "block", "{pupil}");
    assert_eq!(pupil["category"], "shopping", "{pupil}");
    let staff = check("amazon.co.uk", "staff");
    assert_eq!(staff["action"], "allow", "{staff}");
    assert_eq!(staff["list_entry"], "amazon.co.uk", "{staff}");
}
