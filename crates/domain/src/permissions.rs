//! The permission matrix: which role may do what to which kind of record.
//!
//! This is the only place that answers "may this person do this?". Handlers and services
//! call [`permits`]; nothing else compares role names. The matrix is tested as a table.

use crate::incidents::IncidentKind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A role a person's account holds (an account may hold several).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages several schools of a trust.
    TrustAdmin,
    /// Headteacher, senior information risk owner.
    Head,
    /// Designated safeguarding lead or deputy.
    Dsl,
    /// Online safety (e-safety) lead.
    OnlineSafetyLead,
    /// Data protection lead or officer.
    Dpo,
    /// Network manager or technician.
    ItAdmin,
    /// Governor or trustee.
    Governor,
    /// Teacher or support staff.
    Staff,
    /// Pupil.
    Pupil,
    /// Parent or carer.
    Parent,
    /// Visitor, volunteer or contractor.
    Visitor,
}

impl Role {
    /// All roles.
    pub const ALL: [Role; 11] = [
        Self::TrustAdmin,
        Self::Head,
        Self::Dsl,
        Self::OnlineSafetyLead,
        Self::Dpo,
        Self::ItAdmin,
        Self::Governor,
        Self::Staff,
        Self::Pupil,
        Self::Parent,
        Self::Visitor,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TrustAdmin => "trust_admin",
            Self::Head => "head",
            Self::Dsl => "dsl",
            Self::OnlineSafetyLead => "online_safety_lead",
            Self::Dpo => "dpo",
            Self::ItAdmin => "it_admin",
            Self::Governor => "governor",
            Self::Staff => "staff",
            Self::Pupil => "pupil",
            Self::Parent => "parent",
            Self::Visitor => "visitor",
        }
    }

    /// A label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::TrustAdmin => "Trust administrator",
            Self::Head => "Headteacher",
            Self::Dsl => "Designated safeguarding lead",
            Self::OnlineSafetyLead => "Online safety lead",
            Self::Dpo => "Data protection lead",
            Self::ItAdmin => "Network manager",
            Self::Governor => "Governor",
            Self::Staff => "Staff",
            Self::Pupil => "Pupil",
            Self::Parent => "Parent or carer",
            Self::Visitor => "Visitor",
        }
    }

    /// Roles that reach sensitive records and so must sign in with a second factor.
    pub fn requires_mfa(self) -> bool {
        matches!(
            self,
            Self::TrustAdmin
                | Self::Head
                | Self::Dsl
                | Self::Dpo
                | Self::OnlineSafetyLead
                | Self::ItAdmin
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = crate::DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                crate::DomainError::invalid(
                    "role",
                    format!(
                        "'{s}' is not a role; use one of {}",
                        Self::ALL.map(Role::as_str).join(", ")
                    ),
                )
            })
    }
}

/// What is being done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read or list.
    View,
    /// Create, change or import.
    Edit,
}

/// The kind of record acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// The people directory and person records (names, classes, contacts).
    People,
    /// Sign-in accounts and their roles.
    Accounts,
    /// API bearer tokens.
    ApiTokens,
    /// The audit log.
    AuditLog,
    /// One's own account: password, second factor, own agreements (and one's children's).
    OwnAccount,
    /// Acceptable use policies and their versions.
    Policies,
    /// The register of who has signed which agreement; paper signatures are recorded here.
    Register,
    /// The activity log of the web filter (searching it by person needs a recorded reason).
    Activity,
    /// Requests to unblock a site, and deciding them (which changes what the filter allows).
    UnblockRequests,
    /// Registered school devices and their DNS-over-HTTPS tokens.
    Devices,
    /// Monitoring alerts (triage: acknowledge, dismiss, escalate) and the keyword
    /// libraries and rules that raise them. Safeguarding matters: the DSL team and the head.
    Alerts,
    /// The demo's clock, moved forward to show what happens later (`gatehouse demo`
    /// only; a real installation follows the computer's clock).
    DemoClock,
}

impl Resource {
    /// All resources, in table order.
    pub const ALL: [Resource; 12] = [
        Self::People,
        Self::Accounts,
        Self::ApiTokens,
        Self::AuditLog,
        Self::OwnAccount,
        Self::Policies,
        Self::Register,
        Self::Activity,
        Self::UnblockRequests,
        Self::Devices,
        Self::Alerts,
        Self::DemoClock,
    ];
}

/// May a holder of `role` do `action` to `resource`?
pub fn allowed(role: Role, action: Action, resource: Resource) -> bool {
    use Action::{Edit, View};
    use Resource::*;
    use Role::*;
    match (resource, action) {
        (OwnAccount, _) => true,
        (People, View) => matches!(
            role,
            TrustAdmin | Head | Dsl | OnlineSafetyLead | Dpo | ItAdmin
        ),
        (People, Edit) => matches!(role, TrustAdmin | Head | ItAdmin),
        (Accounts, View | Edit) | (ApiTokens, View | Edit) => {
            matches!(role, TrustAdmin | Head | ItAdmin)
        }
        (AuditLog, View) => matches!(role, TrustAdmin | Head),
        (AuditLog, Edit) => false,
        (Policies, View) => matches!(
            role,
            TrustAdmin | Head | Dsl | OnlineSafetyLead | Dpo | Governor
        ),
        (Policies, Edit) => matches!(role, TrustAdmin | Head | OnlineSafetyLead),
        (Register, View) => matches!(role, TrustAdmin | Head | Dsl | OnlineSafetyLead | Dpo),
        (Register, Edit) => matches!(role, TrustAdmin | Head | Dsl | OnlineSafetyLead),
        (Activity, View) => matches!(role, TrustAdmin | Head | Dsl | OnlineSafetyLead | ItAdmin),
        (Activity, Edit) => false,
        (UnblockRequests, View) => {
            matches!(role, TrustAdmin | Head | Dsl | OnlineSafetyLead | ItAdmin)
        }
        (UnblockRequests, Edit) => matches!(role, TrustAdmin | Head | OnlineSafetyLead),
        (Devices, View | Edit) => matches!(role, TrustAdmin | Head | ItAdmin),
        (Alerts, View | Edit) => matches!(role, Head | Dsl),
        (DemoClock, View | Edit) => matches!(role, TrustAdmin | Head),
    }
}

/// May someone holding any of `roles` do `action` to `resource`?
pub fn permits(roles: &[Role], action: Action, resource: Resource) -> bool {
    roles.iter().any(|r| allowed(*r, action, resource))
}

/// How far someone may go with one incident record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IncidentAccess {
    /// Not at all: the record is not listed and cannot be opened.
    None,
    /// Only what they reported themselves: their report and its status, not the
    /// chronology or what others added.
    OwnReport,
    /// Everything, and add to it: chronology entries, actions, sanctions, status.
    Manage,
}

/// How far a holder of `role` may go with an incident of `kind`; `is_reporter` when they
/// reported it.
///
/// Safeguarding records (safeguarding concerns, nude-image sharing, radicalisation,
/// neutral notifications, low-level concerns about adults) are the DSL team's and the
/// head's alone; online-safety records are also the online safety lead's; filtering
/// failures and device misuse also the network manager's; data breaches the DPO's and the
/// head's. Anyone sees what they reported.
pub fn incident_access(role: Role, kind: IncidentKind, is_reporter: bool) -> IncidentAccess {
    use IncidentKind as K;
    use Role::*;
    let manage = match kind {
        K::Safeguarding
        | K::NudeImageSharing
        | K::Radicalisation
        | K::NeutralNotification
        | K::LowLevelConcern => matches!(role, Head | Dsl),
        K::OnlineSafety | K::Cyberbullying | K::InappropriateContent => {
            matches!(role, Head | Dsl | OnlineSafetyLead)
        }
        K::DeviceMisuse | K::FilteringFailure => {
            matches!(role, Head | Dsl | OnlineSafetyLead | ItAdmin)
        }
        K::DataBreach => matches!(role, Head | Dpo),
    };
    if manage {
        IncidentAccess::Manage
    } else if is_reporter {
        IncidentAccess::OwnReport
    } else {
        IncidentAccess::None
    }
}

/// The widest access any of `roles` gives.
pub fn incident_access_any(
    roles: &[Role],
    kind: IncidentKind,
    is_reporter: bool,
) -> IncidentAccess {
    roles
        .iter()
        .map(|r| incident_access(*r, kind, is_reporter))
        .max()
        .unwrap_or(if is_reporter {
            IncidentAccess::OwnReport
        } else {
            IncidentAccess::None
        })
}

/// May a holder of `role` report an incident or concern? Everyone in school may; a
/// parent contacts the school instead.
pub fn may_report_incident(role: Role) -> bool {
    role != Role::Parent
}

/// May a holder of `role` see the breach log (and its export) and the ICO countdown?
pub fn may_see_breach_log(role: Role) -> bool {
    incident_access(role, IncidentKind::DataBreach, false) == IncidentAccess::Manage
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matrix as a table: a row per role, a cell per (resource, action) in
    /// `Resource::ALL` order (people, accounts, API tokens, audit log, own account, policies,
    /// register, activity, unblock requests, devices, alerts, demo clock), each "V", "E",
    /// "VE" or "-".
    const TABLE: &str = "
        trust_admin        VE VE VE V  VE VE VE V  VE VE -  VE
        head               VE VE VE V  VE VE VE V  VE VE VE VE
        dsl                V  -  -  -  VE V  VE V  V  -  VE -
        online_safety_lead V  -  -  -  VE VE VE V  VE -  -  -
        dpo                V  -  -  -  VE V  V  -  -  -  -  -
        it_admin           VE VE VE -  VE -  -  V  V  VE -  -
        governor           -  -  -  -  VE V  -  -  -  -  -  -
        staff              -  -  -  -  VE -  -  -  -  -  -  -
        pupil              -  -  -  -  VE -  -  -  -  -  -  -
        parent             -  -  -  -  VE -  -  -  -  -  -  -
        visitor            -  -  -  -  VE -  -  -  -  -  -  -
    ";

    #[test]
    fn matrix_matches_the_table() {
        let rows: Vec<&str> = TABLE
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(rows.len(), Role::ALL.len(), "every role has a row");
        for row in rows {
            let mut cells = row.split_whitespace();
            let role: Role = cells.next().unwrap().parse().unwrap();
            let cells: Vec<&str> = cells.collect();
            assert_eq!(cells.len(), Resource::ALL.len(), "row {role}");
            for (resource, cell) in Resource::ALL.into_iter().zip(cells) {
                assert_eq!(
                    allowed(role, Action::View, resource),
                    cell.contains('V'),
                    "{role} view {resource:?}"
                );
                assert_eq!(
                    allowed(role, Action::Edit, resource),
                    cell.contains('E'),
                    "{role} edit {resource:?}"
                );
            }
        }
    }

    #[test]
    fn any_role_is_enough() {
        assert!(permits(
            &[Role::Staff, Role::Head],
            Action::View,
            Resource::AuditLog
        ));
        assert!(!permits(&[], Action::View, Resource::OwnAccount));
    }

    #[test]
    fn sensitive_roles_need_mfa() {
        let need: Vec<Role> = Role::ALL.into_iter().filter(|r| r.requires_mfa()).collect();
        assert_eq!(
            need,
            [
                Role::TrustAdmin,
                Role::Head,
                Role::Dsl,
                Role::OnlineSafetyLead,
                Role::Dpo,
                Role::ItAdmin
            ]
        );
    }
}

#[cfg(test)]
mod incident_tests {
    use super::*;

    /// Incident access as a table: a row per role, a cell per kind in
    /// `IncidentKind::ALL` order (online safety, safeguarding, cyberbullying, inappropriate
    /// content, nude-image sharing, radicalisation, device misuse, filtering failure, data
    /// breach, neutral notification, low-level concern): "M" manage, "-" nothing (then
    /// only what they reported themselves).
    const TABLE: &str = "
        trust_admin        -  -  -  -  -  -  -  -  -  -  -
        head               M  M  M  M  M  M  M  M  M  M  M
        dsl                M  M  M  M  M  M  M  M  -  M  M
        online_safety_lead M  -  M  M  -  -  M  M  -  -  -
        dpo                -  -  -  -  -  -  -  -  M  -  -
        it_admin           -  -  -  -  -  -  M  M  -  -  -
        governor           -  -  -  -  -  -  -  -  -  -  -
        staff              -  -  -  -  -  -  -  -  -  -  -
        pupil              -  -  -  -  -  -  -  -  -  -  -
        parent             -  -  -  -  -  -  -  -  -  -  -
        visitor            -  -  -  -  -  -  -  -  -  -  -
    ";

    #[test]
    fn incident_access_matches_the_table() {
        let rows: Vec<&str> = TABLE
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(rows.len(), Role::ALL.len(), "every role has a row");
        for row in rows {
            let mut cells = row.split_whitespace();
            let role: Role = cells.next().unwrap().parse().unwrap();
            let cells: Vec<&str> = cells.collect();
            assert_eq!(cells.len(), IncidentKind::ALL.len(), "row {role}");
            for (kind, cell) in IncidentKind::ALL.iter().copied().zip(cells) {
                let (stranger, reporter) = if cell == "M" {
                    (IncidentAccess::Manage, IncidentAccess::Manage)
                } else {
                    (IncidentAccess::None, IncidentAccess::OwnReport)
                };
                assert_eq!(
                    incident_access(role, kind, false),
                    stranger,
                    "{role} {kind:?}"
                );
                assert_eq!(
                    incident_access(role, kind, true),
                    reporter,
                    "{role} reporter {kind:?}"
                );
            }
        }
    }

    #[test]
    fn the_widest_role_counts_and_breach_log_is_dpo_and_head() {
        assert_eq!(
            incident_access_any(&[Role::Staff, Role::Dsl], IncidentKind::Safeguarding, false),
            IncidentAccess::Manage
        );
        assert_eq!(
            incident_access_any(&[], IncidentKind::Safeguarding, true),
            IncidentAccess::OwnReport
        );
        let log: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| may_see_breach_log(*r))
            .collect();
        assert_eq!(log, [Role::Head, Role::Dpo]);
        assert!(!may_report_incident(Role::Parent));
        assert!(may_report_incident(Role::Pupil));
    }
}
