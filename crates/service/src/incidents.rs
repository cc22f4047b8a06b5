//! Incidents and concerns: reporting, the record and its chronology, actions, sanctions
//! that change the web filter (and end by themselves), data breaches with their 72-hour
//! ICO deadline, and the breach log export.
//!
//! Who sees which record is decided by [`incident_access_any`] in the permission matrix;
//! every list and every view of a record is written to the audit log.

use crate::{Actor, Gatehouse, Result, ServiceError};
use gatehouse_domain::incidents::{
    BreachClock, BreachDetails, EntryKind, FilterSanction, IncidentKind, Involvement,
    ReportDecision, Severity, Status, check_sanction_end, check_status_change, ico_deadline,
    required_text,
};
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::{
    IncidentAccess, incident_access_any, may_report_incident, may_see_breach_log,
};
use gatehouse_store::{
    Incident, IncidentAttachment, IncidentChange, IncidentEntry, IncidentPerson, IncidentSanction,
    NewEntry, NewIncident, PeopleFilter,
};
use jiff::Timestamp;
use serde_json::json;

/// The longest one-line summary.
pub const MAX_SUMMARY_CHARS: usize = 200;

/// A report of an incident or concern.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// What kind.
    pub kind: IncidentKind,
    /// A one-line summary.
    pub summary: String,
    /// What happened, in the reporter's words.
    pub description: String,
    /// How serious.
    pub severity: Severity,
    /// When it happened (now, if not known).
    pub occurred_at: Option<Timestamp>,
    /// Who was involved.
    pub people: Vec<IncidentPerson>,
    /// For a data breach: its details (discovery time at least).
    pub breach: Option<BreachDetails>,
}

/// A record as one viewer may see it.
#[derive(Debug, Clone)]
pub struct IncidentView {
    /// The record.
    pub incident: Incident,
    /// How far the viewer may go.
    pub access: IncidentAccess,
    /// The chronology (empty for a reporter who only sees their report).
    pub entries: Vec<IncidentEntry>,
    /// Sanctions written into the filter.
    pub sanctions: Vec<IncidentSanction>,
    /// Evidence files.
    pub attachments: Vec<IncidentAttachment>,
    /// For a data breach: its countdown.
    pub clock: Option<BreachClock>,
}

/// An unsettled breach and its countdown, for the home page.
#[derive(Debug, Clone)]
pub struct BreachCountdown {
    /// The incident.
    pub incident: Incident,
    /// When the ICO must have been told.
    pub deadline: Timestamp,
    /// Where it stands.
    pub clock: BreachClock,
}

fn access(actor: &Actor, i: &Incident) -> IncidentAccess {
    let reporter = actor.account_id.is_some() && actor.account_id == i.reporter_account_id;
    incident_access_any(&actor.roles, i.kind, reporter)
}

fn optional(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Gatehouse {
    /// Report an incident or concern. Lands with the DSL team (or, for breaches, the DPO)
    /// as an open record.
    pub async fn report_incident(&self, actor: &Actor, req: &ReportRequest) -> Result<i64> {
        if !actor.roles.iter().any(|r| may_report_incident(*r)) {
            return Err(ServiceError::Forbidden);
        }
        let summary = required_text("summary", &req.summary)?;
        if summary.chars().count() > MAX_SUMMARY_CHARS {
            return Err(ServiceError::Invalid(format!(
                "summary: keep it under {MAX_SUMMARY_CHARS} characters"
            )));
        }
        let description = required_text("description", &req.description)?;
        let now = self.clock.now();
        let occurred_at = req.occurred_at.unwrap_or(now);
        if occurred_at > now {
            return Err(ServiceError::Invalid(
                "when it happened: cannot be in the future".into(),
            ));
        }
        let breach = match (req.kind, &req.breach) {
            (IncidentKind::DataBreach, Some(b)) => {
                b.check()?;
                if b.discovered_at > now {
                    return Err(ServiceError::Invalid(
                        "discovered: cannot be in the future".into(),
                    ));
                }
                Some(b.clone())
            }
            (IncidentKind::DataBreach, None) => {
                return Err(ServiceError::Invalid(
                    "discovered: say when the breach was discovered".into(),
                ));
            }
            (_, _) => None,
        };
        for p in &req.people {
            required_text("person's name", &p.name)?;
            if !["pupil", "staff", "other"].contains(&p.kind.as_str()) {
                return Err(ServiceError::Invalid(format!(
                    "person's role: '{}' is not pupil, staff or other",
                    p.kind
                )));
            }
        }
        let school = self.school().await?;
        let event = actor.event(
            "incident.report",
            None,
            json!({ "kind": req.kind.as_str(), "severity": req.severity.as_str() }),
        );
        let id = self
            .store
            .create_incident(
                school.id,
                &NewIncident {
                    kind: req.kind,
                    summary,
                    description,
                    severity: req.severity,
                    occurred_at,
                    reporter: actor.name.clone(),
                    reporter_account_id: actor.account_id,
                    people: req.people.clone(),
                    breach,
                },
                now,
                event,
            )
            .await?;
        self.tell_of_new_incident(school.id, id, req.kind).await;
        Ok(id)
    }

    /// Email the people who deal with a new record (the DSL; the DPO for a data breach),
    /// naming only its kind and linking to it. Best effort: the record is stored either
    /// way, and a failure is logged.
    async fn tell_of_new_incident(&self, school: i64, id: i64, kind: IncidentKind) {
        let Some(mailer) = &self.mailer else { return };
        let role = if kind == IncidentKind::DataBreach {
            gatehouse_domain::permissions::Role::Dpo
        } else {
            gatehouse_domain::permissions::Role::Dsl
        };
        let to = match self.addresses_of(school, role).await {
            Ok(to) => to,
            Err(e) => {
                tracing::error!("finding whom to tell of incident {id}: {e}");
                return;
            }
        };
        for (email, name) in to {
            let m = crate::mail::Outgoing {
                to: email,
                to_name: name,
                subject: format!("Gatehouse: new {}", kind.label().to_lowercase()),
                body: format!(
                    "A new {} was recorded. See it and decide what to do: {}/incidents/{id}\n\nThis message names no more than needed; the details are in Gatehouse.",
                    kind.label().to_lowercase(),
                    mailer.base_url
                ),
            };
            if let Err(e) = mailer.send(&m).await {
                tracing::error!("telling of incident {id}: {e}");
            }
        }
    }

    /// The records the actor may see, newest first, with their access. The listing is
    /// audited.
    pub async fn incidents(&self, actor: &Actor) -> Result<Vec<(Incident, IncidentAccess)>> {
        let school = self.school().await?;
        let all = self.store.incidents(school.id, 2_000).await?;
        let seen: Vec<(Incident, IncidentAccess)> = all
            .into_iter()
            .filter_map(|i| {
                let a = access(actor, &i);
                (a != IncidentAccess::None).then_some((i, a))
            })
            .collect();
        let ids: Vec<i64> = seen.iter().map(|(i, _)| i.id).collect();
        self.store
            .append_audit(
                self.clock.now(),
                actor.event("incident.list", None, json!({ "ids": ids })),
            )
            .await?;
        Ok(seen)
    }

    async fn incident_for(
        &self,
        actor: &Actor,
        id: i64,
        need: IncidentAccess,
    ) -> Result<(i64, Incident, IncidentAccess)> {
        let school = self.school().await?;
        let found = self.store.incident(school.id, id).await?;
        let Some(i) = found else {
            return Err(ServiceError::NotFound(format!("incident {id}")));
        };
        let a = access(actor, &i);
        if a == IncidentAccess::None {
            // not even its existence is told
            return Err(ServiceError::NotFound(format!("incident {id}")));
        }
        if a < need {
            return Err(ServiceError::Forbidden);
        }
        Ok((school.id, i, a))
    }

    /// One record, as far as the actor may see it. Every view is audited.
    pub async fn incident(&self, actor: &Actor, id: i64) -> Result<IncidentView> {
        let (_, incident, access) = self
            .incident_for(actor, id, IncidentAccess::OwnReport)
            .await?;
        self.store
            .append_audit(
                self.clock.now(),
                actor.event("incident.view", Some(format!("incident:{id}")), json!({})),
            )
            .await?;
        let full = access == IncidentAccess::Manage;
        let (entries, sanctions, attachments) = if full {
            (
                self.store.incident_entries(id).await?,
                self.store.incident_sanctions(id).await?,
                self.store.incident_attachments(id).await?,
            )
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        let clock = incident
            .breach
            .as_ref()
            .filter(|_| full)
            .map(|b| BreachClock::at(self.clock.now(), b.discovered_at, b.settled()));
        Ok(IncidentView {
            incident,
            access,
            entries,
            sanctions,
            attachments,
            clock,
        })
    }

    /// Add a chronology entry: a note, decision or action (parents informed, referral with
    /// its reference, support offered, a sanction that does not touch the filter), or a
    /// correction of an earlier entry.
    pub async fn add_incident_entry(
        &self,
        actor: &Actor,
        id: i64,
        entry: NewEntry,
    ) -> Result<IncidentEntry> {
        self.incident_for(actor, id, IncidentAccess::Manage).await?;
        let kind = entry.kind.unwrap_or(EntryKind::Note);
        let allowed = [
            EntryKind::Note,
            EntryKind::Decision,
            EntryKind::Action,
            EntryKind::ParentsInformed,
            EntryKind::SanctionApplied,
            EntryKind::Referral,
            EntryKind::SupportOffered,
            EntryKind::Correction,
        ];
        if !allowed.contains(&kind) {
            return Err(ServiceError::Invalid(format!(
                "kind: '{}' entries are written by Gatehouse itself",
                kind.as_str()
            )));
        }
        if kind == EntryKind::Correction && entry.corrects.is_none() {
            return Err(ServiceError::Invalid(
                "corrects: say which entry this corrects".into(),
            ));
        }
        let mut entry = NewEntry {
            text: required_text("text", &entry.text)?,
            done_by: optional(entry.done_by),
            method: optional(entry.method),
            reference: optional(entry.reference),
            kind: Some(kind),
            ..entry
        };
        if kind == EntryKind::Referral && entry.agency.is_none() {
            return Err(ServiceError::Invalid(
                "agency: say where the referral went".into(),
            ));
        }
        if kind != EntryKind::Referral {
            entry.agency = None;
        }
        let now = self.clock.now();
        if entry.occurred_at.is_some_and(|t| t > now) {
            return Err(ServiceError::Invalid(
                "when: cannot be in the future".into(),
            ));
        }
        let event = actor.event(
            "incident.entry",
            Some(format!("incident:{id}")),
            json!({ "kind": kind.as_str(), "corrects": entry.corrects }),
        );
        Ok(self
            .store
            .append_incident_entry(id, &entry, &actor.name, now, event)
            .await?)
    }

    /// Add someone from the directory (by id, or by a name that matches one person) to
    /// the people involved.
    pub async fn add_incident_person(
        &self,
        actor: &Actor,
        id: i64,
        who: &str,
        involvement: Involvement,
    ) -> Result<()> {
        let (school, _, _) = self.incident_for(actor, id, IncidentAccess::Manage).await?;
        let who = required_text("person", who)?;
        let person = if let Ok(pid) = who.parse::<i64>() {
            self.store
                .person(school, pid)
                .await?
                .map(|r| r.person)
                .ok_or_else(|| {
                    ServiceError::Invalid(format!("person: there is nobody with id {pid}"))
                })?
        } else {
            let page = self
                .store
                .list_people(
                    school,
                    &PeopleFilter {
                        query: Some(who.clone()),
                        limit: 5,
                        ..PeopleFilter::default()
                    },
                )
                .await?;
            match page.people.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(ServiceError::Invalid(format!(
                        "person: nobody in the directory matches '{who}'"
                    )));
                }
                _ => {
                    return Err(ServiceError::Invalid(format!(
                        "person: {} people match '{who}'; give their full name or id",
                        page.total
                    )));
                }
            }
        };
        let kind = match person.details.kind {
            PersonKind::Pupil => "pupil",
            PersonKind::Staff => "staff",
            _ => "other",
        };
        let event = actor.event(
            "incident.person",
            Some(format!("incident:{id}")),
            json!({ "person": person.id, "involvement": involvement.as_str() }),
        );
        self.store
            .add_incident_person(
                school,
                id,
                &IncidentPerson {
                    person_id: Some(person.id),
                    name: person.details.full_name(),
                    kind: kind.into(),
                    involvement,
                },
                &actor.name,
                self.clock.now(),
                event,
            )
            .await?;
        Ok(())
    }

    /// Move the record on (open → in progress → closed with an outcome, or reopen).
    pub async fn set_incident_status(
        &self,
        actor: &Actor,
        id: i64,
        to: Status,
        outcome: Option<String>,
    ) -> Result<Incident> {
        let (school, i, _) = self.incident_for(actor, id, IncidentAccess::Manage).await?;
        let outcome = optional(outcome);
        check_status_change(i.status, to, outcome.as_deref())?;
        let outcome = if to == Status::Closed { outcome } else { None };
        let text = match &outcome {
            Some(o) => format!("{} → {}. Outcome: {o}", i.status.label(), to.label()),
            None => format!("{} → {}", i.status.label(), to.label()),
        };
        let event = actor.event(
            "incident.status",
            Some(format!("incident:{id}")),
            json!({ "from": i.status.as_str(), "to": to.as_str() }),
        );
        Ok(self
            .store
            .change_incident(
                school,
                id,
                &IncidentChange::Status { to, outcome },
                &NewEntry {
                    kind: Some(EntryKind::StatusChange),
                    text,
                    ..NewEntry::default()
                },
                &actor.name,
                self.clock.now(),
                event,
            )
            .await?)
    }

    /// Make someone (a username) responsible, or nobody.
    pub async fn assign_incident(
        &self,
        actor: &Actor,
        id: i64,
        assignee: Option<String>,
    ) -> Result<Incident> {
        let (school, _, _) = self.incident_for(actor, id, IncidentAccess::Manage).await?;
        let assignee = optional(assignee);
        if let Some(a) = &assignee
            && self.store.account_by_username(a).await?.is_none()
        {
            return Err(ServiceError::Invalid(format!(
                "assignee: there is no account '{a}'"
            )));
        }
        let event = actor.event(
            "incident.assign",
            Some(format!("incident:{id}")),
            json!({ "assignee": assignee }),
        );
        let text = match &assignee {
            Some(a) => format!("Assigned to {a}"),
            None => "No longer assigned to anyone".into(),
        };
        Ok(self
            .store
            .change_incident(
                school,
                id,
                &IncidentChange::Assign(assignee),
                &NewEntry {
                    kind: Some(EntryKind::Assigned),
                    text,
                    ..NewEntry::default()
                },
                &actor.name,
                self.clock.now(),
                event,
            )
            .await?)
    }

    /// Record (replace) a breach's details: assessment, decision, ICO reference, people
    /// told, measures. The rules of [`BreachDetails::check`] apply.
    pub async fn record_breach(
        &self,
        actor: &Actor,
        id: i64,
        details: BreachDetails,
    ) -> Result<Incident> {
        let (school, i, _) = self.incident_for(actor, id, IncidentAccess::Manage).await?;
        if i.kind != IncidentKind::DataBreach {
            return Err(ServiceError::Invalid(
                "kind: only a data breach has breach details".into(),
            ));
        }
        details.check()?;
        let decision = match &details.decision {
            ReportDecision::Undecided => "not decided".to_owned(),
            ReportDecision::Report => "report to the ICO".to_owned(),
            ReportDecision::DoNotReport(r) => format!("do not report to the ICO: {r}"),
        };
        let text = format!(
            "Risk: {}. Decision: {decision}.{}",
            details.risk.map_or("not assessed", |r| r.label()),
            details
                .ico_reference
                .as_ref()
                .map(|r| format!(" ICO reference {r}."))
                .unwrap_or_default()
        );
        let event = actor.event(
            "incident.breach",
            Some(format!("incident:{id}")),
            json!({ "risk": details.risk.map(|r| r.as_str()), "decision": decision }),
        );
        let reference = details.ico_reference.clone();
        Ok(self
            .store
            .change_incident(
                school,
                id,
                &IncidentChange::Breach(details),
                &NewEntry {
                    kind: Some(EntryKind::BreachUpdate),
                    text,
                    reference,
                    ..NewEntry::default()
                },
                &actor.name,
                self.clock.now(),
                event,
            )
            .await?)
    }

    /// A sanction that acts: the person's internet access removed, or restricted to a
    /// group's policy, until `until`. Written into the filter at once; ends by itself.
    pub async fn apply_sanction(
        &self,
        actor: &Actor,
        id: i64,
        person: i64,
        sanction: &FilterSanction,
        until: Timestamp,
        note: &str,
    ) -> Result<i64> {
        let (school, i, _) = self.incident_for(actor, id, IncidentAccess::Manage).await?;
        let now = self.clock.now();
        check_sanction_end(now, until)?;
        let Some(who) = i.people.iter().find(|p| p.person_id == Some(person)) else {
            return Err(ServiceError::Invalid(
                "person: choose someone involved in this incident".into(),
            ));
        };
        let mut text = format!(
            "{} for {} until {}",
            capitalise(&sanction.describe()),
            who.name,
            until.strftime("%Y-%m-%d %H:%M UTC")
        );
        if !note.trim().is_empty() {
            text.push_str(". ");
            text.push_str(note.trim());
        }
        let event = actor.event(
            "incident.sanction",
            Some(format!("incident:{id}")),
            json!({ "person": person, "sanction": sanction.describe(), "until": until.to_string() }),
        );
        let override_id = self
            .store
            .apply_incident_sanction(
                school,
                id,
                person,
                sanction,
                until,
                &NewEntry {
                    text,
                    ..NewEntry::default()
                },
                &actor.name,
                now,
                event,
            )
            .await?;
        self.refresh_filter().await?;
        Ok(override_id)
    }

    /// Lift a sanction before its end date.
    pub async fn lift_sanction(
        &self,
        actor: &Actor,
        id: i64,
        override_id: i64,
        reason: &str,
    ) -> Result<()> {
        let (school, _, _) = self.incident_for(actor, id, IncidentAccess::Manage).await?;
        let reason = required_text("reason", reason)?;
        let event = actor.event(
            "incident.sanction_lift",
            Some(format!("incident:{id}")),
            json!({ "override": override_id }),
        );
        self.store
            .lift_incident_sanction(
                school,
                id,
                override_id,
                &NewEntry {
                    text: format!("Lifted early: {reason}"),
                    ..NewEntry::default()
                },
                &actor.name,
                self.clock.now(),
                event,
            )
            .await
            .map_err(|e| match e {
                gatehouse_store::StoreError::Conflict(m) => ServiceError::Invalid(m),
                e => e.into(),
            })?;
        self.refresh_filter().await
    }

    /// Write "sanction ended" into the chronology of every sanction whose end date has
    /// come (the filter stops applying it by itself). Run by the periodic upkeep; returns
    /// how many were recorded.
    pub async fn end_expired_sanctions(&self) -> Result<usize> {
        let school = self.school().await?;
        let now = self.clock.now();
        let mut n = 0;
        for s in self
            .store
            .sanctions_ended_unrecorded(school.id, now)
            .await?
        {
            let event = Actor::system().event(
                "incident.sanction_end",
                Some(format!("incident:{}", s.incident_id)),
                json!({ "override": s.override_id }),
            );
            let entry = NewEntry {
                text: format!(
                    "{} ended on its end date",
                    capitalise(&s.sanction.describe())
                ),
                occurred_at: Some(s.until),
                ..NewEntry::default()
            };
            if self
                .store
                .record_sanction_end(&s, &entry, "system", now, event)
                .await?
            {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Keep an evidence file (PDF, PNG or JPEG, size-limited) by its SHA-256 and list it
    /// on the record.
    pub async fn attach_evidence(
        &self,
        actor: &Actor,
        id: i64,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<i64> {
        self.incident_for(actor, id, IncidentAccess::Manage).await?;
        let files = self.files.as_ref().ok_or_else(|| {
            ServiceError::Invalid("file: this installation does not keep files".into())
        })?;
        let sha = files.put(bytes)?;
        let kind = crate::files::FileKind::sniff(bytes)
            .ok_or_else(|| ServiceError::Invalid("file: unknown type".into()))?;
        let name = file_name.trim();
        let name = if name.is_empty() { "evidence" } else { name };
        let name: String = name.chars().take(200).collect();
        let event = actor.event(
            "incident.attach",
            Some(format!("incident:{id}")),
            json!({ "sha256": sha, "name": name }),
        );
        Ok(self
            .store
            .add_incident_attachment(
                id,
                &IncidentAttachment {
                    id: 0,
                    sha256: sha,
                    file_name: name,
                    mime: kind.mime().into(),
                    size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
                    added_by: actor.name.clone(),
                    added_at: self.clock.now(),
                },
                event,
            )
            .await?)
    }

    /// An evidence file's bytes, if the actor may manage the record. Audited.
    pub async fn evidence(
        &self,
        actor: &Actor,
        id: i64,
        attachment: i64,
    ) -> Result<(IncidentAttachment, Vec<u8>)> {
        self.incident_for(actor, id, IncidentAccess::Manage).await?;
        let att = self
            .store
            .incident_attachments(id)
            .await?
            .into_iter()
            .find(|a| a.id == attachment)
            .ok_or_else(|| ServiceError::NotFound(format!("file {attachment}")))?;
        let files = self
            .files
            .as_ref()
            .ok_or_else(|| ServiceError::NotFound(format!("file {attachment}")))?;
        let (_, bytes) = files.get(&att.sha256)?;
        self.store
            .append_audit(
                self.clock.now(),
                actor.event(
                    "incident.evidence_view",
                    Some(format!("incident:{id}")),
                    json!({ "attachment": attachment }),
                ),
            )
            .await?;
        Ok((att, bytes))
    }

    /// Breaches whose ICO deadline still runs, soonest first (the DPO's and head's home
    /// pages). Empty for anyone else.
    pub async fn breach_countdowns(&self, actor: &Actor) -> Result<Vec<BreachCountdown>> {
        if !actor.roles.iter().any(|r| may_see_breach_log(*r)) {
            return Ok(Vec::new());
        }
        let school = self.school().await?;
        let now = self.clock.now();
        let mut out: Vec<BreachCountdown> = self
            .store
            .incidents(school.id, 2_000)
            .await?
            .into_iter()
            .filter_map(|i| {
                let b = i.breach.as_ref()?;
                if b.settled() {
                    return None;
                }
                let deadline = ico_deadline(b.discovered_at);
                let clock = BreachClock::at(now, b.discovered_at, false);
                Some(BreachCountdown {
                    incident: i,
                    deadline,
                    clock,
                })
            })
            .collect();
        out.sort_by_key(|c| c.deadline);
        Ok(out)
    }

    /// Every data breach and near miss, oldest first (the breach log). Audited.
    pub async fn breach_log(&self, actor: &Actor) -> Result<Vec<Incident>> {
        if !actor.roles.iter().any(|r| may_see_breach_log(*r)) {
            return Err(ServiceError::Forbidden);
        }
        let school = self.school().await?;
        let mut out: Vec<Incident> = self
            .store
            .incidents(school.id, 100_000)
            .await?
            .into_iter()
            .filter(|i| i.kind == IncidentKind::DataBreach)
            .collect();
        out.reverse();
        self.store
            .append_audit(
                self.clock.now(),
                actor.event("incident.breach_log", None, json!({ "count": out.len() })),
            )
            .await?;
        Ok(out)
    }

    /// The breach log as CSV (the record UK GDPR article 33(5) requires).
    pub async fn export_breach_log(&self, actor: &Actor) -> Result<Vec<u8>> {
        let log = self.breach_log(actor).await?;
        let mut w = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| ServiceError::Invalid(format!("export: {e}"));
        w.write_record([
            "id",
            "summary",
            "discovered",
            "ico_deadline",
            "reported",
            "near_miss",
            "data",
            "people_affected",
            "records",
            "likely_consequences",
            "risk",
            "decision",
            "reason_not_reported",
            "ico_reference",
            "people_told",
            "measures",
            "status",
            "outcome",
        ])
        .map_err(csv_err)?;
        for i in &log {
            let Some(b) = &i.breach else { continue };
            let (decision, reason) = match &b.decision {
                ReportDecision::Undecided => ("undecided", ""),
                ReportDecision::Report => ("report", ""),
                ReportDecision::DoNotReport(r) => ("not_report", r.as_str()),
            };
            w.write_record([
                i.id.to_string(),
                crate::csv_safe(&i.summary),
                b.discovered_at.to_string(),
                ico_deadline(b.discovered_at).to_string(),
                i.reported_at.to_string(),
                if b.near_miss { "yes" } else { "no" }.to_owned(),
                crate::csv_safe(&b.data),
                b.people_count.map(|n| n.to_string()).unwrap_or_default(),
                b.records_count.map(|n| n.to_string()).unwrap_or_default(),
                crate::csv_safe(&b.consequences),
                b.risk.map(|r| r.as_str()).unwrap_or("").to_owned(),
                decision.to_owned(),
                crate::csv_safe(reason),
                crate::csv_safe(b.ico_reference.as_deref().unwrap_or("")),
                match b.people_told {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "",
                }
                .to_owned(),
                crate::csv_safe(&b.measures),
                i.status.as_str().to_owned(),
                crate::csv_safe(i.outcome.as_deref().unwrap_or("")),
            ])
            .map_err(csv_err)?;
        }
        w.into_inner()
            .map_err(|e| ServiceError::Invalid(format!("export: {e}")))
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
