//! Incidents and concerns: their kinds, severities and statuses, the entries of a
//! chronology, the sanctions that change the web filter, and the data-breach rules (the
//! 72-hour ICO deadline, the decision whether to report).
//!
//! Who may see which kind of record is decided in [`crate::permissions`]
//! ([`crate::permissions::incident_access`]).

use crate::DomainError;
use jiff::{SignedDuration, Timestamp};

macro_rules! named {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal / $label:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v,)+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$(Self::$v,)+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s,)+ }
            }

            /// A label for pages.
            pub fn label(self) -> &'static str {
                match self { $(Self::$v => $label,)+ }
            }

            /// Parse a stored or submitted name; `field` names the form field in the error.
            pub fn parse(field: &'static str, s: &str) -> Result<Self, DomainError> {
                let t = s.trim();
                Self::ALL.iter().copied().find(|v| v.as_str() == t).ok_or_else(|| {
                    DomainError::invalid(
                        field,
                        format!(
                            "'{t}' is not one of {}",
                            Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    )
                })
            }
        }
    };
}

named! {
    /// What kind of record an incident is.
    IncidentKind {
        /// An online-safety incident.
        OnlineSafety = "online_safety" / "Online-safety incident",
        /// A safeguarding concern about a child.
        Safeguarding = "safeguarding" / "Safeguarding concern",
        /// Cyberbullying.
        Cyberbullying = "cyberbullying" / "Cyberbullying",
        /// Inappropriate content seen, made or shared.
        InappropriateContent = "inappropriate_content" / "Inappropriate content",
        /// Sharing of nude or semi-nude images.
        NudeImageSharing = "nude_image_sharing" / "Nude or semi-nude image sharing",
        /// A radicalisation concern (Prevent).
        Radicalisation = "radicalisation" / "Radicalisation concern (Prevent)",
        /// Misuse of a device or system.
        DeviceMisuse = "device_misuse" / "Device or system misuse",
        /// The web filter let something through it should have blocked (or the reverse).
        FilteringFailure = "filtering_failure" / "Filtering failure",
        /// A personal data breach (or near miss).
        DataBreach = "data_breach" / "Data breach",
        /// A member of staff reports their own conduct.
        NeutralNotification = "neutral_notification" / "Neutral notification (staff self-report)",
        /// A low-level concern about an adult.
        LowLevelConcern = "low_level_concern" / "Low-level concern about an adult",
    }
}

named! {
    /// How serious.
    Severity {
        /// Low.
        Low = "low" / "Low",
        /// Medium.
        Medium = "medium" / "Medium",
        /// High.
        High = "high" / "High",
        /// Critical: a child at immediate risk.
        Critical = "critical" / "Critical",
    }
}

named! {
    /// Where the record is: open → in progress → closed (with an outcome).
    Status {
        /// Reported, not yet taken up.
        Open = "open" / "Open",
        /// Being dealt with.
        InProgress = "in_progress" / "In progress",
        /// Finished, with an outcome.
        Closed = "closed" / "Closed",
    }
}

named! {
    /// The part a person plays in an incident.
    Involvement {
        /// Harmed or at risk.
        Affected = "affected" / "Affected",
        /// Said to have done it.
        Alleged = "alleged" / "Alleged to be responsible",
        /// Saw or knows of it.
        Witness = "witness" / "Witness",
        /// Any other part.
        Other = "other" / "Other",
    }
}

named! {
    /// A kind of chronology entry.
    EntryKind {
        /// A note.
        Note = "note" / "Note",
        /// A decision, with its reasons.
        Decision = "decision" / "Decision",
        /// Something done.
        Action = "action" / "Action",
        /// Parents or carers were told.
        ParentsInformed = "parents_informed" / "Parents/carers informed",
        /// A sanction was applied (not one that acts on the filter).
        SanctionApplied = "sanction_applied" / "Sanction applied",
        /// A referral to another agency, with its reference.
        Referral = "referral" / "Referral",
        /// Support was offered.
        SupportOffered = "support_offered" / "Support offered",
        /// A filter sanction began.
        FilterSanction = "filter_sanction" / "Internet sanction applied",
        /// A filter sanction ended on its end date.
        SanctionEnded = "sanction_ended" / "Internet sanction ended",
        /// A filter sanction was lifted early.
        SanctionLifted = "sanction_lifted" / "Internet sanction lifted early",
        /// The status changed.
        StatusChange = "status_change" / "Status changed",
        /// Someone else was made responsible.
        Assigned = "assigned" / "Assigned",
        /// The breach details were changed.
        BreachUpdate = "breach_update" / "Breach details recorded",
        /// A file was attached.
        Attachment = "attachment" / "Evidence attached",
        /// A correction of an earlier entry (which stays as it was).
        Correction = "correction" / "Correction",
    }
}

named! {
    /// Where a referral goes.
    Agency {
        /// Children's social care (the local authority).
        SocialCare = "social_care" / "Children's social care",
        /// The local authority designated officer (allegations about adults).
        Lado = "lado" / "LADO",
        /// The police.
        Police = "police" / "Police",
        /// CEOP (online child sexual exploitation).
        Ceop = "ceop" / "CEOP",
        /// Prevent / Channel.
        Prevent = "prevent" / "Prevent/Channel",
        /// Early help.
        EarlyHelp = "early_help" / "Early help",
    }
}

named! {
    /// A breach's risk to the people whose data it is.
    Risk {
        /// Unlikely to result in a risk.
        None = "none" / "No risk",
        /// A risk: report to the ICO.
        Risk = "risk" / "Risk",
        /// A high risk: report to the ICO and tell the people affected.
        High = "high" / "High risk",
    }
}

/// The kinds a pupil's "Tell someone" and a quick staff "Report a concern" land as by
/// default.
pub const DEFAULT_CONCERN: IncidentKind = IncidentKind::Safeguarding;

/// The longest description or entry kept.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// Required text, trimmed, at most [`MAX_TEXT_CHARS`] characters.
pub fn required_text(field: &'static str, s: &str) -> Result<String, DomainError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DomainError::invalid(field, "this is required"));
    }
    if t.chars().count() > MAX_TEXT_CHARS {
        return Err(DomainError::invalid(
            field,
            format!("keep it under {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(t.to_owned())
}

/// A status change is allowed: open → in progress → closed (closing needs an outcome),
/// and a closed record can be reopened (to in progress).
pub fn check_status_change(
    from: Status,
    to: Status,
    outcome: Option<&str>,
) -> Result<(), DomainError> {
    if from == to {
        return Err(DomainError::invalid(
            "status",
            format!("the record is already {}", to.label().to_lowercase()),
        ));
    }
    if to == Status::Open && from != Status::Open {
        return Err(DomainError::invalid(
            "status",
            "a record cannot go back to open; reopen it as in progress",
        ));
    }
    if to == Status::Closed && outcome.is_none_or(|o| o.trim().is_empty()) {
        return Err(DomainError::invalid(
            "outcome",
            "say what the outcome was to close the record",
        ));
    }
    Ok(())
}

/// The filter groups a person can be restricted to.
pub const SANCTION_GROUPS: [&str; 6] =
    ["eyfs_ks1", "ks2", "ks3_4", "sixth_form", "staff", "guests"];

/// A sanction that acts on the web filter for one person until a date.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum FilterSanction {
    /// No internet access at all.
    InternetRemoved,
    /// Only what this group's policy allows.
    RestrictedTo(String),
}

impl FilterSanction {
    /// Parse the form's choice: `removed` or `restrict:<group>`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let s = s.trim();
        if s == "removed" {
            return Ok(Self::InternetRemoved);
        }
        if let Some(g) = s.strip_prefix("restrict:")
            && let Some(g) = SANCTION_GROUPS.iter().find(|x| **x == g)
        {
            return Ok(Self::RestrictedTo((*g).to_owned()));
        }
        Err(DomainError::invalid(
            "sanction",
            format!(
                "'{s}' is not a sanction; choose 'removed' or 'restrict:' and one of {}",
                SANCTION_GROUPS.join(", ")
            ),
        ))
    }

    /// As the form and the chronology name it.
    pub fn describe(&self) -> String {
        match self {
            Self::InternetRemoved => "internet access removed".into(),
            Self::RestrictedTo(g) => format!("restricted to the {g} policy"),
        }
    }
}

/// A sanction must end, in the future, within a school year.
pub fn check_sanction_end(now: Timestamp, until: Timestamp) -> Result<(), DomainError> {
    if until <= now {
        return Err(DomainError::invalid(
            "until",
            "the end must be in the future",
        ));
    }
    if until.duration_since(now) > SignedDuration::from_hours(24 * 366) {
        return Err(DomainError::invalid(
            "until",
            "a sanction can last a year at most",
        ));
    }
    Ok(())
}

/// The ICO must be told of a reportable breach within 72 hours of the school becoming
/// aware of it (UK GDPR article 33(1)).
pub const ICO_HOURS: i64 = 72;

/// When the ICO must have been told of a breach discovered at `discovered`.
pub fn ico_deadline(discovered: Timestamp) -> Timestamp {
    discovered
        .saturating_add(SignedDuration::from_hours(ICO_HOURS))
        .unwrap_or(discovered)
}

/// Where a breach stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum BreachClock {
    /// Time is left: whole hours and minutes.
    Remaining {
        /// Hours left.
        hours: i64,
        /// Minutes left beyond the hours.
        minutes: i64,
    },
    /// The deadline has passed by this many whole hours.
    Overdue {
        /// Hours past.
        hours: i64,
    },
    /// Nothing is due: reported, decided not to report, or a near miss.
    Settled,
}

impl BreachClock {
    /// The countdown at `now` for a breach discovered at `discovered`; `settled` when the
    /// ICO was told or the decision not to report was recorded.
    pub fn at(now: Timestamp, discovered: Timestamp, settled: bool) -> Self {
        if settled {
            return Self::Settled;
        }
        let left = ico_deadline(discovered).duration_since(now);
        if left.is_negative() {
            Self::Overdue {
                hours: left.abs().as_secs() / 3600,
            }
        } else {
            let secs = left.as_secs();
            Self::Remaining {
                hours: secs / 3600,
                minutes: (secs % 3600) / 60,
            }
        }
    }

    /// In words, for pages.
    pub fn describe(self) -> String {
        match self {
            Self::Remaining { hours, minutes } => format!("{hours} h {minutes} min left"),
            Self::Overdue { hours } => format!("overdue by {hours} h"),
            Self::Settled => "nothing due".into(),
        }
    }
}

/// Whether to report a breach to the ICO.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum ReportDecision {
    /// Not decided yet.
    Undecided,
    /// Report it.
    Report,
    /// Do not report it, for this reason.
    DoNotReport(String),
}

/// What is recorded of a data breach (the article 33(5) record).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BreachDetails {
    /// When the school became aware of it.
    pub discovered_at: Timestamp,
    /// A near miss: no data was actually lost.
    pub near_miss: bool,
    /// What data.
    pub data: String,
    /// How many people.
    pub people_count: Option<i64>,
    /// How many records.
    pub records_count: Option<i64>,
    /// Likely consequences.
    pub consequences: String,
    /// The risk assessment, once made.
    pub risk: Option<Risk>,
    /// The decision whether to report to the ICO.
    pub decision: ReportDecision,
    /// The ICO's reference.
    pub ico_reference: Option<String>,
    /// Whether the people affected were told.
    pub people_told: Option<bool>,
    /// Measures taken.
    pub measures: String,
}

impl BreachDetails {
    /// The rules a breach record keeps: a decision not to report has its reason; a
    /// high-risk breach is reported and the people affected are told; an ICO reference
    /// only for a reported breach.
    pub fn check(&self) -> Result<(), DomainError> {
        if let ReportDecision::DoNotReport(r) = &self.decision
            && r.trim().is_empty()
        {
            return Err(DomainError::invalid(
                "reason",
                "a decision not to report to the ICO must give its reason",
            ));
        }
        if self.risk == Some(Risk::High) {
            if matches!(self.decision, ReportDecision::DoNotReport(_)) {
                return Err(DomainError::invalid(
                    "decision",
                    "a high-risk breach must be reported to the ICO",
                ));
            }
            if self.people_told == Some(false) {
                return Err(DomainError::invalid(
                    "people told",
                    "the people affected by a high-risk breach must be told",
                ));
            }
        }
        if self.ico_reference.is_some() && self.decision != ReportDecision::Report {
            return Err(DomainError::invalid(
                "ICO reference",
                "only a breach reported to the ICO has an ICO reference",
            ));
        }
        for (field, n) in [
            ("people affected", self.people_count),
            ("records", self.records_count),
        ] {
            if n.is_some_and(|n| n < 0) {
                return Err(DomainError::invalid(field, "cannot be negative"));
            }
        }
        Ok(())
    }

    /// The deadline no longer runs: reported (with a reference), decided against with
    /// its reason, or a near miss.
    pub fn settled(&self) -> bool {
        self.near_miss
            || matches!(self.decision, ReportDecision::DoNotReport(_))
            || (self.decision == ReportDecision::Report && self.ico_reference.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_ico_deadline_is_72_hours_after_discovery() {
        let found = t("2025-03-07T16:30:00Z");
        assert_eq!(ico_deadline(found), t("2025-03-10T16:30:00Z"));
        assert_eq!(
            BreachClock::at(t("2025-03-08T16:00:00Z"), found, false),
            BreachClock::Remaining {
                hours: 48,
                minutes: 30
            }
        );
        assert_eq!(
            BreachClock::at(t("2025-03-10T16:30:00Z"), found, false),
            BreachClock::Remaining {
                hours: 0,
                minutes: 0
            }
        );
        assert_eq!(
            BreachClock::at(t("2025-03-10T19:45:00Z"), found, false),
            BreachClock::Overdue { hours: 3 }
        );
        assert_eq!(
            BreachClock::at(t("2025-03-20T00:00:00Z"), found, true),
            BreachClock::Settled
        );
        assert_eq!(
            BreachClock::at(t("2025-03-08T16:00:00Z"), found, false).describe(),
            "48 h 30 min left"
        );
    }

    fn breach() -> BreachDetails {
        BreachDetails {
            discovered_at: t("2025-03-07T16:30:00Z"),
            near_miss: false,
            data: "Year 6 SEN list".into(),
            people_count: Some(14),
            records_count: Some(14),
            consequences: "distress".into(),
            risk: None,
            decision: ReportDecision::Undecided,
            ico_reference: None,
            people_told: None,
            measures: String::new(),
        }
    }

    #[test]
    fn breach_rules() {
        assert!(breach().check().is_ok());
        assert!(!breach().settled());
        let mut b = breach();
        b.decision = ReportDecision::DoNotReport("  ".into());
        assert!(b.check().unwrap_err().to_string().starts_with("reason:"));
        b.decision = ReportDecision::DoNotReport("encrypted, key not lost".into());
        assert!(b.check().is_ok());
        assert!(b.settled());
        b.risk = Some(Risk::High);
        assert!(b.check().unwrap_err().to_string().starts_with("decision:"));
        b.decision = ReportDecision::Report;
        b.people_told = Some(false);
        assert!(
            b.check()
                .unwrap_err()
                .to_string()
                .starts_with("people told:")
        );
        b.people_told = Some(true);
        assert!(b.check().is_ok());
        assert!(!b.settled(), "reported needs the ICO's reference");
        b.ico_reference = Some("IC-123".into());
        assert!(b.settled());
        let mut n = breach();
        n.ico_reference = Some("IC-1".into());
        assert!(n.check().is_err());
        n.ico_reference = None;
        n.near_miss = true;
        assert!(n.settled());
    }

    #[test]
    fn status_moves_forward_and_closing_needs_an_outcome() {
        use Status::*;
        assert!(check_status_change(Open, InProgress, None).is_ok());
        assert!(check_status_change(InProgress, Closed, Some("words")).is_ok());
        assert!(
            check_status_change(InProgress, Closed, Some(" "))
                .unwrap_err()
                .to_string()
                .starts_with("outcome:")
        );
        assert!(check_status_change(Closed, InProgress, None).is_ok());
        assert!(check_status_change(Closed, Open, None).is_err());
        assert!(check_status_change(Open, Open, None).is_err());
    }

    #[test]
    fn sanctions_parse_and_end_in_the_future() {
        assert_eq!(
            FilterSanction::parse("removed").unwrap(),
            FilterSanction::InternetRemoved
        );
        assert_eq!(
            FilterSanction::parse("restrict:ks2").unwrap(),
            FilterSanction::RestrictedTo("ks2".into())
        );
        assert!(FilterSanction::parse("restrict:nowhere").is_err());
        let now = t("2025-03-10T09:00:00Z");
        assert!(check_sanction_end(now, t("2025-03-15T00:00:00Z")).is_ok());
        assert!(check_sanction_end(now, now).is_err());
        assert!(check_sanction_end(now, t("2027-03-15T00:00:00Z")).is_err());
    }

    #[test]
    fn names_round_trip() {
        for k in IncidentKind::ALL {
            assert_eq!(IncidentKind::parse("kind", k.as_str()).unwrap(), *k);
        }
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::parse("kind", k.as_str()).unwrap(), *k);
        }
        assert!(
            IncidentKind::parse("kind", "gossip")
                .unwrap_err()
                .to_string()
                .starts_with("kind:")
        );
    }
}
