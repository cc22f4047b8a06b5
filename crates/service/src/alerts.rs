//! Monitoring alerts: stored as the rules raise them (repeats folded into one alert with a
//! count), the DSL told at once of critical and high ones, and triaged: new →
//! acknowledged → dismissed (with a reason) or escalated. Only the DSL team and the head
//! see them; every view is audited.

use crate::mail::{Mailer, Outgoing};
use crate::{Actor, Gatehouse, Result, ServiceError};
use gatehouse_activity::monitor::{Alerted, NewAlert};
use gatehouse_dns::ActivityEvent;
use gatehouse_domain::audit::AuditEvent;
use gatehouse_domain::filtering::Reason;
use gatehouse_domain::permissions::{Action, Resource, Role};
use gatehouse_store::{AlertRecord, NewAlertRecord};
use jiff::{SignedDuration, Timestamp};

/// An activity event as kept in an alert's evidence.
pub fn evidence_json(e: &ActivityEvent) -> String {
    serde_json::json!({
        "time": e.time.to_string(),
        "client": e.client.to_string(),
        "device": e.device,
        "person": e.person,
        "group": e.group,
        "identified_by": e.identified_by.to_string(),
        "qname": e.qname,
        "qtype": e.qtype,
        "category": e.category,
        "action": e.action.as_str(),
        "rule": e.rule,
        "matched_list": e.matched_list,
        "rcode": e.rcode.to_string(),
        "transport": e.transport.to_string(),
    })
    .to_string()
}

/// The alert evidence's events, read back for pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRow {
    /// When.
    pub time: Timestamp,
    /// Device address.
    pub client: String,
    /// The name asked for.
    pub qname: String,
    /// Category.
    pub category: String,
    /// What the filter did.
    pub action: String,
}

/// The setting holding the date of the last daily digest.
const DIGEST_SETTING: &str = "alert_digest_sent_on";

fn system(action: &str, detail: serde_json::Value) -> AuditEvent {
    AuditEvent {
        actor: "monitoring".into(),
        action: action.into(),
        target: None,
        ip: None,
        detail: detail.to_string(),
    }
}

impl Gatehouse {
    /// Store what the monitoring rules raised: new alerts, and repeats folded into the
    /// open alert of the same rule and person (a repeat whose alert was dismissed or
    /// escalated meanwhile is not raised again until the fold window has passed).
    /// Returns the new alerts.
    pub async fn record_alerts(
        &self,
        raised: &[Alerted],
        fold: SignedDuration,
    ) -> Result<Vec<AlertRecord>> {
        let school = self.school().await?;
        let mut new = Vec::new();
        for a in raised {
            match a {
                Alerted::New(n) => new.push(self.create_alert(school.id, n).await?),
                Alerted::Folded { key, event, count } => {
                    if let Some(id) = self
                        .store
                        .open_alert(school.id, &key.rule, &key.subject, event.time - fold)
                        .await?
                    {
                        self.store
                            .fold_alert(id, event.time, &evidence_json(event), i64::from(*count))
                            .await?;
                    }
                }
            }
        }
        Ok(new)
    }

    async fn create_alert(&self, school: i64, n: &NewAlert) -> Result<AlertRecord> {
        let first = n.evidence.first();
        let person_id = n
            .key
            .subject
            .strip_prefix("person:")
            .and_then(|p| p.parse::<i64>().ok());
        let person_id = match person_id {
            Some(id) if self.store.person(school, id).await?.is_some() => Some(id),
            _ => None,
        };
        let record = NewAlertRecord {
            rule: n.key.rule.clone(),
            subject: n.key.subject.clone(),
            person_id,
            client_ip: first.map(|e| e.client.to_string()),
            group: first.map(|e| e.group.clone()).unwrap_or_default(),
            severity: n.severity.as_str().to_owned(),
            summary: n.summary.clone(),
            at: first.map_or_else(|| self.clock.now(), |e| e.time),
            evidence: n
                .evidence
                .iter()
                .map(|e| (e.time, evidence_json(e)))
                .collect(),
        };
        Ok(self
            .store
            .create_alert(
                school,
                &record,
                system(
                    "alert.raise",
                    serde_json::json!({ "rule": n.key.rule, "severity": n.severity.as_str() }),
                ),
            )
            .await?)
    }

    /// Tell every DSL (by email; in the demo, the outbox) about urgent alerts not yet
    /// notified. A failure to send is logged and left for the next attempt.
    pub async fn notify_alerts(&self, mailer: &Mailer, alerts: &[AlertRecord]) -> Result<usize> {
        let urgent: Vec<&AlertRecord> = alerts
            .iter()
            .filter(|a| {
                matches!(a.severity.as_str(), "critical" | "high") && a.notified_at.is_none()
            })
            .collect();
        if urgent.is_empty() {
            return Ok(0);
        }
        let school = self.school().await?;
        let mut to = Vec::new();
        for account in self.store.list_accounts(school.id).await? {
            if account.disabled || !account.roles.contains(&Role::Dsl) {
                continue;
            }
            let Some(pid) = account.person_id else {
                continue;
            };
            if let Some(p) = self.store.person(school.id, pid).await?
                && let Some(email) = &p.person.details.email
            {
                to.push((email.as_str().to_owned(), p.person.details.full_name()));
            }
        }
        if to.is_empty() {
            tracing::warn!("an urgent alert was raised but no DSL has an email address");
        }
        let mut sent = 0;
        for a in urgent {
            let who = a.person.as_ref().map_or_else(
                || format!("a device at {}", a.client_ip.as_deref().unwrap_or("?")),
                |p| p.name.clone(),
            );
            let body = format!(
                "A {} monitoring alert was raised for {who}.\n\n{}\n\nSee it and decide what to do: {}/alerts/{}\n\nThis message names no more than needed; the details are in Gatehouse.",
                a.severity, a.summary, mailer.base_url, a.id
            );
            let mut all_ok = true;
            for (email, name) in &to {
                let m = Outgoing {
                    to: email.clone(),
                    to_name: name.clone(),
                    subject: format!("Gatehouse: {} alert", a.severity),
                    body: body.clone(),
                };
                if let Err(e) = mailer.send(&m).await {
                    tracing::error!(alert = a.id, "telling the DSL of an alert: {e}");
                    all_ok = false;
                }
            }
            if all_ok && !to.is_empty() {
                self.store
                    .mark_alert_notified(a.id, self.clock.now())
                    .await?;
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// The daily digest: once a day from 07:00 (school time), every DSL gets one email
    /// listing the new medium and low alerts not yet reported. Returns how many alerts it
    /// listed (0 when it is not yet time, already sent today, or there is nothing new).
    pub async fn send_alert_digest(&self, mailer: &Mailer) -> Result<usize> {
        let tz = jiff::tz::TimeZone::get(crate::agreements::SCHOOL_TZ)
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let now = self.clock.now().to_zoned(tz);
        let today = now.date().to_string();
        if now.hour() < 7
            || self.store.setting(DIGEST_SETTING).await?.as_deref() == Some(today.as_str())
        {
            return Ok(0);
        }
        let school = self.school().await?;
        let pending: Vec<AlertRecord> = self
            .store
            .alerts(school.id, Some("new"), 10_000)
            .await?
            .into_iter()
            .filter(|a| {
                a.notified_at.is_none() && !matches!(a.severity.as_str(), "critical" | "high")
            })
            .collect();
        if !pending.is_empty() {
            let mut body = format!(
                "{} new monitoring alert{} to review:\n\n",
                pending.len(),
                if pending.len() == 1 { "" } else { "s" }
            );
            for a in &pending {
                body.push_str(&format!(
                    "- {} ({}): {}/alerts/{}\n",
                    a.severity, a.rule, mailer.base_url, a.id
                ));
            }
            for (email, name) in self.addresses_of(school.id, Role::Dsl).await? {
                mailer
                    .send(&Outgoing {
                        to: email,
                        to_name: name,
                        subject: format!("Gatehouse: {} alerts to review", pending.len()),
                        body: body.clone(),
                    })
                    .await?;
            }
            let at = self.clock.now();
            for a in &pending {
                self.store.mark_alert_notified(a.id, at).await?;
            }
        }
        self.store.set_setting(DIGEST_SETTING, &today).await?;
        Ok(pending.len())
    }

    /// Email addresses and names of the people whose accounts hold `role`.
    pub(crate) async fn addresses_of(
        &self,
        school: i64,
        role: Role,
    ) -> Result<Vec<(String, String)>> {
        let mut to = Vec::new();
        for account in self.store.list_accounts(school).await? {
            if account.disabled || !account.roles.contains(&role) {
                continue;
            }
            let Some(pid) = account.person_id else {
                continue;
            };
            if let Some(p) = self.store.person(school, pid).await?
                && let Some(email) = &p.person.details.email
            {
                to.push((email.as_str().to_owned(), p.person.details.full_name()));
            }
        }
        Ok(to)
    }

    /// Alerts, newest first: only `status` when given (`new`, `acknowledged`,
    /// `dismissed`, `escalated`, or `open` for new and acknowledged).
    pub async fn alerts(&self, actor: &Actor, status: Option<&str>) -> Result<Vec<AlertRecord>> {
        actor.require(Action::View, Resource::Alerts)?;
        let school = self.school().await?;
        let list = self.store.alerts(school.id, status, 200).await?;
        self.store
            .append_audit(
                self.clock.now(),
                actor.event("alert.list", None, serde_json::json!({ "status": status })),
            )
            .await?;
        Ok(list)
    }

    /// How many alerts are new, and how many of those are critical or high (numbers only,
    /// for the home page: not audited).
    pub async fn new_alert_counts(&self, actor: &Actor) -> Result<(usize, usize)> {
        actor.require(Action::View, Resource::Alerts)?;
        let school = self.school().await?;
        let new = self.store.alerts(school.id, Some("new"), 10_000).await?;
        let urgent = new
            .iter()
            .filter(|a| matches!(a.severity.as_str(), "critical" | "high"))
            .count();
        Ok((new.len(), urgent))
    }

    /// One alert with its evidence (the view is audited).
    pub async fn alert(&self, actor: &Actor, id: i64) -> Result<(AlertRecord, Vec<EvidenceRow>)> {
        actor.require(Action::View, Resource::Alerts)?;
        let school = self.school().await?;
        let (a, evidence) = self
            .store
            .alert(school.id, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("alert {id}")))?;
        self.store
            .append_audit(
                self.clock.now(),
                actor.event(
                    "alert.view",
                    Some(format!("alert:{id}")),
                    serde_json::json!({}),
                ),
            )
            .await?;
        let rows = evidence
            .into_iter()
            .map(|(time, json)| {
                let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
                let s = |k: &str| v[k].as_str().unwrap_or("").to_owned();
                EvidenceRow {
                    time,
                    client: s("client"),
                    qname: s("qname"),
                    category: s("category"),
                    action: s("action"),
                }
            })
            .collect();
        Ok((a, rows))
    }

    /// Escalate an alert into an incident of `kind` (by default, what its rule suggests:
    /// a safeguarding concern for self-harm, a radicalisation concern for extremism, an
    /// online-safety incident otherwise), with the alert's summary, evidence and the
    /// person it is about; the alert is marked escalated and linked to it. Returns the
    /// incident's id.
    pub async fn escalate_alert(
        &self,
        actor: &Actor,
        id: i64,
        kind: Option<gatehouse_domain::incidents::IncidentKind>,
        note: &str,
    ) -> Result<i64> {
        use gatehouse_domain::incidents::{
            IncidentKind, Involvement, Severity as IncidentSeverity,
        };
        let (alert, evidence) = self.alert(actor, id).await?;
        if !matches!(alert.status.as_str(), "new" | "acknowledged") {
            return Err(ServiceError::Store(gatehouse_store::StoreError::Conflict(
                format!("alert {id} is already {}", alert.status),
            )));
        }
        let kind = kind.unwrap_or(
            if alert.rule.contains("self_harm") || alert.rule.contains("self-harm") {
                IncidentKind::Safeguarding
            } else if alert.rule.contains("extremism") || alert.rule.contains("terrorism") {
                IncidentKind::Radicalisation
            } else {
                IncidentKind::OnlineSafety
            },
        );
        let severity = match alert.severity.as_str() {
            "critical" => IncidentSeverity::Critical,
            "high" => IncidentSeverity::High,
            "medium" => IncidentSeverity::Medium,
            _ => IncidentSeverity::Low,
        };
        let mut description = format!(
            "Raised by the monitoring rule {} ({} time{}).\n{}\n\nEvidence:\n",
            alert.rule,
            alert.count,
            if alert.count == 1 { "" } else { "s" },
            alert.summary
        );
        for e in &evidence {
            description.push_str(&format!(
                "- {} {} {} ({})\n",
                e.time, e.client, e.qname, e.action
            ));
        }
        if !note.trim().is_empty() {
            description.push_str(&format!("\nNote: {}\n", note.trim()));
        }
        let people = alert
            .person
            .iter()
            .map(|p| gatehouse_store::IncidentPerson {
                person_id: Some(p.id),
                name: p.name.clone(),
                kind: if p.kind == gatehouse_domain::people::PersonKind::Pupil {
                    "pupil"
                } else if p.kind == gatehouse_domain::people::PersonKind::Staff {
                    "staff"
                } else {
                    "other"
                }
                .into(),
                involvement: Involvement::Affected,
            })
            .collect();
        let summary: String = alert
            .summary
            .chars()
            .take(crate::incidents::MAX_SUMMARY_CHARS)
            .collect();
        let incident = self
            .report_incident(
                actor,
                &crate::incidents::ReportRequest {
                    kind,
                    summary,
                    description,
                    severity,
                    occurred_at: Some(alert.first_at),
                    people,
                    breach: None,
                },
            )
            .await?;
        let note = if note.trim().is_empty() {
            format!("escalated into incident {incident}")
        } else {
            format!("{} (incident {incident})", note.trim())
        };
        self.triage_alert(actor, id, "escalate", &note).await?;
        self.store.link_alert_incident(id, incident).await?;
        Ok(incident)
    }

    /// Triage: `acknowledge`, `dismiss` (a reason is required) or `escalate`.
    pub async fn triage_alert(
        &self,
        actor: &Actor,
        id: i64,
        step: &str,
        note: &str,
    ) -> Result<AlertRecord> {
        actor.require(Action::Edit, Resource::Alerts)?;
        let (from, to, note): (&[&str], &str, Option<Reason>) = match step {
            "acknowledge" => (&["new"], "acknowledged", None),
            "dismiss" => (
                &["new", "acknowledged"],
                "dismissed",
                Some(Reason::parse("reason", note)?),
            ),
            "escalate" => (
                &["new", "acknowledged"],
                "escalated",
                (!note.trim().is_empty())
                    .then(|| Reason::parse("note", note))
                    .transpose()?,
            ),
            other => {
                return Err(ServiceError::Invalid(format!(
                    "step: '{other}' is not acknowledge, dismiss or escalate"
                )));
            }
        };
        let school = self.school().await?;
        Ok(self
            .store
            .set_alert_status(
                school.id,
                id,
                from,
                to,
                note.as_ref().map(Reason::as_str),
                self.clock.now(),
                actor.event(
                    &format!("alert.{step}"),
                    Some(format!("alert:{id}")),
                    serde_json::json!({ "note": note.as_ref().map(Reason::as_str) }),
                ),
            )
            .await?)
    }
}
