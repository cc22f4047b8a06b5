//! Acceptable use agreements: policies and versions (draft → approved → published →
//! superseded), each person's status, signing (for oneself or for one's children),
//! paper signatures, the register, and the signature ledger's verification.

use crate::{Actor, Gatehouse, Result, ServiceError};
use gatehouse_domain::agreements::Audience;
use gatehouse_domain::agreements::ledger::{
    Act, Method, Relation, Signature, SignatureRecord, check_record, names_match,
};
use gatehouse_domain::agreements::requirement::{
    PersonFacts, Requirement, SignatureFacts, Status, VersionFacts, status,
};
use gatehouse_domain::agreements::text::{Diff, PolicyText, parse_policy};
use gatehouse_domain::chain::ChainVerifier;
use gatehouse_domain::permissions::{Action, Resource};
use gatehouse_store::{NewPolicy, NewVersion, Person, Policy, PolicyVersion, VersionStatus};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use std::collections::HashMap;

/// The time zone school days are counted in.
pub const SCHOOL_TZ: &str = "Europe/London";

/// A new policy from a document.
#[derive(Debug, Clone)]
pub struct PolicyRequest {
    /// Settings.
    pub policy: NewPolicy,
    /// The document (Markdown or plain text).
    pub source: String,
    /// Which agreement of the document to take (from the import preview), if it holds several.
    pub candidate: Option<usize>,
}

/// A person's agreement: the policy, the version to sign, and their status.
#[derive(Debug, Clone, Serialize)]
pub struct PersonAgreement {
    /// Policy id.
    pub policy_id: i64,
    /// Title.
    pub title: String,
    /// The published version (to sign).
    pub version: Option<VersionRef>,
    /// Status today.
    pub status: Status,
}

/// A short reference to a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRef {
    /// Id.
    pub id: i64,
    /// Number.
    pub number: u32,
    /// SHA-256 of its text.
    pub hash: String,
}

/// Something the signed-in person has to sign: for themself or for a child.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Whose agreement.
    pub person: Person,
    /// Signed by a parent for their child.
    pub for_child: bool,
    /// The policy.
    pub policy: Policy,
    /// The version to sign.
    pub version: PolicyVersion,
    /// Its text.
    pub text: PolicyText,
    /// What changed since the version they last signed, if they signed one.
    pub changes: Option<(u32, Diff)>,
    /// Status.
    pub status: Status,
}

/// A signing, as submitted.
#[derive(Debug, Clone)]
pub struct SignRequest {
    /// The version shown.
    pub version_id: i64,
    /// Whose agreements (the signer's own id, or their children's).
    pub people: Vec<i64>,
    /// The full name typed.
    pub typed_name: String,
    /// The "I have read and agree" box was ticked.
    pub agreed: bool,
    /// Browser.
    pub user_agent: Option<String>,
}

/// A paper signature being entered by staff.
#[derive(Debug, Clone)]
pub struct PaperRequest {
    /// Whose agreement.
    pub person_id: i64,
    /// Signed by their parent (pupils).
    pub by_parent: Option<i64>,
    /// The version on the paper.
    pub version_id: i64,
    /// The date written on it.
    pub signed_on: Date,
    /// The name written on it.
    pub written_name: String,
    /// The scan of the signed form (PDF, PNG or JPEG), kept by its SHA-256.
    pub scan: Option<Vec<u8>>,
}

/// The register's filters.
#[derive(Debug, Clone, Default)]
pub struct RegisterFilter {
    /// Kind of person.
    pub kind: Option<gatehouse_domain::people::PersonKind>,
    /// Year group code.
    pub year_group: Option<String>,
    /// Class.
    pub class_name: Option<String>,
    /// Status key (`due`, `overdue`, `signed`, `resign`).
    pub status: Option<String>,
}

/// A row of the register.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterRow {
    /// The person.
    pub person: Person,
    /// Their status.
    pub status: Status,
}

/// Counts for a register.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegisterCounts {
    /// Everyone who must sign.
    pub required: usize,
    /// Signed the current version.
    pub signed: usize,
    /// Due, not yet overdue.
    pub due: usize,
    /// Overdue.
    pub overdue: usize,
    /// Signed an older version; must re-sign.
    pub resign: usize,
}

impl RegisterCounts {
    /// Percentage of those required who have signed, rounded down.
    pub fn signed_percent(&self) -> usize {
        (self.signed * 100).checked_div(self.required).unwrap_or(0)
    }
}

/// One policy's register.
#[derive(Debug, Clone, Serialize)]
pub struct Register {
    /// The policy.
    pub policy: Policy,
    /// Rows after filtering.
    pub rows: Vec<RegisterRow>,
    /// Counts over everyone required (before filtering).
    pub counts: RegisterCounts,
}

/// A signed copy of an agreement.
#[derive(Debug, Clone)]
pub struct SignedCopy {
    /// Whose agreement.
    pub person: Person,
    /// Who signed.
    pub signer: Person,
    /// Policy title.
    pub title: String,
    /// The version signed.
    pub version: PolicyVersion,
    /// Its text.
    pub text: PolicyText,
    /// The ledger record.
    pub record: SignatureRecord,
}

/// The ledger check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerReport {
    /// Records checked.
    pub records: i64,
    /// First broken record, if any.
    pub broken: Option<crate::audit::BrokenEntry>,
}

fn requirement(p: &Policy) -> Requirement {
    Requirement {
        audience: p.audience,
        days_to_sign: p.days_to_sign,
        annual_from: p.annual_from,
    }
}

fn version_facts(p: &Policy) -> Vec<VersionFacts> {
    p.versions
        .iter()
        .filter(|v| {
            matches!(
                v.status,
                VersionStatus::Published | VersionStatus::Superseded
            )
        })
        .filter_map(|v| {
            Some(VersionFacts {
                number: v.number,
                effective: v.effective_on?,
                material: v.material || v.number == 1,
            })
        })
        .collect()
}

fn person_facts(p: &Person) -> PersonFacts {
    PersonFacts {
        audience: Audience::of(p.details.kind, p.details.year_group),
        joined: p.details.start_date.unwrap_or(p.recorded_on),
        left: p.details.leave_date,
        active: p.active,
    }
}

/// Ledger records turned into the facts the status rule reads: a withdrawal applies to the
/// signatures before it.
fn signature_facts(records: &[&SignatureRecord]) -> Vec<SignatureFacts> {
    let mut out: Vec<SignatureFacts> = Vec::new();
    for r in records {
        let s = &r.signature;
        match s.act {
            Act::Sign => out.push(SignatureFacts {
                version: s.version_number,
                on: s.signed_on,
                withdrawn_on: None,
            }),
            Act::Withdraw => {
                for f in out.iter_mut().filter(|f| f.withdrawn_on.is_none()) {
                    f.withdrawn_on = Some(s.signed_on);
                }
            }
        }
    }
    out
}

/// A policy's status for a person, given all ledger records for that person.
pub fn person_status(
    policy: &Policy,
    person: &Person,
    records: &[SignatureRecord],
    today: Date,
) -> Status {
    let mine: Vec<&SignatureRecord> = records
        .iter()
        .filter(|r| r.signature.policy_id == policy.id && r.signature.person_id == person.id)
        .collect();
    status(
        &requirement(policy),
        &version_facts(policy),
        &person_facts(person),
        &signature_facts(&mine),
        today,
    )
}

fn text_of(v: &PolicyVersion) -> PolicyText {
    parse_policy(&v.body).text
}

fn check_text(text: &PolicyText) -> Result<()> {
    if text.clause_count() == 0 {
        return Err(ServiceError::Invalid(
            "text: no clauses were found; write each thing the reader agrees to as a numbered or bulleted item".into(),
        ));
    }
    Ok(())
}

impl Gatehouse {
    /// Today in the school's time zone.
    pub fn today(&self) -> Date {
        let tz = TimeZone::get(SCHOOL_TZ).unwrap_or(TimeZone::UTC);
        self.clock.now().to_zoned(tz).date()
    }

    /// Every policy.
    pub async fn policies(&self, actor: &Actor) -> Result<Vec<Policy>> {
        actor.require(Action::View, Resource::Policies)?;
        let school = self.school().await?;
        Ok(self.store.policies(school.id).await?)
    }

    /// One policy.
    pub async fn policy(&self, actor: &Actor, id: i64) -> Result<Policy> {
        actor.require(Action::View, Resource::Policies)?;
        let school = self.school().await?;
        self.store
            .policy(school.id, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("policy {id}")))
    }

    /// Create a policy with its first (draft) version from a document.
    pub async fn create_policy(&self, actor: &Actor, req: &PolicyRequest) -> Result<(i64, i64)> {
        actor.require(Action::Edit, Resource::Policies)?;
        let title = req.policy.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(ServiceError::Invalid(
                "title: must be 1–200 characters".into(),
            ));
        }
        let report = parse_policy(&req.source);
        let text = match req.candidate {
            Some(i) => {
                let c = report.candidates.get(i).ok_or_else(|| {
                    ServiceError::Invalid(format!("part: the document has no part {}", i + 1))
                })?;
                report.text.select(c)
            }
            None => report.text,
        };
        check_text(&text)?;
        let school = self.school().await?;
        let now = self.clock.now();
        let policy = NewPolicy {
            title: title.to_owned(),
            ..req.policy.clone()
        };
        let policy_id = self
            .store
            .create_policy(
                school.id,
                &policy,
                now,
                actor.event(
                    "policy.create",
                    None,
                    serde_json::json!({ "title": title, "audience": policy.audience }),
                ),
            )
            .await?;
        let version = self
            .add_version(actor, policy_id, &text, true, "First version")
            .await?;
        Ok((policy_id, version))
    }

    async fn add_version(
        &self,
        actor: &Actor,
        policy_id: i64,
        text: &PolicyText,
        material: bool,
        note: &str,
    ) -> Result<i64> {
        let body = text.canonical();
        let hash = text.hash();
        let draft = NewVersion {
            policy_id,
            body,
            hash: hash.clone(),
            material,
            change_note: note.trim().to_owned(),
            created_by: actor.name.clone(),
        };
        Ok(self
            .store
            .add_version(
                &draft,
                self.clock.now(),
                actor.event(
                    "policy.version_draft",
                    None,
                    serde_json::json!({ "policy": policy_id, "hash": hash, "material": material }),
                ),
            )
            .await?)
    }

    /// A new draft version of a policy. `material`: signers must sign again.
    pub async fn new_version(
        &self,
        actor: &Actor,
        policy_id: i64,
        source: &str,
        material: bool,
        note: &str,
    ) -> Result<i64> {
        actor.require(Action::Edit, Resource::Policies)?;
        let policy = self.policy(actor, policy_id).await?;
        let text = parse_policy(source).text;
        check_text(&text)?;
        if policy
            .versions
            .last()
            .is_some_and(|v| v.hash == text.hash())
        {
            return Err(ServiceError::Invalid(
                "text: this is the same as the latest version".into(),
            ));
        }
        self.add_version(actor, policy.id, &text, material, note)
            .await
    }

    /// Record approval of a draft (e.g. by the governing body on a date).
    pub async fn approve_version(
        &self,
        actor: &Actor,
        version_id: i64,
        by: &str,
        on: Date,
    ) -> Result<()> {
        actor.require(Action::Edit, Resource::Policies)?;
        let by = by.trim();
        if by.is_empty() {
            return Err(ServiceError::Invalid(
                "approved by: say who approved it (e.g. Full governing body)".into(),
            ));
        }
        self.store
            .approve_version(
                version_id,
                by,
                on,
                self.clock.now(),
                actor.event(
                    "policy.version_approve",
                    Some(format!("policy_version:{version_id}")),
                    serde_json::json!({ "by": by, "on": on }),
                ),
            )
            .await?;
        Ok(())
    }

    /// Publish an approved version, in force from `effective`, to be reviewed by `review`.
    pub async fn publish_version(
        &self,
        actor: &Actor,
        version_id: i64,
        effective: Date,
        review: Date,
    ) -> Result<()> {
        actor.require(Action::Edit, Resource::Policies)?;
        if review <= effective {
            return Err(ServiceError::Invalid(
                "review date: must be after the effective date".into(),
            ));
        }
        self.store
            .publish_version(
                version_id,
                effective,
                review,
                self.clock.now(),
                actor.event(
                    "policy.version_publish",
                    Some(format!("policy_version:{version_id}")),
                    serde_json::json!({ "effective": effective, "review": review }),
                ),
            )
            .await?;
        Ok(())
    }

    /// May `actor` see `person`'s agreements? Themself, their parent, or register roles.
    async fn may_see_agreements(&self, actor: &Actor, person: &Person) -> Result<bool> {
        if actor.can(Action::View, Resource::Register) || actor.person_id == Some(person.id) {
            return Ok(true);
        }
        match actor.person_id {
            Some(me) => Ok(self
                .store
                .children_of(me)
                .await?
                .iter()
                .any(|c| c.id == person.id)),
            None => Ok(false),
        }
    }

    async fn person_by_id(&self, id: i64) -> Result<Person> {
        let school = self.school().await?;
        self.store
            .person(school.id, id)
            .await?
            .map(|r| r.person)
            .ok_or_else(|| ServiceError::NotFound(format!("person {id}")))
    }

    /// A person's agreements and their status today. Audited when someone else looks.
    pub async fn agreements_of(
        &self,
        actor: &Actor,
        person_id: i64,
    ) -> Result<(Person, Vec<PersonAgreement>)> {
        let person = self.person_by_id(person_id).await?;
        if !self.may_see_agreements(actor, &person).await? {
            return Err(ServiceError::Forbidden);
        }
        let school = self.school().await?;
        let policies = self.store.policies(school.id).await?;
        let records = self.store.signatures(school.id, Some(&[person.id])).await?;
        let today = self.today();
        let list = policies
            .iter()
            .filter(|p| p.audience == Audience::of(person.details.kind, person.details.year_group))
            .map(|p| PersonAgreement {
                policy_id: p.id,
                title: p.title.clone(),
                version: p.published().map(|v| VersionRef {
                    id: v.id,
                    number: v.number,
                    hash: v.hash.clone(),
                }),
                status: person_status(p, &person, &records, today),
            })
            .collect();
        if actor.person_id != Some(person.id) {
            self.store
                .append_audit(
                    self.clock.now(),
                    actor.event(
                        "agreements.view",
                        Some(format!("person:{}", person.id)),
                        serde_json::json!({}),
                    ),
                )
                .await?;
        }
        Ok((person, list))
    }

    /// The signed-in person's children (for a parent's pages).
    pub async fn my_children(&self, actor: &Actor) -> Result<Vec<Person>> {
        match actor.person_id {
            Some(me) => Ok(self.store.children_of(me).await?),
            None => Ok(Vec::new()),
        }
    }

    /// Everything the signed-in person has to sign now: their own agreements and, for a
    /// parent, their children's.
    pub async fn pending(&self, actor: &Actor) -> Result<Vec<Pending>> {
        let Some(me) = actor.person_id else {
            return Ok(Vec::new());
        };
        let school = self.school().await?;
        let mut people = vec![(self.person_by_id(me).await?, false)];
        for child in self.store.children_of(me).await? {
            people.push((child, true));
        }
        let ids: Vec<i64> = people.iter().map(|(p, _)| p.id).collect();
        let records = self.store.signatures(school.id, Some(&ids)).await?;
        let policies = self.store.policies(school.id).await?;
        let today = self.today();
        let mut out = Vec::new();
        for (person, for_child) in people {
            let audience = Audience::of(person.details.kind, person.details.year_group);
            if !for_child && audience.parent_signs_only() {
                continue;
            }
            if for_child && !audience.is_pupils() {
                continue;
            }
            for policy in policies.iter().filter(|p| p.audience == audience) {
                let st = person_status(policy, &person, &records, today);
                if !st.needs_action() {
                    continue;
                }
                let Some(version) = policy.published() else {
                    continue;
                };
                let text = text_of(version);
                let changes = match &st {
                    Status::SignedOlder { version: old, .. } => policy
                        .versions
                        .iter()
                        .find(|v| v.number == *old)
                        .map(|old_v| {
                            (
                                *old,
                                gatehouse_domain::agreements::text::diff(&text_of(old_v), &text),
                            )
                        }),
                    _ => None,
                };
                out.push(Pending {
                    person: person.clone(),
                    for_child,
                    policy: policy.clone(),
                    version: version.clone(),
                    text,
                    changes,
                    status: st,
                });
            }
        }
        Ok(out)
    }

    /// Sign the current version for oneself and/or one's children. Validated in full
    /// before anything is stored; all signatures are stored together or none.
    pub async fn sign(&self, actor: &Actor, req: &SignRequest) -> Result<Vec<SignatureRecord>> {
        let me = actor.person_id.ok_or_else(|| {
            ServiceError::Invalid(
                "your account is not linked to a person, so it cannot sign".into(),
            )
        })?;
        if !req.agreed {
            return Err(ServiceError::Invalid(
                "agreement: tick the box to say you have read and agree".into(),
            ));
        }
        if req.people.is_empty() {
            return Err(ServiceError::Invalid(
                "sign for: choose whose agreement you are signing".into(),
            ));
        }
        let school = self.school().await?;
        let signer = self.person_by_id(me).await?;
        if !names_match(&req.typed_name, &signer.details.full_name()) {
            return Err(ServiceError::Invalid(format!(
                "full name: type your name as the school has it ({}); capitals and spacing do not matter",
                signer.details.full_name()
            )));
        }
        let pending = self.pending(actor).await?;
        let today = self.today();
        let now = self.clock.now();
        let mut signatures = Vec::new();
        for person_id in &req.people {
            let item = pending
                .iter()
                .find(|p| p.person.id == *person_id && p.version.id == req.version_id);
            let Some(item) = item else {
                return Err(self
                    .why_not_signable(me, *person_id, req.version_id)
                    .await?);
            };
            signatures.push(Signature {
                person_id: item.person.id,
                signer_id: me,
                relation: if item.for_child {
                    Relation::Parent
                } else {
                    Relation::Own
                },
                policy_id: item.policy.id,
                version_id: item.version.id,
                version_number: item.version.number,
                version_hash: item.version.hash.clone(),
                act: Act::Sign,
                method: Method::Online,
                typed_name: req
                    .typed_name
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                signed_on: today,
                recorded_at: now,
                recorded_by: actor.name.clone(),
                ip: actor.ip.clone(),
                user_agent: req
                    .user_agent
                    .as_ref()
                    .map(|s| s.chars().take(300).collect()),
                scan_sha256: None,
            });
        }
        let event = actor.event(
            "agreement.sign",
            None,
            serde_json::json!({ "version": req.version_id, "people": req.people }),
        );
        let stored = self
            .store
            .append_signatures(school.id, signatures, event)
            .await?;
        self.release_from_gate().await;
        Ok(stored)
    }

    /// After a signature: let the person through the signing gate at once. The signature
    /// is stored either way; a failure here is logged and the next periodic refresh
    /// catches up.
    async fn release_from_gate(&self) {
        if let Err(e) = self.refresh_filter().await {
            tracing::error!("updating the signing gate after a signature: {e}");
        }
    }

    /// The clearest reason a (person, version) pair is not signable now.
    async fn why_not_signable(
        &self,
        me: i64,
        person_id: i64,
        version_id: i64,
    ) -> Result<ServiceError> {
        let school = self.school().await?;
        let mine = person_id == me
            || self
                .store
                .children_of(me)
                .await?
                .iter()
                .any(|c| c.id == person_id);
        if !mine {
            return Ok(ServiceError::Invalid(
                "sign for: you can sign only your own agreement and your own children's".into(),
            ));
        }
        let policies = self.store.policies(school.id).await?;
        let version = policies
            .iter()
            .flat_map(|p| p.versions.iter())
            .find(|v| v.id == version_id);
        Ok(match version.map(|v| v.status) {
            None => ServiceError::NotFound(format!("version {version_id}")),
            Some(VersionStatus::Draft | VersionStatus::Approved) => {
                ServiceError::Invalid("this version has not been published, so it cannot be signed".into())
            }
            Some(VersionStatus::Superseded) => ServiceError::Invalid(
                "a newer version of this agreement has been published; please read and sign that one".into(),
            ),
            Some(VersionStatus::Published) => ServiceError::Invalid(
                "there is nothing to sign here: this agreement is already signed, or is not one this person needs to sign".into(),
            ),
        })
    }

    /// Enter a paper signature with its date (and the scan's hash, stored separately).
    pub async fn record_paper_signature(
        &self,
        actor: &Actor,
        req: &PaperRequest,
    ) -> Result<SignatureRecord> {
        actor.require(Action::Edit, Resource::Register)?;
        let school = self.school().await?;
        let person = self.person_by_id(req.person_id).await?;
        let policies = self.store.policies(school.id).await?;
        let (policy, version) = policies
            .iter()
            .find_map(|p| {
                p.versions
                    .iter()
                    .find(|v| v.id == req.version_id)
                    .map(|v| (p, v))
            })
            .ok_or_else(|| ServiceError::NotFound(format!("version {}", req.version_id)))?;
        if !matches!(
            version.status,
            VersionStatus::Published | VersionStatus::Superseded
        ) {
            return Err(ServiceError::Invalid(
                "version: only a published version can have been signed".into(),
            ));
        }
        if policy.audience != Audience::of(person.details.kind, person.details.year_group) {
            return Err(ServiceError::Invalid(format!(
                "person: {} is not in this agreement's audience ({})",
                person.details.full_name(),
                policy.audience.label()
            )));
        }
        if req.signed_on > self.today() {
            return Err(ServiceError::Invalid(
                "date signed: cannot be in the future".into(),
            ));
        }
        if req.written_name.trim().is_empty() {
            return Err(ServiceError::Invalid("name on the form: required".into()));
        }
        let (signer_id, relation) = match req.by_parent {
            Some(parent) => {
                if !self
                    .store
                    .children_of(parent)
                    .await?
                    .iter()
                    .any(|c| c.id == person.id)
                {
                    return Err(ServiceError::Invalid(
                        "signed by: that parent is not linked to this pupil".into(),
                    ));
                }
                (parent, Relation::Parent)
            }
            None => (person.id, Relation::Own),
        };
        // Everything is checked; now keep the scan (content-addressed), then the record.
        let scan_sha256 = match &req.scan {
            Some(bytes) => Some(
                self.files
                    .as_ref()
                    .ok_or_else(|| {
                        ServiceError::Invalid("scan: this installation has no file storage".into())
                    })?
                    .put(bytes)?,
            ),
            None => None,
        };
        let sig = Signature {
            person_id: person.id,
            signer_id,
            relation,
            policy_id: policy.id,
            version_id: version.id,
            version_number: version.number,
            version_hash: version.hash.clone(),
            act: Act::Sign,
            method: Method::Paper,
            typed_name: req.written_name.trim().to_owned(),
            signed_on: req.signed_on,
            recorded_at: self.clock.now(),
            recorded_by: actor.name.clone(),
            ip: actor.ip.clone(),
            user_agent: None,
            scan_sha256: scan_sha256.clone(),
        };
        let event = actor.event(
            "agreement.paper_signature",
            Some(format!("person:{}", person.id)),
            serde_json::json!({ "version": version.id, "signed_on": req.signed_on, "scan": scan_sha256 }),
        );
        let mut recs = self
            .store
            .append_signatures(school.id, vec![sig], event)
            .await?;
        self.release_from_gate().await;
        recs.pop()
            .ok_or_else(|| ServiceError::Invalid("nothing was recorded".into()))
    }

    /// A signed copy: the ledger record, the exact text signed, and who signed.
    pub async fn signed_copy(&self, actor: &Actor, person_id: i64, seq: i64) -> Result<SignedCopy> {
        let person = self.person_by_id(person_id).await?;
        if !self.may_see_agreements(actor, &person).await? {
            return Err(ServiceError::Forbidden);
        }
        let school = self.school().await?;
        let record = self
            .store
            .signatures(school.id, Some(&[person.id]))
            .await?
            .into_iter()
            .find(|r| r.seq == seq)
            .ok_or_else(|| ServiceError::NotFound(format!("signature {seq}")))?;
        let policy = self
            .store
            .policy(school.id, record.signature.policy_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("policy".into()))?;
        let version = policy
            .versions
            .iter()
            .find(|v| v.id == record.signature.version_id)
            .cloned()
            .ok_or_else(|| ServiceError::NotFound("version".into()))?;
        let signer = if record.signature.signer_id == person.id {
            person.clone()
        } else {
            self.person_by_id(record.signature.signer_id).await?
        };
        if actor.person_id != Some(person.id) {
            self.store
                .append_audit(
                    self.clock.now(),
                    actor.event(
                        "agreement.copy_view",
                        Some(format!("signature:{seq}")),
                        serde_json::json!({}),
                    ),
                )
                .await?;
        }
        Ok(SignedCopy {
            text: text_of(&version),
            person,
            signer,
            title: policy.title,
            version,
            record,
        })
    }

    /// A person's ledger records (their signing history), newest first.
    pub async fn signature_history(
        &self,
        actor: &Actor,
        person_id: i64,
    ) -> Result<Vec<SignatureRecord>> {
        let person = self.person_by_id(person_id).await?;
        if !self.may_see_agreements(actor, &person).await? {
            return Err(ServiceError::Forbidden);
        }
        let school = self.school().await?;
        let mut recs = self.store.signatures(school.id, Some(&[person.id])).await?;
        recs.reverse();
        Ok(recs)
    }

    /// Withdraw a person's agreement to a policy: a new ledger record (signatures are never
    /// changed), after which they must sign again. By the person, their parent, or staff
    /// who keep the register; the reason goes in the audit log.
    pub async fn withdraw(
        &self,
        actor: &Actor,
        person_id: i64,
        policy_id: i64,
        reason: &str,
    ) -> Result<SignatureRecord> {
        let person = self.person_by_id(person_id).await?;
        let own = actor.person_id == Some(person.id);
        let parent = match actor.person_id {
            Some(me) if !own => self
                .store
                .children_of(me)
                .await?
                .iter()
                .any(|c| c.id == person.id),
            _ => false,
        };
        if !(own || parent || actor.can(Action::Edit, Resource::Register)) {
            return Err(ServiceError::Forbidden);
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::Invalid(
                "reason: say why the agreement is withdrawn".into(),
            ));
        }
        let school = self.school().await?;
        let records = self.store.signatures(school.id, Some(&[person.id])).await?;
        let mut standing: Option<&SignatureRecord> = None;
        for r in records
            .iter()
            .filter(|r| r.signature.policy_id == policy_id)
        {
            standing = match r.signature.act {
                Act::Sign => Some(r),
                Act::Withdraw => None,
            };
        }
        let last = standing.ok_or_else(|| {
            ServiceError::Invalid("there is no signature of this agreement to withdraw".into())
        })?;
        let signer_name = match actor.person_id {
            Some(me) => self.person_by_id(me).await?.details.full_name(),
            None => actor.name.clone(),
        };
        let sig = Signature {
            person_id: person.id,
            signer_id: actor.person_id.unwrap_or(person.id),
            relation: if parent {
                Relation::Parent
            } else {
                Relation::Own
            },
            policy_id,
            version_id: last.signature.version_id,
            version_number: last.signature.version_number,
            version_hash: last.signature.version_hash.clone(),
            act: Act::Withdraw,
            method: Method::Online,
            typed_name: signer_name,
            signed_on: self.today(),
            recorded_at: self.clock.now(),
            recorded_by: actor.name.clone(),
            ip: actor.ip.clone(),
            user_agent: None,
            scan_sha256: None,
        };
        let event = actor.event(
            "agreement.withdraw",
            Some(format!("person:{}", person.id)),
            serde_json::json!({ "policy": policy_id, "reason": reason }),
        );
        let mut recs = self
            .store
            .append_signatures(school.id, vec![sig], event)
            .await?;
        self.release_from_gate().await;
        recs.pop()
            .ok_or_else(|| ServiceError::Invalid("nothing was recorded".into()))
    }

    /// The register of one policy: everyone who must sign it and their status. Viewing it
    /// (names and statuses) is written to the audit log.
    pub async fn register(
        &self,
        actor: &Actor,
        policy_id: i64,
        filter: &RegisterFilter,
    ) -> Result<Register> {
        let register = self.compute_register(actor, policy_id, filter).await?;
        self.store
            .append_audit(
                self.clock.now(),
                actor.event(
                    "agreements.register_view",
                    Some(format!("policy:{policy_id}")),
                    serde_json::json!({}),
                ),
            )
            .await?;
        Ok(register)
    }

    /// Coverage of every published policy: its register counts, computed from one read of
    /// the people and one of the ledger (for the home page and the policy list; no names,
    /// so not audited).
    pub async fn coverage(&self, actor: &Actor) -> Result<Vec<(Policy, RegisterCounts)>> {
        actor.require(Action::View, Resource::Register)?;
        let school = self.school().await?;
        let policies = self.store.policies(school.id).await?;
        let people = self.store.active_people(school.id).await?;
        let records = self.store.signatures(school.id, None).await?;
        let today = self.today();
        Ok(policies
            .into_iter()
            .map(|p| {
                let counts = build_register(
                    p.clone(),
                    &people,
                    &records,
                    &RegisterFilter::default(),
                    today,
                )
                .counts;
                (p, counts)
            })
            .collect())
    }

    async fn compute_register(
        &self,
        actor: &Actor,
        policy_id: i64,
        filter: &RegisterFilter,
    ) -> Result<Register> {
        actor.require(Action::View, Resource::Register)?;
        let school = self.school().await?;
        let policy = self.policy(actor, policy_id).await?;
        let people = self.store.active_people(school.id).await?;
        let records = self.store.policy_signatures(policy.id).await?;
        Ok(build_register(
            policy,
            &people,
            &records,
            filter,
            self.today(),
        ))
    }

    /// Check the whole signature ledger.
    pub async fn verify_ledger(&self, actor: &Actor) -> Result<LedgerReport> {
        actor.require(Action::View, Resource::Register)?;
        let mut v = ChainVerifier::default();
        let mut after = 0;
        loop {
            let page = self.store.ledger_entries(after, 5_000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for r in &page {
                if let Err(b) = check_record(&mut v, r) {
                    return Ok(LedgerReport {
                        records: v.checked(),
                        broken: Some(b.into()),
                    });
                }
            }
        }
        Ok(LedgerReport {
            records: v.checked(),
            broken: None,
        })
    }
}

/// The register computed in memory: one pass over people and one over the ledger.
pub fn build_register(
    policy: Policy,
    people: &[Person],
    records: &[SignatureRecord],
    filter: &RegisterFilter,
    today: Date,
) -> Register {
    let mut by_person: HashMap<i64, Vec<&SignatureRecord>> = HashMap::new();
    for r in records
        .iter()
        .filter(|r| r.signature.policy_id == policy.id)
    {
        by_person.entry(r.signature.person_id).or_default().push(r);
    }
    let req = requirement(&policy);
    let versions = version_facts(&policy);
    let mut counts = RegisterCounts::default();
    let mut rows = Vec::new();
    for person in people {
        let facts = person_facts(person);
        if facts.audience != policy.audience {
            continue;
        }
        let sigs = signature_facts(by_person.get(&person.id).map(Vec::as_slice).unwrap_or(&[]));
        let st = status(&req, &versions, &facts, &sigs, today);
        match &st {
            Status::NotRequired => continue,
            Status::Signed { .. } => counts.signed += 1,
            Status::Due { .. } => counts.due += 1,
            Status::Overdue { .. } => counts.overdue += 1,
            Status::SignedOlder { .. } => counts.resign += 1,
        }
        counts.required += 1;
        let d = &person.details;
        let keep = filter.kind.is_none_or(|k| k == d.kind)
            && filter
                .year_group
                .as_deref()
                .is_none_or(|y| d.year_group.map(|g| g.code()).as_deref() == Some(y))
            && filter
                .class_name
                .as_deref()
                .is_none_or(|c| d.class_name.as_ref().map(|n| n.as_str()) == Some(c))
            && filter.status.as_deref().is_none_or(|s| st.key() == s);
        if keep {
            rows.push(RegisterRow {
                person: person.clone(),
                status: st,
            });
        }
    }
    Register {
        policy,
        rows,
        counts,
    }
}
