//! The command line: every subcommand and its options.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Gatehouse: online safety and acceptable use for schools.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file (TOML).
    #[arg(long, global = true, env = "GATEHOUSE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data folder of the installation (overrides the configuration; default ./gatehouse-data).
    #[arg(long, global = true, env = "GATEHOUSE_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Print records as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a fictional demo school (if the data folder is empty) and serve it.
    Demo {
        /// Address for the web server.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        web: SocketAddr,
        /// Address for the DNS filter (UDP and TCP).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8053")]
        dns: SocketAddr,
        #[command(flatten)]
        filter: DnsArgs,
    },
    /// Start the server from the configuration.
    Serve {
        /// Address for the web server (overrides the configuration).
        #[arg(long, value_name = "ADDR")]
        web: Option<SocketAddr>,
        /// Run the DNS filter on this address (UDP and TCP), overriding `[dns]`.
        #[arg(long, value_name = "ADDR")]
        dns: Option<SocketAddr>,
        #[command(flatten)]
        filter: DnsArgs,
    },
    /// Exit 0 when the running server answers its health check.
    Healthcheck {
        /// Base URL of the server (default: from the configuration).
        #[arg(long)]
        url: Option<String>,
    },
    /// Import records.
    Import {
        /// What to import.
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Manage sign-in accounts.
    User {
        /// Action.
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Manage API tokens.
    Token {
        /// Action.
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Write a consistent copy of the database while Gatehouse keeps running.
    Backup {
        /// The new backup file.
        file: PathBuf,
    },
    /// Replace the database with a backup (stop the server first).
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
    /// Check or show the configuration.
    Config {
        /// Action.
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// The audit log.
    Audit {
        /// Action.
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Acceptable use agreements: the register, importing a school's own agreement, the
    /// signature ledger.
    Agreements {
        /// Action.
        #[command(subcommand)]
        action: AgreementsCommand,
    },
    /// Web filter block lists: compile UT1 trees, hosts files, domain and adblock lists;
    /// update from the configured sources.
    Lists {
        /// Action.
        #[command(subcommand)]
        action: ListsCommand,
    },
    /// Show what the web filter does with a host or URL for a group, or answer squid in
    /// batch mode (--batch).
    #[command(after_long_help = CHECK_HELP)]
    Check(CheckArgs),
}

/// `gatehouse import …`
impl Command {
    /// Does the command run servers (the web app, the DNS filter)? They get a worker
    /// thread per core; every other command is one short task, run on the calling thread
    /// (no worker threads to start: `check --batch` under squid starts often).
    pub fn serves(&self) -> bool {
        matches!(self, Command::Demo { .. } | Command::Serve { .. })
    }
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// People from an MIS export (CSV).
    People(ImportPeople),
}

/// Who an import file lists.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// Staff.
    Staff,
    /// Pupils.
    Pupil,
    /// Parents and carers.
    Parent,
    /// Governors.
    Governor,
    /// Visitors.
    Visitor,
    /// Volunteers.
    Volunteer,
}

/// `gatehouse import people …`
#[derive(Debug, Args)]
pub struct ImportPeople {
    /// Who the file lists.
    #[arg(long, value_enum)]
    pub kind: KindArg,
    /// The CSV file.
    pub file: PathBuf,
    /// Show what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the valid rows even if others have problems.
    #[arg(long)]
    pub skip_invalid: bool,
    /// The file is the complete list: mark people missing from it as leavers.
    #[arg(long)]
    pub full: bool,
    /// Read a column as a field, e.g. `--map "Legal Surname=last_name"` (repeatable).
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub map: Vec<String>,
}

/// `gatehouse user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. Prints a generated password unless --password-stdin is given.
    Add {
        /// Username.
        username: String,
        /// Role (repeatable): head, dsl, online_safety_lead, dpo, it_admin, governor, staff, pupil, parent, visitor, trust_admin.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Link to the person with this MIS id (or email, for visitors).
        #[arg(long, value_name = "MIS_ID")]
        person: Option<String>,
        /// The person's kind, to find --person (default staff).
        #[arg(long, value_enum, default_value = "staff")]
        kind: KindArg,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password. Prints a generated one unless --password-stdin is given.
    Passwd {
        /// Username.
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Disable an account: it can no longer sign in; its sessions end and tokens are revoked.
    Disable {
        /// Username.
        username: String,
    },
    /// Enable a disabled account.
    Enable {
        /// Username.
        username: String,
    },
}

/// `gatehouse token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API bearer token acting as a user; shown once, stored hashed.
    Create {
        /// The account the token acts as.
        #[arg(long)]
        user: String,
        /// What the token is for.
        #[arg(long)]
        label: String,
    },
}

/// `gatehouse config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration; exit non-zero naming the problem.
    Check,
    /// Print the effective configuration with secrets masked.
    Show,
}

/// `gatehouse audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's chain; exit non-zero at the first altered entry.
    Verify,
}

/// `gatehouse agreements …`
#[derive(Debug, Subcommand)]
pub enum AgreementsCommand {
    /// Per policy: how many must sign, have signed, are due, overdue or must re-sign.
    Status(AgreementsStatus),
    /// Create a draft policy from a plain text or Markdown file (optionally publish it).
    Import(AgreementsImport),
    /// Check the signature ledger; exit non-zero at the first altered record.
    Verify,
}

/// `gatehouse agreements status …`
#[derive(Debug, Args)]
pub struct AgreementsStatus {
    /// Only this policy: its id, or words of its title.
    #[arg(long, value_name = "ID_OR_TITLE_WORDS")]
    pub policy: Option<String>,
    /// List the people who are overdue.
    #[arg(long)]
    pub overdue: bool,
}

/// `gatehouse agreements import …`
#[derive(Debug, Args)]
pub struct AgreementsImport {
    /// The agreement: plain text (e.g. copied out of Word or a PDF) or Markdown.
    pub file: PathBuf,
    /// Who signs it: staff, governors, visitors, pupils_early, pupils_primary,
    /// pupils_secondary or parents.
    #[arg(long)]
    pub audience: String,
    /// The policy's title (default: the title found in the file).
    #[arg(long)]
    pub title: Option<String>,
    /// Which agreement to take when the file holds several (1, 2, …).
    #[arg(long, value_name = "N")]
    pub part: Option<usize>,
    /// Who owns the policy.
    #[arg(long, default_value = "Headteacher")]
    pub owner: String,
    /// Days people have to sign (0–365).
    #[arg(long, value_name = "N", default_value_t = 14)]
    pub days: u16,
    /// Sign only once (and again after material changes), not every academic year.
    #[arg(long)]
    pub no_annual: bool,
    /// Approve and publish it at once instead of leaving a draft.
    #[arg(long, requires = "approved_by")]
    pub publish: bool,
    /// Who approved it (e.g. "Full governing body"); with --publish.
    #[arg(long, value_name = "WHO", requires = "publish")]
    pub approved_by: Option<String>,
    /// In force from (default today); with --publish.
    #[arg(long, value_name = "DATE", requires = "publish")]
    pub effective: Option<String>,
    /// To be reviewed by (default a year after it comes into force); with --publish.
    #[arg(long, value_name = "DATE", requires = "publish")]
    pub review: Option<String>,
}

/// DNS filter options shared by `serve` and `demo`.
#[derive(Debug, Clone, Args)]
pub struct DnsArgs {
    /// Where allowed queries go: `static:ADDR` (answer every allowed A query with ADDR) or
    /// resolvers `IP:PORT[,IP:PORT…]` (overrides `[dns] upstream`).
    #[arg(long, value_name = "UPSTREAM")]
    pub upstream: Option<String>,
    /// The compiled lists to serve (default: the installation's).
    #[arg(long, value_name = "FILE")]
    pub lists: Option<PathBuf>,
}

/// `gatehouse lists …`
#[derive(Debug, Subcommand)]
pub enum ListsCommand {
    /// Compile block lists into one filter database file (written atomically).
    Compile(ListsCompile),
    /// Rebuild the filter database from the configured sources ([[filter.sources]]),
    /// keeping the current file if a category shrinks too much (filter.max_shrink).
    Update(ListsUpdate),
}

/// `gatehouse lists update …`
#[derive(Debug, Args)]
pub struct ListsUpdate {
    /// Install the new file even if categories shrank by more than filter.max_shrink.
    #[arg(long)]
    pub force: bool,
    /// Compile and check only: show what would change, change nothing.
    #[arg(long, conflicts_with = "force")]
    pub dry_run: bool,
}

/// The format of a list file (`gatehouse lists compile --format`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormatArg {
    /// A hosts file (`0.0.0.0 example.com`).
    Hosts,
    /// One domain per line.
    Domains,
    /// Adblock rules (`||example.com^`).
    Adblock,
}

/// `gatehouse lists compile …`
#[derive(Debug, Args)]
pub struct ListsCompile {
    /// What to compile: UT1 trees (a folder of category folders), UT1 category folders
    /// (holding `domains`/`urls`) or list files (hosts, plain domains or adblock rules; the
    /// format is detected from the content unless --format is given; list files need
    /// --category).
    #[arg(required = true, value_name = "SRC")]
    pub sources: Vec<PathBuf>,
    /// The database file to write (replaced atomically), e.g. <data>/lists/current.gdb.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Category of the list files and UT1 category folders (default for a folder: its
    /// name). Use a Gatehouse category (e.g. `self_harm`) or a UT1 name (e.g. `gambling`).
    #[arg(long, value_name = "NAME")]
    pub category: Option<String>,
    /// Format of the list files (default: detected from their content).
    #[arg(long, value_enum)]
    pub format: Option<ListFormatArg>,
}

/// Extra help of `gatehouse check`.
pub const CHECK_HELP: &str = "\
Examples:
  gatehouse check bet365.com --as ks2
  gatehouse check bet365.com --as j.smith            (a username on this installation)
  gatehouse check https://example.com/page --as ks3_4 --at '2026-01-05 12:30' --json
  gatehouse check bet365.com --as ks2 --lists current.gdb --policies policies.toml
  gatehouse check --batch --lists current.gdb --users users.txt

--as takes a group (policy) name, e.g. eyfs_ks1, ks2, ks3_4, sixth_form, staff, guests,
unidentified, or a username. Group names win. A username is looked up in --users FILE
when given, else in the installation's accounts: the account's person gives the group
(pupils by year group: Nursery to Year 2 eyfs_ks1, Years 3-6 ks2, Years 7-11 ks3_4,
Years 12-13 sixth_form; staff staff; parents, visitors, governors and volunteers
guests; anyone else the policies' fallback). The output says which was used.

--users FILE: one `username group` per line; `#` starts a comment.

Policies: --policies FILE, else the installation's [filter] policies file, else the
shipped defaults. The installation's [filter] allow and deny lists (one host name per
line) apply too.

--at takes an RFC 3339 instant (2026-01-05T12:30:00Z) or a local time
\"YYYY-MM-DD HH:MM\" in the school's time zone; default now.

Batch mode (--batch) is a squid url_rewrite_program (or url_rewrite helper) speaking
squid's helper protocol. squid.conf:
  url_rewrite_program /usr/bin/gatehouse --data /var/lib/gatehouse check --batch
  url_rewrite_children 5 concurrency=0
  url_rewrite_extras \"%>a/%>A %un %>rm\"
Each input line is `URL ip/fqdn user method [kv-pairs]` (with concurrency > 0, a
numeric channel ID first, echoed back). One answer per line, in order; answers are
written as soon as no further request is waiting, so squid never waits for one:
  OK                      allowed (or logged): leave the request alone
  OK status=302 url=\"http://block.gatehouse.invalid/?category=C&host=H\"
                          blocked: redirect to the block page (warned requests get
                          &action=warn for the \"continue anyway\" page)
  BH message=\"…\"        the line could not be read (the helper keeps running)
The user field picks the policy like --as: a group name, else a username (from
--users FILE, else the installation's accounts, read once at start); `-` or an
unknown user gets --as-default (default: the policies' fallback).
--threads N: when many requests arrive at once (concurrency > 0, or a file on
standard input), N threads share them out; answers stay in input order.";

/// `gatehouse check …`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The host name or URL to check.
    #[arg(
        value_name = "HOST|URL",
        required_unless_present = "batch",
        conflicts_with = "batch"
    )]
    pub target: Option<String>,
    /// Who asks: a group (policy) name, e.g. ks2, ks3_4, staff, or a username (see below).
    #[arg(
        long = "as",
        value_name = "USERNAME|GROUP",
        required_unless_present = "batch",
        conflicts_with = "batch"
    )]
    pub who: Option<String>,
    /// When: an RFC 3339 instant or a local "YYYY-MM-DD HH:MM" in the school's time zone
    /// (default now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// The compiled lists (default: the installation's, <data>/lists/current.gdb).
    #[arg(long, value_name = "FILE")]
    pub lists: Option<PathBuf>,
    /// The policies (TOML; default: the installation's [filter] policies, else the
    /// shipped defaults).
    #[arg(long, value_name = "FILE")]
    pub policies: Option<PathBuf>,
    /// Usernames and their groups, one `username group` per line, instead of the
    /// installation's accounts.
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// Answer squid helper lines from standard input (see below).
    #[arg(long)]
    pub batch: bool,
    /// In batch mode: the group of unknown users and of `-` (default: the policies'
    /// fallback).
    #[arg(long, value_name = "GROUP", requires = "batch")]
    pub as_default: Option<String>,
    /// In batch mode: threads answering (when squid sends many requests at once, with
    /// concurrency > 0, they share them out; answers stay in order).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "batch",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,
}
