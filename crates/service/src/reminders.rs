//! Reminders to sign: when an agreement is issued to someone, 7 days and 1 day before it
//! is due, then weekly while it is overdue; and a weekly digest to the head. Each reminder
//! is recorded when sent, so running this every hour sends each one once.
//! Pupils' reminders go to their parents (and to the pupil too when they sign themselves
//! and have an address).

use crate::agreements::person_status;
use crate::mail::{Mailer, Outgoing};
use crate::{Actor, Gatehouse, Result};
use gatehouse_domain::agreements::Audience;
use gatehouse_domain::agreements::requirement::Status;
use gatehouse_domain::permissions::Role;
use gatehouse_store::Person;
use jiff::civil::Date;
use std::collections::HashMap;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReminderReport {
    /// Messages sent.
    pub sent: usize,
    /// Reminders due to people with no email address on record (nor parents with one).
    pub no_address: usize,
    /// Messages that could not be sent.
    pub failed: usize,
}

/// Which reminder, if any, is due for a status on `today`.
pub fn stage(status: &Status, today: Date) -> Option<String> {
    if !status.needs_action() {
        return None;
    }
    let due = status.due()?;
    let days_left = (due - today).get_days();
    Some(if status.is_overdue() {
        let weeks = (today - due).get_days().max(0) / 7;
        format!("overdue:{weeks}")
    } else if days_left <= 1 {
        "before1".to_owned()
    } else if days_left <= 7 {
        "before7".to_owned()
    } else {
        "issued".to_owned()
    })
}

fn fmt(d: Date) -> String {
    d.strftime("%A %-d %B %Y").to_string()
}

impl Gatehouse {
    /// Send every reminder and digest that is due and not yet sent.
    pub async fn send_reminders(&self, mailer: &Mailer) -> Result<ReminderReport> {
        let school = self.school().await?;
        let today = self.today();
        let now = self.clock.now();
        let people = self.store.active_people(school.id).await?;
        let by_id: HashMap<i64, &Person> = people.iter().map(|p| (p.id, p)).collect();
        let mut parents: HashMap<i64, Vec<i64>> = HashMap::new();
        for (parent, child) in self.store.parent_links(school.id).await? {
            parents.entry(child).or_default().push(parent);
        }
        let records = self.store.signatures(school.id, None).await?;
        let policies = self.store.policies(school.id).await?;
        let mut report = ReminderReport::default();
        for policy in &policies {
            let Some(version) = policy.published() else {
                continue;
            };
            for person in people
                .iter()
                .filter(|p| Audience::of(p.details.kind, p.details.year_group) == policy.audience)
            {
                let st = person_status(policy, person, &records, today);
                let (Some(stage), Some(due)) = (stage(&st, today), st.due()) else {
                    continue;
                };
                let mut to: Vec<&Person> = Vec::new();
                if policy.audience.is_pupils() {
                    to.extend(
                        parents
                            .get(&person.id)
                            .into_iter()
                            .flatten()
                            .filter_map(|id| by_id.get(id).copied()),
                    );
                }
                if !policy.audience.parent_signs_only() {
                    to.push(person);
                }
                let to: Vec<&Person> = to
                    .into_iter()
                    .filter(|p| p.details.email.is_some())
                    .collect();
                if to.is_empty() {
                    report.no_address += 1;
                    continue;
                }
                for r in to {
                    let key = format!(
                        "policy:{}:v{}:person:{}:{stage}",
                        policy.id, version.number, person.id
                    );
                    if !self.store.mark_reminder(r.id, &key, now).await? {
                        continue;
                    }
                    let about = if r.id == person.id {
                        "you".to_owned()
                    } else {
                        person.details.full_name()
                    };
                    let subject = if st.is_overdue() {
                        format!("Overdue: please sign the {}", policy.title)
                    } else {
                        format!("Please sign the {} by {}", policy.title, fmt(due))
                    };
                    let body = format!(
                        "Dear {},\n\nThe school asks {about} to read and sign the {} (version {}) {} {}.\n\n\
                         Sign in to Gatehouse to read it and sign: {}/sign\n\n\
                         If you have a question about the agreement, please contact the school office.\n",
                        r.details.full_name(),
                        policy.title,
                        version.number,
                        if st.is_overdue() {
                            "— it was due on"
                        } else {
                            "by"
                        },
                        fmt(due),
                        mailer.base_url,
                    );
                    match self.send_one(mailer, r, subject, body).await {
                        Ok(()) => report.sent += 1,
                        Err(e) => {
                            tracing::warn!(error = %e, person = r.id, "reminder not sent");
                            report.failed += 1;
                        }
                    }
                }
            }
        }
        self.send_digest(mailer, &mut report).await?;
        Ok(report)
    }

    async fn send_one(
        &self,
        mailer: &Mailer,
        to: &Person,
        subject: String,
        body: String,
    ) -> Result<()> {
        let Some(email) = &to.details.email else {
            return Ok(());
        };
        mailer
            .send(&Outgoing {
                to: email.to_string(),
                to_name: to.details.full_name(),
                subject,
                body,
            })
            .await
    }

    /// The weekly digest to every head: coverage of each agreement and overdue reviews.
    async fn send_digest(&self, mailer: &Mailer, report: &mut ReminderReport) -> Result<()> {
        let school = self.school().await?;
        let today = self.today();
        let week = today.iso_week_date();
        let key = format!("digest:{}-W{:02}", week.year(), week.week());
        let heads: Vec<(i64, Person)> = {
            let mut out = Vec::new();
            for a in self.store.list_accounts(school.id).await? {
                if a.disabled || !a.roles.contains(&Role::Head) {
                    continue;
                }
                if let Some(pid) = a.person_id
                    && let Some(rec) = self.store.person(school.id, pid).await?
                {
                    out.push((a.id, rec.person));
                }
            }
            out
        };
        if heads.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        for (p, c) in self.coverage(&Actor::cli()).await? {
            if p.published().is_none() || c.required == 0 {
                continue;
            }
            lines.push(format!(
                "- {}: {}% signed ({} of {}), {} due, {} overdue, {} to sign again",
                p.title,
                c.signed_percent(),
                c.signed,
                c.required,
                c.due,
                c.overdue,
                c.resign
            ));
            if let Some(review) = p
                .published()
                .and_then(|v| v.review_on)
                .filter(|r| *r <= today)
            {
                lines.push(format!("  Review was due on {}.", fmt(review)));
            }
        }
        for (_, head) in heads {
            if head.details.email.is_none()
                || !self
                    .store
                    .mark_reminder(head.id, &key, self.clock.now())
                    .await?
            {
                continue;
            }
            let body = format!(
                "Dear {},\n\nAcceptable use agreements at {}, week of {}:\n\n{}\n\nThe register: {}/agreements\n",
                head.details.full_name(),
                school.name,
                fmt(today),
                lines.join("\n"),
                mailer.base_url
            );
            match self
                .send_one(
                    mailer,
                    &head,
                    format!("Weekly agreements digest: {}", school.name),
                    body,
                )
                .await
            {
                Ok(()) => report.sent += 1,
                Err(e) => {
                    tracing::warn!(error = %e, "digest not sent");
                    report.failed += 1;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn stages_follow_the_schedule() {
        let due = date(2026, 9, 15);
        let at = |d| stage(&Status::Due { due }, d);
        assert_eq!(at(date(2026, 9, 1)).as_deref(), Some("issued"));
        assert_eq!(at(date(2026, 9, 8)).as_deref(), Some("before7"));
        assert_eq!(at(date(2026, 9, 14)).as_deref(), Some("before1"));
        assert_eq!(at(date(2026, 9, 15)).as_deref(), Some("before1"));
        let over = |d| stage(&Status::Overdue { due }, d);
        assert_eq!(over(date(2026, 9, 16)).as_deref(), Some("overdue:0"));
        assert_eq!(over(date(2026, 9, 22)).as_deref(), Some("overdue:1"));
        assert_eq!(over(date(2026, 9, 29)).as_deref(), Some("overdue:2"));
        assert_eq!(
            stage(
                &Status::Signed {
                    version: 1,
                    on: due
                },
                due
            ),
            None
        );
    }
}
