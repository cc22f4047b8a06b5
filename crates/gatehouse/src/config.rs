//! Configuration: one typed struct, read from a TOML file, then overridden by
//! `GATEHOUSE_*` environment variables (`__` separates levels, so
//! `GATEHOUSE_WEB__LISTEN=0.0.0.0:8080` sets `web.listen`). A variable ending in `_FILE`
//! names a file holding the value (for secrets: `GATEHOUSE_SMTP__PASSWORD_FILE`).
//! Unknown keys are refused with their name.

use anyhow::{Context, Result};
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The school this installation serves.
    pub school: SchoolConfig,
    /// Where data is kept.
    pub storage: StorageConfig,
    /// The web server.
    pub web: WebConfig,
    /// Sign-in security.
    pub security: SecurityConfig,
    /// Logging.
    pub log: LogConfig,
    /// Email: reminders and digests.
    pub email: EmailConfig,
    /// Web filtering: compiled lists, policies, the school's own lists.
    pub filter: FilterConfig,
    /// The activity log of the DNS filter: how long it is kept.
    pub activity: ActivityConfig,
    /// The DNS filter server; `gatehouse serve` runs it when this section is present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<gatehouse_dns::DnsConfig>,
}

/// `[activity]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ActivityConfig {
    /// Days raw DNS events are kept (then folded into daily counts).
    pub raw_days: u32,
    /// Days the daily counts are kept.
    pub daily_days: u32,
    /// The monitoring rules (TOML, in the format of the shipped rules, which are used when
    /// this is not set); relative to the data folder.
    pub monitoring_rules: Option<PathBuf>,
}

impl Default for ActivityConfig {
    fn default() -> Self {
        Self {
            raw_days: gatehouse_activity::DEFAULT_RAW_DAYS,
            daily_days: gatehouse_activity::DEFAULT_AGGREGATE_DAYS,
            monitoring_rules: None,
        }
    }
}

/// `[filter]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FilterConfig {
    /// The compiled category database (default: `lists/current.gdb` in the data folder).
    pub database: Option<PathBuf>,
    /// The school's policies (TOML, in the format of the shipped defaults, which are used
    /// when this is not set).
    pub policies: Option<PathBuf>,
    /// The school's allow list: one host name per line, covering its subdomains.
    pub allow: Option<PathBuf>,
    /// The school's deny list: one host name per line, covering its subdomains.
    pub deny: Option<PathBuf>,
    /// Where `gatehouse lists update` reads lists from (`[[filter.sources]]`).
    pub sources: Vec<ListSourceConfig>,
    /// Local time "HH:MM" in the school's time zone for the daily rebuild in
    /// `gatehouse serve`; empty: never.
    pub update_at: String,
    /// Refuse an update in which a category loses more than this share of its entries.
    pub max_shrink: f64,
    /// The signing gate: `off`, `audit` (log who would be held) or `enforce` (people with
    /// an agreement overdue reach only the portal until they sign).
    pub gate: gatehouse_filter::GateMode,
    /// Hold devices nobody has signed in on at the portal too (when the gate is on).
    pub gate_unidentified: bool,
    /// Host names reachable through the gate (e.g. the school's sign-in provider).
    pub walled_garden: Vec<String>,
    /// How long a portal sign-in binds a device to its person, in hours.
    pub portal_hours: i64,
}

impl Default for FilterConfig {
    fn default() -> Self {
        Self {
            database: None,
            policies: None,
            allow: None,
            deny: None,
            sources: Vec::new(),
            update_at: String::new(),
            max_shrink: gatehouse_filter::update::DEFAULT_MAX_SHRINK,
            gate: gatehouse_filter::GateMode::Off,
            gate_unidentified: false,
            walled_garden: Vec::new(),
            portal_hours: 8,
        }
    }
}

/// One `[[filter.sources]]` table.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListSourceConfig {
    /// A folder (UT1 tree or category folder), a `.tar.gz`/`.tgz` archive of one, or a
    /// single list file; relative to the data folder.
    pub path: PathBuf,
    /// Format of a single list file: `hosts`, `domains` or `adblock` (default: detected);
    /// `ut1` for folders and archives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Category of a single list file (required) or of one UT1 category folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl Config {
    /// The compiled category database's path.
    pub fn filter_database(&self) -> PathBuf {
        self.filter.database.as_ref().map_or_else(
            || self.storage.data_dir.join("lists").join("current.gdb"),
            |p| self.data_path(p),
        )
    }

    /// A path from the `[filter]` section: relative paths are taken from the data folder
    /// (as `[[filter.sources]]` paths are), absolute ones as they are.
    pub fn data_path(&self, path: &Path) -> PathBuf {
        self.storage.data_dir.join(path)
    }

    /// The configured list sources, checked; relative paths are taken from the data
    /// folder. Errors name the key (`filter.sources[N].format`).
    pub fn filter_sources(&self) -> Result<Vec<gatehouse_filter::SourceSpec>> {
        use gatehouse_filter::ListFormat;
        let mut out = Vec::new();
        for (i, s) in self.filter.sources.iter().enumerate() {
            let key = format!("filter.sources[{i}]");
            if s.path.as_os_str().is_empty() {
                anyhow::bail!("configuration: {key}.path is empty");
            }
            let format = match s.format.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(name) => Some(ListFormat::from_name(name).with_context(|| {
                    format!(
                        "configuration: {key}.format = {name:?}: expected ut1, hosts, domains or adblock"
                    )
                })?),
            };
            let category = match s.category.as_deref().map(str::trim) {
                None => None,
                Some("") => anyhow::bail!("configuration: {key}.category is empty"),
                Some(c) => Some(c.to_owned()),
            };
            out.push(gatehouse_filter::SourceSpec {
                path: self.storage.data_dir.join(&s.path),
                format,
                category,
            });
        }
        Ok(out)
    }

    /// `filter.update_at` as a local time (`None`: no scheduled rebuild).
    pub fn filter_update_at(&self) -> Result<Option<jiff::civil::Time>> {
        let text = self.filter.update_at.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let two_digits = |s: Option<&str>| {
            s.is_some_and(|s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        };
        let shaped =
            two_digits(text.get(..2)) && text.get(2..3) == Some(":") && two_digits(text.get(3..));
        shaped
            .then(|| jiff::civil::Time::strptime("%H:%M", text).ok())
            .flatten()
            .map(Some)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "configuration: filter.update_at = {text:?}: expected a local time HH:MM (e.g. \"03:30\"), or \"\" for no scheduled update"
                )
            })
    }

    /// Check the `[filter]` keys that serde cannot check by their type.
    pub fn validate(&self) -> Result<()> {
        let m = self.filter.max_shrink;
        if !(0.0..=1.0).contains(&m) {
            anyhow::bail!(
                "configuration: filter.max_shrink = {m}: expected a share between 0 and 1 (0.5 refuses an update in which a category loses more than half its entries)"
            );
        }
        let h = self.filter.portal_hours;
        if !(1..=168).contains(&h) {
            anyhow::bail!(
                "configuration: filter.portal_hours = {h}: expected between 1 and 168 hours"
            );
        }
        for (i, name) in self.filter.walled_garden.iter().enumerate() {
            gatehouse_filter::normalise_domain(name).map_err(|e| {
                anyhow::anyhow!(
                    "configuration: filter.walled_garden entry {} ({name:?}) is not a host name: {e}",
                    i + 1
                )
            })?;
        }
        self.filter_update_at()?;
        self.filter_sources()?;
        Ok(())
    }
}

/// `[email]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Sender, e.g. `Gatehouse <gatehouse@school.sch.uk>`.
    pub from: String,
    /// The address people use to reach Gatehouse, for links in emails (default: from `web.listen`).
    pub base_url: String,
    /// SMTP server; empty writes messages into `outbox/` in the data folder instead.
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u16,
    /// SMTP user name.
    pub smtp_username: String,
    /// SMTP password (prefer `GATEHOUSE_EMAIL__SMTP_PASSWORD_FILE`).
    pub smtp_password: String,
    /// `starttls`, `tls` or `none`.
    pub smtp_security: String,
    /// Send reminders to sign and the weekly digest.
    pub reminders: bool,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            from: "Gatehouse <gatehouse@localhost>".into(),
            base_url: String::new(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_username: String::new(),
            smtp_password: String::new(),
            smtp_security: "starttls".into(),
            reminders: true,
        }
    }
}

/// `[school]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SchoolConfig {
    /// Name used when the installation is first set up.
    pub name: String,
}

/// `[storage]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Folder holding the database and other files.
    pub data_dir: PathBuf,
}

/// `[web]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Mark cookies Secure: set when users reach Gatehouse over HTTPS.
    pub secure_cookies: bool,
    /// A notice shown on every page (empty for none).
    pub banner: String,
    /// Reverse proxies (subnets) whose `X-Forwarded-For` header names the client of a
    /// DNS-over-HTTPS request; by default the proxy on the same host.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// `[security]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Require two-step sign-in for roles that reach sensitive records.
    pub require_mfa: bool,
    /// Hours a sign-in lasts.
    pub session_hours: i64,
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug` or a tracing filter such as `gatehouse=debug`.
    pub level: String,
}

impl Default for SchoolConfig {
    fn default() -> Self {
        Self {
            name: "My School".into(),
        }
    }
}
impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("gatehouse-data"),
        }
    }
}
impl Default for WebConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            secure_cookies: false,
            banner: String::new(),
            trusted_proxies: ["127.0.0.0/8", "::1/128"]
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect(),
        }
    }
}
impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            require_mfa: true,
            session_hours: 12,
        }
    }
}
impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
        }
    }
}

/// Environment variables that are command-line options, not configuration keys.
const NOT_CONFIG: [&str; 2] = ["CONFIG", "DATA"];

impl Config {
    /// Load from `file` (if given), then the environment `vars` (normally `std::env::vars()`).
    pub fn load(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                anyhow::bail!("configuration file {} does not exist", f.display());
            }
            fig = fig.merge(Toml::file_exact(f));
        }
        let mut plain = Vec::new();
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix("GATEHOUSE_") else {
                continue;
            };
            if NOT_CONFIG.contains(&rest) {
                continue;
            }
            let (key, value) = match rest.strip_suffix("_FILE") {
                Some(k) => {
                    let v = std::fs::read_to_string(&value)
                        .with_context(|| format!("reading {name}={value}"))?;
                    (k.to_owned(), v.trim_end_matches(['\r', '\n']).to_owned())
                }
                None => (rest.to_owned(), value),
            };
            let path = key.to_ascii_lowercase().replace("__", ".");
            plain.push((path, value));
        }
        for (path, value) in plain {
            // Values are parsed like TOML values where they can be (numbers, booleans),
            // as strings otherwise: the same rules as figment's own Env provider.
            let parsed: figment::value::Value = value
                .parse()
                .unwrap_or(figment::value::Value::from(value.clone()));
            fig = fig.merge((path, parsed));
        }
        let config = fig.extract::<Config>().map_err(|e| {
            let msgs: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
            anyhow::anyhow!("configuration: {}", msgs.join("; "))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration as TOML, with secret values masked.
    pub fn to_masked_toml(&self) -> Result<String> {
        let mut value = toml::Value::try_from(self)?;
        mask(&mut value);
        Ok(toml::to_string_pretty(&value)?)
    }

    /// The address people use to reach this server: `email.base_url`, else the address
    /// it listens on (`web`, which may differ from `web.listen` on the command line).
    pub fn base_url(&self, web: std::net::SocketAddr) -> String {
        match self.email.base_url.trim() {
            "" => format!("http://{web}"),
            b => b.trim_end_matches('/').to_owned(),
        }
    }

    /// The mailer this configuration describes.
    pub fn mailer(&self) -> Result<gatehouse_service::mail::Mailer> {
        use gatehouse_service::mail::{Mailer, SmtpSettings, Transport};
        let e = &self.email;
        let transport = if e.smtp_host.trim().is_empty() {
            Transport::Outbox(self.storage.data_dir.join("outbox"))
        } else {
            if !["starttls", "tls", "none"].contains(&e.smtp_security.as_str()) {
                anyhow::bail!("configuration: email.smtp_security must be starttls, tls or none");
            }
            Transport::Smtp(SmtpSettings {
                host: e.smtp_host.trim().to_owned(),
                port: e.smtp_port,
                username: Some(e.smtp_username.clone()).filter(|u| !u.is_empty()),
                password: Some(e.smtp_password.clone()).filter(|p| !p.is_empty()),
                security: e.smtp_security.clone(),
            })
        };
        let base = if e.base_url.trim().is_empty() {
            format!("http://{}", self.web.listen)
        } else {
            e.base_url.trim().to_owned()
        };
        Ok(Mailer::new(&e.from, transport, &base)?)
    }

    /// Path of the SQLite database.
    pub fn database_path(&self) -> PathBuf {
        self.storage.data_dir.join("gatehouse.db")
    }
}

fn mask(v: &mut toml::Value) {
    if let toml::Value::Table(t) = v {
        for (k, v) in t.iter_mut() {
            if ["password", "secret", "token", "key"]
                .iter()
                .any(|s| k.contains(s))
                && v.is_str()
            {
                *v = toml::Value::String("********".into());
            } else {
                mask(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_serve_one_school_on_localhost() {
        let c = Config::load(None, vars(&[])).unwrap();
        assert_eq!(c.web.listen.to_string(), "127.0.0.1:8080");
        assert!(c.security.require_mfa);
        assert_eq!(
            c.database_path(),
            PathBuf::from("gatehouse-data/gatehouse.db")
        );
    }

    #[test]
    fn file_then_environment() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "[web]\nlisten = \"127.0.0.1:9000\"\nbanner = \"from file\"\n[school]\nname = \"Oak Academy\"").unwrap();
        let c = Config::load(
            Some(f.path()),
            vars(&[
                ("GATEHOUSE_WEB__BANNER", "from env"),
                ("GATEHOUSE_SECURITY__SESSION_HOURS", "4"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.web.listen.port(), 9000);
        assert_eq!(c.web.banner, "from env");
        assert_eq!(c.school.name, "Oak Academy");
        assert_eq!(c.security.session_hours, 4);
    }

    #[test]
    fn file_variables_read_secrets_from_files() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "Secret School").unwrap();
        let path = f.path().to_str().unwrap().to_owned();
        let c = Config::load(None, vars(&[("GATEHOUSE_SCHOOL__NAME_FILE", &path)])).unwrap();
        assert_eq!(c.school.name, "Secret School");
    }

    #[test]
    fn unknown_keys_are_named() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "[web]\nlisen = \"127.0.0.1:9000\"").unwrap();
        let err = Config::load(Some(f.path()), vars(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("lisen"), "{err}");
        let err = Config::load(None, vars(&[("GATEHOUSE_WEB__PROT", "1")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("prot"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = Config::load(None, vars(&[("GATEHOUSE_WEB__LISTEN", "not an address")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen"), "{err}");
    }

    #[test]
    fn masked_output_hides_secrets() {
        let mut v = toml::Value::try_from(Config::default()).unwrap();
        if let toml::Value::Table(t) = &mut v {
            t.insert("smtp".into(), toml::toml! { password = "hunter2" }.into());
        }
        mask(&mut v);
        let s = toml::to_string(&v).unwrap();
        assert!(!s.contains("hunter2") && s.contains("********"));
    }

    #[test]
    fn filter_sources_schedule_and_shrink() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "[storage]\ndata_dir = \"site\"\n[filter]\nupdate_at = \"03:30\"\nmax_shrink = 0.25\n[[filter.sources]]\npath = \"ut1/blacklists.tar.gz\"\n[[filter.sources]]\npath = \"/srv/lists/hosts.txt\"\nformat = \"hosts\"\ncategory = \"malware\""
        )
        .unwrap();
        let c = Config::load(Some(f.path()), vars(&[])).unwrap();
        assert_eq!(c.filter.max_shrink, 0.25);
        assert_eq!(
            c.filter_update_at().unwrap(),
            Some(jiff::civil::time(3, 30, 0, 0))
        );
        let s = c.filter_sources().unwrap();
        assert_eq!(s[0].path, PathBuf::from("site/ut1/blacklists.tar.gz"));
        assert_eq!(s[0].format, None);
        assert_eq!(s[1].path, PathBuf::from("/srv/lists/hosts.txt"));
        assert_eq!(s[1].format, Some(gatehouse_filter::ListFormat::Hosts));
        assert_eq!(s[1].category.as_deref(), Some("malware"));
        // Defaults: no sources, no schedule, half.
        let d = Config::load(None, vars(&[])).unwrap();
        assert_eq!(d.filter.max_shrink, 0.5);
        assert_eq!(d.filter_update_at().unwrap(), None);
        assert!(d.filter_sources().unwrap().is_empty());
    }

    #[test]
    fn bad_filter_keys_are_named() {
        let err = |text: &str| {
            let mut f = tempfile::NamedTempFile::new().unwrap();
            writeln!(f, "{text}").unwrap();
            Config::load(Some(f.path()), vars(&[]))
                .unwrap_err()
                .to_string()
        };
        let e = err("[filter]\nupdate_at = \"3 am\"");
        assert!(e.contains("filter.update_at") && e.contains("HH:MM"), "{e}");
        let e = err("[filter]\nupdate_at = \"7:5\"");
        assert!(e.contains("filter.update_at"), "{e}");
        let e = err("[filter]\nupdate_at = \"25:00\"");
        assert!(e.contains("filter.update_at"), "{e}");
        let e = err("[filter]\nmax_shrink = 1.5");
        assert!(e.contains("filter.max_shrink"), "{e}");
        let e = err("[[filter.sources]]\npath = \"a.txt\"\nformat = \"csv\"");
        assert!(
            e.contains("filter.sources[0].format") && e.contains("csv"),
            "{e}"
        );
        let e = err("[[filter.sources]]\npath = \"\"");
        assert!(e.contains("filter.sources[0].path"), "{e}");
        let e = err("[[filter.sources]]\npath = \"a\"\nkind = \"x\"");
        assert!(e.contains("kind"), "{e}");
    }

    #[test]
    fn dns_section_turns_the_dns_filter_on_and_shows_again() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "[dns]\nudp = [\"127.0.0.1:5353\"]\nupstream = \"static:192.0.2.1\"\n[[dns.bindings]]\nname = \"Staff VLAN\"\nsubnet = \"10.0.1.0/24\"\ngroup = \"staff\""
        )
        .unwrap();
        let c = Config::load(Some(f.path()), vars(&[])).unwrap();
        let dns = c.dns.clone().expect("[dns] present");
        assert_eq!(dns.bindings.len(), 1);
        assert_eq!(
            dns.upstream,
            gatehouse_dns::Upstream::parse("static:192.0.2.1").unwrap()
        );
        let shown = toml::to_string(&toml::Value::try_from(&c).unwrap()).unwrap();
        assert!(shown.contains("static:192.0.2.1"), "{shown}");
        assert!(Config::load(None, vars(&[])).unwrap().dns.is_none());
        let err = Config::load(None, vars(&[("GATEHOUSE_DNS__UPSTREAM", "static:nope")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("static"), "{err}");
    }

    #[test]
    fn filter_paths_are_taken_from_the_data_folder() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "[storage]\ndata_dir = \"site\"\n[filter]\ndatabase = \"lists/other.gdb\"\n[activity]\nraw_days = 30"
        )
        .unwrap();
        let c = Config::load(Some(f.path()), vars(&[])).unwrap();
        assert_eq!(c.filter_database(), Path::new("site/lists/other.gdb"));
        assert_eq!(
            c.data_path(Path::new("/srv/deny.txt")),
            Path::new("/srv/deny.txt")
        );
        assert_eq!((c.activity.raw_days, c.activity.daily_days), (30, 730));
    }
}
