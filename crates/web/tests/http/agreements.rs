//! Acceptable use agreements through the pages: signing before anything else, re-signing
//! after a material change, parents signing for their children, paper signatures with
//! scans, the register (filters, CSV, print), the JSON check, the policy lifecycle, and
//! who may see what.

use crate::support::{Browser, Page, Part, TestApp, assert_redirect};
use gatehouse_domain::agreements::Audience;
use gatehouse_domain::agreements::ledger::{Act, Method, Relation};
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::Role;
use gatehouse_service::Actor;
use gatehouse_store::VersionStatus;
use jiff::ToSpan;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use sha2::{Digest, Sha256};

const STAFF_TITLE: &str = "Staff Acceptable Use Agreement";

const STAFF_V1: &str = "\
# Staff Acceptable Use Agreement

1. I will keep my passwords private and never share them with anyone.
2. I will lock my screen whenever I leave my computer unattended.
3. I will report any online safety concern to the designated safeguarding lead.
";

/// Clause 2 reworded, clause 4 added.
const STAFF_V2: &str = "\
# Staff Acceptable Use Agreement

1. I will keep my passwords private and never share them with anyone.
2. I will lock my screen whenever I leave my laptop or computer unattended.
3. I will report any online safety concern to the designated safeguarding lead.
4. I will store photographs of pupils only on school-approved systems.
";

/// A minor correction of v2.
const STAFF_V3: &str = "\
# Staff Acceptable Use Agreement

1. I will keep my passwords private and never share them with anyone.
2. I will lock my screen whenever I leave my laptop or computer unattended.
3. I will report any online safety concern to the designated safeguarding lead (DSL).
4. I will store photographs of pupils only on school-approved systems.
";

const PRIMARY_V1: &str = "\
# Pupil Acceptable Use Agreement

1. I will ask an adult before I use a new website or app.
2. I will be kind to other people online.
";

const EARLY_V1: &str = "\
# Our Online Safety Rules

1. We only use the tablets when a grown-up says we can.
2. We tell a grown-up if something online makes us feel worried.
";

const STAFF_CSV: &str =
    "Staff code,Forename,Surname,Job title\nGH1,Grace,Hopper,Teacher\nAT1,Alan,Turing,Teacher\n";

/// Amy and Ben Baker (Year 3) and Cal Baker (Reception) are Pat Baker's; Dan Other
/// (Year 3) is not.
const FAMILY_PUPILS_CSV: &str = "UPN,Forename,Surname,Year,Class\n\
A100000000001,Amy,Baker,3,3 Oak\n\
A100000000002,Ben,Baker,3,3 Oak\n\
A100000000003,Cal,Baker,R,R Wren\n\
A100000000004,Dan,Other,3,3 Ash\n";

const FAMILY_PARENTS_CSV: &str = "Parent ID,Forename,Surname,Child UPN\n\
P1,Pat,Baker,A100000000001;A100000000002;A100000000003\n";

const BROWSER_UA: &str = "Mozilla/5.0 (Gatehouse HTTP tests)";

/// A minimal PNG: the signature, then an IHDR chunk header.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89";

/// Staff imported; Grace Hopper has the account `grace.hopper`. Returns Grace's id.
async fn staff(t: &TestApp) -> i64 {
    t.import(PersonKind::Staff, STAFF_CSV).await;
    let grace = t.person_id("Hopper").await;
    t.add_account_for("grace.hopper", &[Role::Staff], Some(grace))
        .await;
    grace
}

/// The Baker family and Dan Other imported, with parent Pat's account `pat.baker`.
/// Returns (pat, amy, ben, cal, dan).
async fn family(t: &TestApp) -> (i64, i64, i64, i64, i64) {
    t.import(PersonKind::Pupil, FAMILY_PUPILS_CSV).await;
    t.import(PersonKind::Parent, FAMILY_PARENTS_CSV).await;
    let pat = t.person_id("Pat").await;
    let amy = t.person_id("Amy").await;
    let ben = t.person_id("Ben").await;
    let cal = t.person_id("Cal").await;
    let dan = t.person_id("Dan").await;
    t.add_account_for("pat.baker", &[Role::Parent], Some(pat))
        .await;
    (pat, amy, ben, cal, dan)
}

/// A new browser signed in with [`crate::support::PASSWORD`], wherever sign-in sent it.
async fn login(t: &TestApp, username: &str) -> Browser {
    let b = t.browser();
    let res = b.sign_in(username, crate::support::PASSWORD).await;
    assert!(
        res.status == StatusCode::SEE_OTHER,
        "sign-in of {username}: {} {}",
        res.status,
        res.body
    );
    b
}

/// A browser for the head, `hana.head`, at the home page.
async fn head(t: &TestApp) -> Browser {
    t.add_account("hana.head", &[Role::Head]).await;
    t.signed_in("hana.head").await
}

/// `POST /sign` as a browser does (with a user agent).
async fn sign(
    b: &Browser,
    csrf: &str,
    version: i64,
    people: &[i64],
    agree: bool,
    name: &str,
) -> Page {
    let version = version.to_string();
    let people: Vec<String> = people.iter().map(ToString::to_string).collect();
    let mut fields = vec![("csrf_token", csrf), ("version_id", version.as_str())];
    for p in &people {
        fields.push(("people", p));
    }
    if agree {
        fields.push(("agree", "on"));
    }
    fields.push(("typed_name", name));
    b.send(
        b.client
            .post(b.url("/sign"))
            .header(USER_AGENT, BROWSER_UA)
            .form(&fields),
    )
    .await
}

#[track_caller]
fn assert_status(page: &Page, status: StatusCode, what: &str) {
    assert_eq!(page.status, status, "{what}: {}", page.body);
}

#[track_caller]
fn assert_contains(page: &Page, text: &str) {
    assert!(
        page.body.contains(text),
        "page lacks {text:?}:\n{}",
        page.body
    );
}

#[tokio::test]
async fn staff_with_an_agreement_due_are_sent_to_sign_it_first() {
    let t = TestApp::start(false).await;
    let grace = staff(&t).await;
    let (policy, v1) = t
        .publish_policy(STAFF_TITLE, Audience::Staff, STAFF_V1)
        .await;
    let version = t.policy(policy).await.versions[0].clone();
    assert_eq!(version.id, v1);

    // Sign-in goes to /sign, even when another page was asked for.
    let b = t.browser();
    let res = b.sign_in_to("grace.hopper", "/account").await;
    assert_redirect(&res, "/sign");
    assert_redirect(&b.get("/").await, "/sign");

    let page = b.get("/sign").await;
    assert_status(&page, StatusCode::OK, "the sign page");
    assert_contains(&page, "<h1>Staff Acceptable Use Agreement</h1>");
    assert_contains(&page, "Version 1");
    for clause in [
        "I will keep my passwords private and never share them with anyone.",
        "I will lock my screen whenever I leave my computer unattended.",
        "I will report any online safety concern to the designated safeguarding lead.",
    ] {
        assert_contains(&page, clause);
    }
    assert_contains(&page, &version.hash[..12]);
    assert_eq!(page.input("version_id"), Some(v1.to_string()));
    assert_eq!(page.input("people"), Some(grace.to_string()));
    assert!(!page.body.contains("changed since you signed"));
    assert!(t.signatures(&[grace]).await.is_empty());

    // Other case and spacing still match the recorded name.
    let res = sign(&b, &page.csrf(), v1, &[grace], true, "  gRACE   hopper ").await;
    assert_redirect(&res, "/?signed=1");

    let recs = t.signatures(&[grace]).await;
    assert_eq!(recs.len(), 1, "{recs:?}");
    let s = &recs[0].signature;
    assert_eq!(s.person_id, grace);
    assert_eq!(s.signer_id, grace);
    assert_eq!(s.relation, Relation::Own);
    assert_eq!(s.relation.as_str(), "self");
    assert_eq!(s.act, Act::Sign);
    assert_eq!(s.method, Method::Online);
    assert_eq!(s.policy_id, policy);
    assert_eq!(s.version_id, v1);
    assert_eq!(s.version_number, 1);
    assert_eq!(s.version_hash, version.hash);
    assert_eq!(s.typed_name, "gRACE hopper");
    assert_eq!(s.signed_on, t.app.today());
    assert_eq!(s.recorded_by, "grace.hopper");
    assert_eq!(s.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(s.user_agent.as_deref(), Some(BROWSER_UA));
    assert_eq!(s.scan_sha256, None);

    // Signed: the home page opens, and the next sign-in goes where it was asked.
    let home = b.get("/").await;
    assert_status(&home, StatusCode::OK, "home after signing");
    assert_contains(&home, "Hello, Grace Hopper");
    let done = b.get("/sign").await;
    assert_status(&done, StatusCode::OK, "/sign with nothing to sign");
    assert_contains(&done, "You have nothing to sign at the moment.");
    let again = t.browser();
    assert_redirect(
        &again.sign_in_to("grace.hopper", "/account").await,
        "/account",
    );
}

#[tokio::test]
async fn bad_signatures_are_refused_with_a_reason_and_store_nothing() {
    let t = TestApp::start(false).await;
    let grace = staff(&t).await;
    let (policy, v1) = t
        .publish_policy(STAFF_TITLE, Audience::Staff, STAFF_V1)
        .await;
    let b = login(&t, "grace.hopper").await;
    let csrf = b.get("/sign").await.csrf();

    // The box not ticked.
    let res = sign(&b, &csrf, v1, &[grace], false, "Grace Hopper").await;
    assert_status(&res, StatusCode::BAD_REQUEST, "box not ticked");
    assert_contains(&res, "id=\"sign-error\"");
    assert_contains(&res, "tick the box to say you have read and agree");
    assert!(t.signatures(&[grace]).await.is_empty());

    // A typed name that is not theirs.
    for name in ["Grace", "Hopper Grace", "Grace Hooper", ""] {
        let res = sign(&b, &csrf, v1, &[grace], true, name).await;
        assert_status(&res, StatusCode::BAD_REQUEST, name);
        assert_contains(&res, "type your name as the school has it (Grace Hopper)");
    }
    assert!(t.signatures(&[grace]).await.is_empty());

    // A draft cannot be signed.
    let v2 = t
        .app
        .new_version(&Actor::cli(), policy, STAFF_V2, true, "Laptops and photos")
        .await
        .unwrap();
    let res = sign(&b, &csrf, v2, &[grace], true, "Grace Hopper").await;
    assert_status(&res, StatusCode::BAD_REQUEST, "a draft");
    assert_contains(
        &res,
        "this version has not been published, so it cannot be signed",
    );
    assert!(t.signatures(&[grace]).await.is_empty());

    // Once v2 is published, v1 (the form still open in the browser) is refused.
    t.approve_and_publish(v2).await;
    let res = sign(&b, &csrf, v1, &[grace], true, "Grace Hopper").await;
    assert_status(&res, StatusCode::BAD_REQUEST, "a superseded version");
    assert_contains(
        &res,
        "a newer version of this agreement has been published; please read and sign that one",
    );
    // The page now offers the new version.
    assert_eq!(res.input("version_id"), Some(v2.to_string()));
    assert!(t.signatures(&[grace]).await.is_empty());

    // Signing v2 works; the same form sent again is refused and stores nothing more.
    let res = sign(&b, &csrf, v2, &[grace], true, "Grace Hopper").await;
    assert_redirect(&res, "/?signed=1");
    assert_eq!(t.signatures(&[grace]).await.len(), 1);
    let res = sign(&b, &csrf, v2, &[grace], true, "Grace Hopper").await;
    assert_status(&res, StatusCode::BAD_REQUEST, "signed twice");
    assert_contains(&res, "this agreement is already signed");
    let recs = t.signatures(&[grace]).await;
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0].signature.version_id, v2);
    assert_eq!(t.audit_actions("agreement.sign").await.len(), 1);
}

#[tokio::test]
async fn a_parent_may_sign_only_for_their_own_children() {
    let t = TestApp::start(false).await;
    let (_pat, amy, _ben, _cal, dan) = family(&t).await;
    let (_, primary) = t
        .publish_policy("Pupil agreement", Audience::PupilsPrimary, PRIMARY_V1)
        .await;
    let b = login(&t, "pat.baker").await;
    let csrf = b.get("/sign").await.csrf();

    let res = sign(&b, &csrf, primary, &[dan], true, "Pat Baker").await;
    assert_status(&res, StatusCode::BAD_REQUEST, "someone else's child");
    assert_contains(
        &res,
        "you can sign only your own agreement and your own children",
    );
    // All or nothing: their own child with someone else's stores neither.
    let res = sign(&b, &csrf, primary, &[amy, dan], true, "Pat Baker").await;
    assert_status(&res, StatusCode::BAD_REQUEST, "a mixed list");
    assert_contains(
        &res,
        "you can sign only your own agreement and your own children",
    );
    // No one at all.
    let res = sign(&b, &csrf, primary, &[], true, "Pat Baker").await;
    assert_status(&res, StatusCode::BAD_REQUEST, "nobody chosen");
    assert_contains(&res, "choose whose agreement you are signing");
    assert!(t.all_signatures().await.is_empty());
    assert!(t.audit_actions("agreement.sign").await.is_empty());
}

#[tokio::test]
async fn a_material_change_asks_for_a_new_signature_and_shows_what_changed() {
    let t = TestApp::start(false).await;
    let grace = staff(&t).await;
    let (policy, v1) = t
        .publish_policy(STAFF_TITLE, Audience::Staff, STAFF_V1)
        .await;
    let b = login(&t, "grace.hopper").await;
    let csrf = b.get("/sign").await.csrf();
    assert_redirect(
        &sign(&b, &csrf, v1, &[grace], true, "Grace Hopper").await,
        "/?signed=1",
    );

    let v2 = t.publish_new_version(policy, STAFF_V2, true).await;
    let b = t.browser();
    assert_redirect(&b.sign_in_to("grace.hopper", "/").await, "/sign");
    assert_redirect(&b.get("/").await, "/sign");
    let page = b.get("/sign").await;
    assert_status(&page, StatusCode::OK, "the sign page for v2");
    assert_eq!(page.input("version_id"), Some(v2.to_string()));
    assert_contains(&page, "Version 2");
    assert_contains(
        &page,
        "This agreement has changed since you signed version 1.",
    );
    assert_contains(&page, "The 2 changed or new point(s) are highlighted.");
    assert_contains(
        &page,
        "<li class=\"clause-changed\"><span class=\"num\">2</span> I will lock my screen whenever I leave my laptop or computer unattended.",
    );
    assert_contains(
        &page,
        "<p class=\"before\">I will lock my screen whenever I leave my computer unattended.</p>",
    );
    assert_contains(
        &page,
        "<li class=\"clause-new\"><span class=\"num\">4</span> I will store photographs of pupils only on school-approved systems.",
    );
    // Unchanged clauses are not highlighted.
    assert_contains(
        &page,
        "<li><span class=\"num\">1</span> I will keep my passwords private",
    );
    assert_contains(
        &page,
        "<li><span class=\"num\">3</span> I will report any online safety concern",
    );
    assert_eq!(page.body.matches("class=\"clause-").count(), 2);

    let res = sign(&b, &page.csrf(), v2, &[grace], true, "grace hopper").await;
    assert_redirect(&res, "/?signed=1");
    let recs = t.signatures(&[grace]).await;
    assert_eq!(recs.len(), 2, "{recs:?}");
    let version2 = t.policy(policy).await.versions[1].clone();
    assert_eq!(recs[1].signature.version_id, v2);
    assert_eq!(recs[1].signature.version_number, 2);
    assert_eq!(recs[1].signature.version_hash, version2.hash);
    assert_ne!(recs[0].signature.version_hash, version2.hash);
    assert_eq!(b.get("/").await.status, StatusCode::OK);

    let h = head(&t).await;
    let register = h.get(&format!("/agreements/{policy}/register")).await;
    assert_status(&register, StatusCode::OK, "the register");
    assert_contains(&register, "Hopper, Grace</a>");
    assert_contains(
        &register,
        "<span class=\"tag status-signed\">Signed</span></td><td>v2 on",
    );
    // Grace has signed; Alan has not.
    assert_contains(&register, "<span class=\"count\">2</span> must sign");
    assert_contains(&register, "<span class=\"count\">50%</span> signed (1)");

    // A minor correction does not ask anyone to sign again.
    t.publish_new_version(policy, STAFF_V3, false).await;
    let b = t.browser();
    assert_redirect(&b.sign_in_to("grace.hopper", "/").await, "/");
    assert_eq!(b.get("/").await.status, StatusCode::OK);
    assert_contains(&b.get("/sign").await, "nothing to sign");
    let register = h.get(&format!("/agreements/{policy}/register")).await;
    assert_contains(
        &register,
        "<span class=\"tag status-signed\">Signed</span></td><td>v2 on",
    );
    assert_eq!(t.signatures(&[grace]).await.len(), 2);
}

#[tokio::test]
async fn a_parent_signs_for_several_children_at_once() {
    let t = TestApp::start(false).await;
    let (pat, amy, ben, cal, dan) = family(&t).await;
    let (_, primary) = t
        .publish_policy("Pupil agreement", Audience::PupilsPrimary, PRIMARY_V1)
        .await;
    let (_, early) = t
        .publish_policy("Early years rules", Audience::PupilsEarly, EARLY_V1)
        .await;
    for (user, id) in [("amy.baker", amy), ("cal.baker", cal), ("dan.other", dan)] {
        t.add_account_for(user, &[Role::Pupil], Some(id)).await;
    }

    // A Reception pupil's parent signs for them: their own account is not asked.
    let b = t.browser();
    assert_redirect(&b.sign_in_to("cal.baker", "/").await, "/");
    assert_eq!(b.get("/").await.status, StatusCode::OK);
    // A Year 3 pupil is.
    let b = t.browser();
    assert_redirect(&b.sign_in_to("dan.other", "/").await, "/sign");

    let b = t.browser();
    assert_redirect(&b.sign_in_to("pat.baker", "/").await, "/sign");
    let page = b.get("/sign").await;
    assert_status(&page, StatusCode::OK, "the parent's sign page");
    // The Year 3 children share one form; the Reception agreement comes next.
    assert_contains(&page, "<h1>Pupil agreement</h1>");
    assert_contains(&page, "You are signing for");
    assert_contains(&page, &format!("name=\"people\" value=\"{amy}\" checked"));
    assert_contains(&page, &format!("name=\"people\" value=\"{ben}\" checked"));
    assert!(!page.body.contains(&format!("value=\"{cal}\"")));
    assert!(!page.body.contains(&format!("value=\"{dan}\"")));
    assert_contains(&page, "Amy Baker");
    assert_contains(&page, "Ben Baker");
    assert_contains(&page, "1 more to sign after this one");
    assert_eq!(page.input("version_id"), Some(primary.to_string()));

    let res = sign(&b, &page.csrf(), primary, &[amy, ben], true, "PAT BAKER").await;
    assert_status(&res, StatusCode::OK, "signing for two children");
    assert_contains(&res, "Thank you: 2 signatures are recorded.");
    // Next: the Reception child's agreement.
    assert_contains(&res, "<h1>Early years rules</h1>");
    assert_eq!(res.input("version_id"), Some(early.to_string()));
    assert_contains(&res, &format!("name=\"people\" value=\"{cal}\" checked"));
    assert!(!res.body.contains("more to sign after this one"));

    let recs = t.all_signatures().await;
    assert_eq!(recs.len(), 2, "{recs:?}");
    let mut signed_for: Vec<i64> = recs.iter().map(|r| r.signature.person_id).collect();
    signed_for.sort_unstable();
    let mut want = vec![amy, ben];
    want.sort_unstable();
    assert_eq!(signed_for, want);
    for r in &recs {
        assert_eq!(r.signature.relation, Relation::Parent);
        assert_eq!(r.signature.signer_id, pat);
        assert_eq!(r.signature.method, Method::Online);
        assert_eq!(r.signature.version_id, primary);
    }

    // Amy's parent has signed for her, so she is not asked herself.
    let b2 = t.browser();
    assert_redirect(&b2.sign_in_to("amy.baker", "/").await, "/");

    // Then Cal's; nothing is left.
    let res = sign(&b, &res.csrf(), early, &[cal], true, "Pat Baker").await;
    assert_redirect(&res, "/?signed=1");
    let recs = t.signatures(&[cal]).await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].signature.relation, Relation::Parent);
    assert_eq!(recs[0].signature.signer_id, pat);
    assert_eq!(b.get("/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn who_may_see_agreements_and_registers_follows_the_matrix() {
    let t = TestApp::start(false).await;
    let grace = staff(&t).await;
    let alan = t.person_id("Turing").await;
    let (_pat, amy, _ben, _cal, dan) = family(&t).await;
    let (staff_policy, _) = t
        .publish_policy(STAFF_TITLE, Audience::Staff, STAFF_V1)
        .await;
    t.publish_policy("Pupil agreement", Audience::PupilsPrimary, PRIMARY_V1)
        .await;
    t.add_account("hana.head", &[Role::Head]).await;
    t.add_account("gil.governor", &[Role::Governor]).await;
    t.add_account("olu.lead", &[Role::OnlineSafetyLead]).await;
    t.add_account("dee.dpo", &[Role::Dpo]).await;
    let register = format!("/agreements/{staff_policy}/register");
    let alans = format!("/people/{alan}/agreements");
    let graces = format!("/people/{grace}/agreements");
    let amys = format!("/people/{amy}/agreements");
    let dans = format!("/people/{dan}/agreements");

    // Staff: their own agreements only.
    let b = login(&t, "grace.hopper").await;
    for path in ["/agreements", register.as_str(), alans.as_str()] {
        let page = b.get(path).await;
        assert_status(&page, StatusCode::FORBIDDEN, path);
        assert!(!page.body.contains("Turing"), "{path} leaks a name");
    }
    let own = b.get(&graces).await;
    assert_status(&own, StatusCode::OK, "own agreements");
    assert_contains(&own, "Agreements: Grace Hopper");
    assert!(
        !own.body.contains("paper-form"),
        "staff cannot record paper"
    );

    // A parent: their child's, not another child's.
    let b = login(&t, "pat.baker").await;
    let page = b.get(&amys).await;
    assert_status(&page, StatusCode::OK, "a parent's child");
    assert_contains(&page, "Agreements: Amy Baker");
    assert_contains(&page, "Pupil agreement");
    assert_status(&b.get(&dans).await, StatusCode::FORBIDDEN, "another child");
    assert_status(&b.get(&register).await, StatusCode::FORBIDDEN, "register");

    // The head: everything.
    let b = login(&t, "hana.head").await;
    for path in [
        "/agreements",
        register.as_str(),
        alans.as_str(),
        graces.as_str(),
        amys.as_str(),
        dans.as_str(),
    ] {
        assert_status(&b.get(path).await, StatusCode::OK, path);
    }
    assert_contains(&b.get(&alans).await, "id=\"paper-form\"");

    // Governors see the policies but not who has signed.
    let b = login(&t, "gil.governor").await;
    let list = b.get("/agreements").await;
    assert_status(&list, StatusCode::OK, "a governor's list");
    assert_contains(&list, STAFF_TITLE);
    assert_status(&b.get(&register).await, StatusCode::FORBIDDEN, "register");
    assert_status(&b.get(&alans).await, StatusCode::FORBIDDEN, "a person");

    // The online safety lead may create a policy; a data protection lead may not.
    let create = |csrf: String| {
        vec![
            ("csrf_token".to_owned(), csrf),
            ("title".to_owned(), "Visitors' agreement".to_owned()),
            ("audience".to_owned(), "visitors".to_owned()),
            ("owner".to_owned(), "Online safety lead".to_owned()),
            ("days_to_sign".to_owned(), "7".to_owned()),
            (
                "source".to_owned(),
                "1. I will wear my badge.\n2. I will not take photographs.\n".to_owned(),
            ),
            ("candidate".to_owned(), "0".to_owned()),
            ("step".to_owned(), "create".to_owned()),
        ]
    };
    let before = t.app.policies(&Actor::cli()).await.unwrap().len();
    let b = login(&t, "dee.dpo").await;
    assert_status(&b.get("/agreements").await, StatusCode::OK, "a DPO's list");
    assert_status(
        &b.get("/agreements/new").await,
        StatusCode::FORBIDDEN,
        "a DPO's new form",
    );
    let csrf = b.get("/").await.csrf();
    let res = b
        .send(b.client.post(b.url("/agreements/new")).form(&create(csrf)))
        .await;
    assert_status(&res, StatusCode::FORBIDDEN, "a DPO creating a policy");
    assert_eq!(t.app.policies(&Actor::cli()).await.unwrap().len(), before);

    let b = login(&t, "olu.lead").await;
    let csrf = b.get("/agreements/new").await.csrf();
    let res = b
        .send(b.client.post(b.url("/agreements/new")).form(&create(csrf)))
        .await;
    let policies = t.app.policies(&Actor::cli()).await.unwrap();
    assert_eq!(policies.len(), before + 1);
    let created = policies.last().unwrap();
    assert_redirect(&res, &format!("/agreements/{}", created.id));
    assert_eq!(created.title, "Visitors' agreement");
    assert_eq!(created.audience, Audience::Visitors);
    assert_eq!(created.days_to_sign, 7);
    assert_eq!(created.versions.len(), 1);
    assert_eq!(created.versions[0].status, VersionStatus::Draft);
    assert_eq!(created.versions[0].created_by, "olu.lead");
}

#[tokio::test]
async fn a_paper_signature_is_recorded_with_its_scan() {
    let t = TestApp::start(false).await;
    let grace = staff(&t).await;
    let (policy, v1) = t
        .publish_policy(STAFF_TITLE, Audience::Staff, STAFF_V1)
        .await;
    let b = head(&t).await;
    let path = format!("/people/{grace}/agreements");
    let paper = format!("{path}/paper");
    let page = b.get(&path).await;
    assert_status(&page, StatusCode::OK, "Grace's agreements");
    assert_contains(&page, "id=\"paper-form\"");
    assert_contains(&page, &format!("<option value=\"{v1}\">"));
    let csrf = page.csrf();
    let today = t.app.today();
    let v1s = v1.to_string();
    let form = |signed_on: String, file_name: &'static str, bytes: &'static [u8]| {
        (signed_on, file_name, bytes)
    };

    // A date in the future is refused.
    let tomorrow = today.checked_add(1.day()).unwrap().to_string();
    let (on, file_name, bytes) = form(tomorrow, "form.png", PNG);
    let res = b
        .post_multipart(
            &paper,
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("version", &v1s),
                Part::Text("name", "G. Hopper"),
                Part::Text("signed_on", &on),
                Part::File {
                    name: "scan",
                    file_name,
                    bytes,
                },
            ],
        )
        .await;
    assert_status(&res, StatusCode::BAD_REQUEST, "a future date");
    assert_contains(&res, "date signed: cannot be in the future");
    assert!(t.signatures(&[grace]).await.is_empty());

    // A program is not a scan.
    let yesterday = today.checked_sub(1.day()).unwrap();
    let res = b
        .post_multipart(
            &paper,
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("version", &v1s),
                Part::Text("name", "G. Hopper"),
                Part::Text("signed_on", &yesterday.to_string()),
                Part::File {
                    name: "scan",
                    file_name: "form.exe",
                    bytes: b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run in DOS mode.",
                },
            ],
        )
        .await;
    assert_status(&res, StatusCode::BAD_REQUEST, "an executable");
    assert_contains(&res, "only PDF, PNG and JPEG files are accepted");
    assert!(t.signatures(&[grace]).await.is_empty());
    assert!(
        t.audit_actions("agreement.paper_signature")
            .await
            .is_empty()
    );

    // A PNG scan with a past date is recorded.
    let res = b
        .post_multipart(
            &paper,
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("version", &v1s),
                Part::Text("name", "G. Hopper"),
                Part::Text("signed_on", &yesterday.to_string()),
                Part::File {
                    name: "scan",
                    file_name: "form.png",
                    bytes: PNG,
                },
            ],
        )
        .await;
    assert_redirect(&res, &path);
    let recs = t.signatures(&[grace]).await;
    assert_eq!(recs.len(), 1, "{recs:?}");
    let rec = &recs[0];
    let s = &rec.signature;
    let sha = hex::encode(Sha256::digest(PNG));
    assert_eq!(s.method, Method::Paper);
    assert_eq!(s.relation, Relation::Own);
    assert_eq!(s.signer_id, grace);
    assert_eq!(s.policy_id, policy);
    assert_eq!(s.version_id, v1);
    assert_eq!(s.version_hash, t.policy(policy).await.versions[0].hash);
    assert_eq!(s.signed_on, yesterday);
    assert_eq!(s.typed_name, "G. Hopper");
    assert_eq!(s.recorded_by, "hana.head");
    assert_eq!(s.scan_sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(t.audit_actions("agreement.paper_signature").await.len(), 1);

    let page = b.get(&path).await;
    assert_contains(&page, "status-signed\">Signed</span>");
    assert_contains(&page, "by themself, on paper");

    // The scan comes back as it was sent, as a PNG.
    let (status, headers, body) = b.get_bytes(&format!("{path}/{}/scan", rec.seq)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    assert_eq!(body, PNG);

    // Grace herself may see her scan; another member of staff may not.
    t.add_account("alan.turing", &[Role::Staff]).await;
    let other = login(&t, "alan.turing").await;
    let (status, _, body) = other.get_bytes(&format!("{path}/{}/scan", rec.seq)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_ne!(body, PNG);
    let own = login(&t, "grace.hopper").await;
    let (status, _, body) = own.get_bytes(&format!("{path}/{}/scan", rec.seq)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, PNG);
}

#[tokio::test]
async fn the_register_counts_filters_exports_and_prints() {
    let t = TestApp::start(false).await;
    t.import(
        PersonKind::Pupil,
        "UPN,Forename,Surname,Year,Class\n\
         A200000000001,Ada,Lovelace,3,3 Oak\n\
         A200000000002,Bob,Babbage,3,3 Oak\n\
         A200000000003,Eve,=Sum,4,4 Ash\n",
    )
    .await;
    let ada = t.person_id("Lovelace").await;
    t.add_account_for("ada.lovelace", &[Role::Pupil], Some(ada))
        .await;
    let (policy, v1) = t
        .publish_policy("Pupil agreement", Audience::PupilsPrimary, PRIMARY_V1)
        .await;
    let ab = login(&t, "ada.lovelace").await;
    let csrf = ab.get("/sign").await.csrf();
    assert_redirect(
        &sign(&ab, &csrf, v1, &[ada], true, "Ada Lovelace").await,
        "/?signed=1",
    );

    let register = format!("/agreements/{policy}/register");
    t.add_account("hana.head", &[Role::Head]).await;
    let b = login(&t, "hana.head").await;
    let page = b.get(&register).await;
    assert_status(&page, StatusCode::OK, "the register");
    assert_contains(&page, "<span class=\"count\">3</span> must sign");
    assert_contains(&page, "<span class=\"count\">33%</span> signed (1)");
    assert_contains(&page, "<span class=\"count\">2</span> due");
    assert_contains(&page, "<span class=\"count\">0</span> overdue");
    assert_contains(&page, "3 shown");
    let none = b.get(&format!("{register}?status=overdue")).await;
    assert_contains(&none, "0 shown");

    // Past the due date (14 days), those who have not signed are overdue.
    t.advance_secs(16 * 86_400);
    let b = login(&t, "hana.head").await;
    let page = b.get(&register).await;
    assert_contains(&page, "<span class=\"count\">0</span> due");
    assert_contains(
        &page,
        "<li class=\"bad\"><span class=\"count\">2</span> overdue",
    );
    let overdue = b.get(&format!("{register}?status=overdue")).await;
    assert_status(&overdue, StatusCode::OK, "overdue filter");
    assert_contains(&overdue, "2 shown");
    assert_contains(&overdue, "Babbage, Bob");
    assert_contains(&overdue, "=Sum, Eve");
    assert!(!overdue.body.contains("Lovelace, Ada"));
    let signed = b.get(&format!("{register}?status=signed")).await;
    assert_contains(&signed, "1 shown");
    assert_contains(&signed, "Lovelace, Ada");
    let oak = b.get(&format!("{register}?class=3+Oak")).await;
    assert_contains(&oak, "2 shown");
    assert_contains(&oak, "Lovelace, Ada");
    assert_contains(&oak, "Babbage, Bob");
    assert!(!oak.body.contains("=Sum, Eve"));
    // The counts stay those of everyone.
    assert_contains(&oak, "<span class=\"count\">3</span> must sign");
    let both = b
        .get(&format!("{register}?class=3+Oak&status=overdue"))
        .await;
    assert_contains(&both, "1 shown");
    assert_contains(&both, "Babbage, Bob");

    // CSV: a header, a line per person, formulas defused.
    let csv = b.get(&format!("{register}?format=csv")).await;
    assert_status(&csv, StatusCode::OK, "CSV");
    assert!(
        csv.header("content-type")
            .is_some_and(|c| c.starts_with("text/csv")),
        "{:?}",
        csv.headers
    );
    assert!(
        csv.header("content-disposition")
            .is_some_and(|c| c.contains("attachment")),
        "{:?}",
        csv.headers
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 4, "{}", csv.body);
    assert_eq!(lines[0], "Name,Kind,Class or role,Status,Detail");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("\"Lovelace, Ada\",pupil,3 Oak,Signed,v1 on")),
        "{}",
        csv.body
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("\"Babbage, Bob\",pupil,3 Oak,Overdue,by ")),
        "{}",
        csv.body
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("\"'=Sum, Eve\",pupil,4 Ash,Overdue,by ")),
        "{}",
        csv.body
    );
    for l in &lines {
        assert!(
            !l.starts_with('=') && !l.starts_with("\"="),
            "an unescaped formula: {l}"
        );
    }
    let filtered = b
        .get(&format!("{register}?status=overdue&format=csv"))
        .await;
    assert_eq!(filtered.body.lines().count(), 3, "{}", filtered.body);

    // Printable: a section per class.
    let print = b.get(&format!("{register}?format=print")).await;
    assert_status(&print, StatusCode::OK, "print");
    assert_eq!(
        print.body.matches("<section class=\"print-page\">").count(),
        2,
        "{}",
        print.body
    );
    assert_contains(&print, "<h1>3 Oak</h1>");
    assert_contains(&print, "<h1>4 Ash</h1>");
    assert_contains(&print, "Pupil agreement, version 1");
    let oak_at = print.body.find("<h1>3 Oak</h1>").unwrap();
    let ash_at = print.body.find("<h1>4 Ash</h1>").unwrap();
    let babbage = print.body.find("Babbage, Bob").unwrap();
    let eve = print.body.find("=Sum, Eve").unwrap();
    assert!(oak_at < babbage && ash_at < eve, "{}", print.body);
    assert!(
        babbage < ash_at,
        "Bob is listed under 3 Oak: {}",
        print.body
    );
    let oak_only = b.get(&format!("{register}?format=print&class=3+Oak")).await;
    assert_eq!(
        oak_only
            .body
            .matches("<section class=\"print-page\">")
            .count(),
        1
    );
}

#[tokio::test]
async fn the_api_says_whether_everything_is_signed() {
    let t = TestApp::start(false).await;
    let grace = staff(&t).await;
    let (_, v1) = t
        .publish_policy(STAFF_TITLE, Audience::Staff, STAFF_V1)
        .await;
    t.add_account("hana.head", &[Role::Head]).await;
    t.add_account("sam.staff", &[Role::Staff]).await;
    let token = |user: &'static str| {
        let app = t.app.clone();
        async move {
            app.create_token(&Actor::cli(), user, "test")
                .await
                .unwrap()
                .1
        }
    };
    let head_token = token("hana.head").await;
    let own_token = token("grace.hopper").await;
    let other_token = token("sam.staff").await;
    let b = t.browser();
    let path = format!("/api/v1/people/{grace}/agreements");
    let ask = |token: String| {
        let req = b.client.get(b.url(&path)).bearer_auth(token);
        b.send(req)
    };

    let res = ask(head_token.clone()).await;
    assert_status(&res, StatusCode::OK, "head, before signing");
    let json = res.json();
    assert_eq!(json["person_id"], grace, "{json}");
    assert_eq!(json["name"], "Grace Hopper", "{json}");
    assert_eq!(json["all_signed"], false, "{json}");
    assert_eq!(json["any_overdue"], false, "{json}");
    assert_eq!(json["agreements"][0]["status"]["status"], "due", "{json}");

    let res = ask(other_token.clone()).await;
    assert_status(&res, StatusCode::FORBIDDEN, "another member of staff");
    assert!(!res.body.contains("Grace"));
    assert!(res.json()["error"].is_string());

    let res = ask(own_token.clone()).await;
    assert_status(&res, StatusCode::OK, "own token");
    assert_eq!(res.json()["all_signed"], false);

    let gb = login(&t, "grace.hopper").await;
    let csrf = gb.get("/sign").await.csrf();
    assert_redirect(
        &sign(&gb, &csrf, v1, &[grace], true, "Grace Hopper").await,
        "/?signed=1",
    );

    let json = ask(head_token).await.json();
    assert_eq!(json["all_signed"], true, "{json}");
    assert_eq!(
        json["agreements"][0]["status"]["status"], "signed",
        "{json}"
    );
    assert_eq!(ask(own_token).await.json()["all_signed"], true);
    assert_eq!(ask(other_token).await.status, StatusCode::FORBIDDEN);
    // Looking at someone else's agreements through the API is audited too.
    let views = t.audit_actions("agreements.view").await;
    assert_eq!(views.len(), 2, "{views:?}");
    assert!(views.iter().all(|v| v.event.actor == "hana.head"));
}

const TWO_AGREEMENTS: &str = "\
Pupil Acceptable Use Agreement

- I will be kind online
- I will ask an adult before using a new website

Signed: ______ Date: ______

Staff Code of Conduct

- I will keep pupil data safe
- I will use my school email for school business
- I will report concerns the same day
";

#[tokio::test]
async fn a_policy_is_imported_approved_and_published_and_then_cannot_change() {
    let t = TestApp::start(false).await;
    let b = head(&t).await;
    let csrf = b.get("/agreements/new").await.csrf();
    let mut form = vec![
        ("csrf_token", csrf.as_str()),
        ("title", "Staff code of conduct"),
        ("audience", "staff"),
        ("owner", "Headteacher"),
        ("days_to_sign", "14"),
        ("annual", "on"),
        ("source", TWO_AGREEMENTS),
        ("step", "preview"),
    ];
    let preview = b.post_form("/agreements/new", &form).await;
    assert_status(&preview, StatusCode::OK, "preview");
    assert_contains(&preview, "This document seems to hold 2 agreements.");
    assert_contains(&preview, "Pupil Acceptable Use Agreement (2 points)");
    assert_contains(&preview, "Staff Code of Conduct (3 points)");
    assert_contains(&preview, "id=\"create\"");
    assert_contains(&preview, "signature line(s) left out");
    assert!(t.app.policies(&Actor::cli()).await.unwrap().is_empty());

    form.pop();
    form.push(("candidate", "1"));
    form.push(("step", "create"));
    // A bad setting is refused with the preview kept.
    let mut bad = form.clone();
    bad[4] = ("days_to_sign", "400");
    let res = b.post_form("/agreements/new", &bad).await;
    assert_status(&res, StatusCode::BAD_REQUEST, "400 days to sign");
    assert_contains(&res, "days to sign: a whole number of days from 0 to 365");
    assert_contains(&res, "id=\"preview\"");
    assert!(t.app.policies(&Actor::cli()).await.unwrap().is_empty());

    let res = b.post_form("/agreements/new", &form).await;
    let policies = t.app.policies(&Actor::cli()).await.unwrap();
    assert_eq!(policies.len(), 1);
    let policy = &policies[0];
    let id = policy.id;
    assert_redirect(&res, &format!("/agreements/{id}"));
    assert_eq!(policy.title, "Staff code of conduct");
    assert_eq!(policy.audience, Audience::Staff);
    assert_eq!(policy.annual_from, Some((9, 1)));
    let v1 = policy.versions[0].clone();
    assert_eq!(v1.status, VersionStatus::Draft);
    assert!(
        v1.body.contains("I will keep pupil data safe"),
        "{}",
        v1.body
    );
    assert!(v1.body.contains("I will report concerns the same day"));
    assert!(!v1.body.contains("kind online"), "{}", v1.body);
    assert!(!v1.body.contains("Signed:"), "{}", v1.body);
    assert_eq!(t.audit_actions("policy.create").await.len(), 1);

    let page = b.get(&format!("/agreements/{id}")).await;
    assert_status(&page, StatusCode::OK, "the policy page");
    assert_contains(&page, "id=\"approve-form\"");
    let csrf = page.csrf();
    let today = t.app.today().to_string();
    let next_year = t.app.today().checked_add(1.year()).unwrap().to_string();
    let vid = v1.id.to_string();
    let act = |fields: Vec<(&'static str, String)>| {
        let mut all = vec![("csrf_token", csrf.clone()), ("version", vid.clone())];
        all.extend(fields);
        let req = b
            .client
            .post(b.url(&format!("/agreements/{id}")))
            .form(&all);
        b.send(req)
    };

    // Publishing before approval is refused.
    let res = act(vec![
        ("action", "publish".into()),
        ("effective", today.clone()),
        ("review", next_year.clone()),
    ])
    .await;
    assert_status(&res, StatusCode::BAD_REQUEST, "publishing a draft");
    assert_contains(&res, "only an approved version can be published");
    assert_eq!(t.policy(id).await.versions[0].status, VersionStatus::Draft);

    let res = act(vec![
        ("action", "approve".into()),
        ("by", "Full governing body".into()),
        ("on", today.clone()),
    ])
    .await;
    assert_redirect(&res, &format!("/agreements/{id}"));
    let v = t.policy(id).await.versions[0].clone();
    assert_eq!(v.status, VersionStatus::Approved);
    assert_eq!(v.approved_by.as_deref(), Some("Full governing body"));
    assert_contains(
        &b.get(&format!("/agreements/{id}")).await,
        "id=\"publish-form\"",
    );

    let res = act(vec![
        ("action", "publish".into()),
        ("effective", today.clone()),
        ("review", next_year.clone()),
    ])
    .await;
    assert_redirect(&res, &format!("/agreements/{id}"));
    let v = t.policy(id).await.versions[0].clone();
    assert_eq!(v.status, VersionStatus::Published);
    assert_eq!(v.effective_on, Some(t.app.today()));
    assert_eq!(v.body, v1.body);
    assert_eq!(v.hash, v1.hash);
    assert_eq!(t.audit_actions("policy.version_publish").await.len(), 1);

    // The published text cannot be changed: the same text is not a new version…
    let page = b.get(&format!("/agreements/{id}")).await;
    assert_contains(&page, "id=\"new-version\"");
    let res = act(vec![
        ("action", "new_version".into()),
        ("source", v.body.clone()),
        ("material", "on".into()),
        ("note", "No change".into()),
    ])
    .await;
    assert_status(&res, StatusCode::BAD_REQUEST, "the same text again");
    assert_contains(&res, "this is the same as the latest version");
    let after = t.policy(id).await;
    assert_eq!(after.versions.len(), 1);
    assert_eq!(after.versions[0].body, v1.body);
    // …nor can it be approved again.
    let res = act(vec![
        ("action", "approve".into()),
        ("by", "Someone".into()),
        ("on", today.clone()),
    ])
    .await;
    assert_status(
        &res,
        StatusCode::BAD_REQUEST,
        "approving a published version",
    );
    assert_contains(&res, "only a draft can be approved");
    assert_eq!(
        t.policy(id).await.versions[0].approved_by.as_deref(),
        Some("Full governing body")
    );

    // …and the database itself refuses to edit it.
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new().filename(&t.db_path),
    )
    .await
    .unwrap();
    let err = sqlx::query("UPDATE policy_versions SET body = 'Nothing to agree to' WHERE id = $1")
        .bind(v.id)
        .execute(&pool)
        .await
        .expect_err("the trigger refuses the edit");
    assert!(
        err.to_string()
            .contains("a published version cannot be edited"),
        "{err}"
    );
    let err = sqlx::query("DELETE FROM policy_versions WHERE id = $1")
        .bind(v.id)
        .execute(&pool)
        .await
        .expect_err("the trigger refuses the deletion");
    assert!(
        err.to_string()
            .contains("a published version cannot be deleted"),
        "{err}"
    );
    pool.close().await;
    let after = t.policy(id).await;
    assert_eq!(after.versions[0].body, v1.body);
    assert_eq!(after.versions[0].hash, v1.hash);
}

#[tokio::test]
async fn views_of_other_peoples_agreements_and_signatures_are_audited() {
    let t = TestApp::start(false).await;
    let grace = staff(&t).await;
    let (_, v1) = t
        .publish_policy(STAFF_TITLE, Audience::Staff, STAFF_V1)
        .await;

    // Grace looking at her own agreements is not an audited view.
    let gb = login(&t, "grace.hopper").await;
    assert_status(
        &gb.get(&format!("/people/{grace}/agreements")).await,
        StatusCode::OK,
        "own agreements",
    );
    assert!(t.audit_actions("agreements.view").await.is_empty());

    let csrf = gb.get("/sign").await.csrf();
    assert_redirect(
        &sign(&gb, &csrf, v1, &[grace], true, "Grace Hopper").await,
        "/?signed=1",
    );
    let signs = t.audit_actions("agreement.sign").await;
    assert_eq!(signs.len(), 1, "{signs:?}");
    assert_eq!(signs[0].event.actor, "grace.hopper");
    assert_eq!(signs[0].event.ip.as_deref(), Some("127.0.0.1"));
    let detail: serde_json::Value = serde_json::from_str(&signs[0].event.detail).unwrap();
    assert_eq!(detail["version"], v1, "{detail}");
    assert_eq!(detail["people"], serde_json::json!([grace]), "{detail}");

    // The head looking is.
    let b = head(&t).await;
    let page = b.get(&format!("/people/{grace}/agreements")).await;
    assert_status(&page, StatusCode::OK, "the head's view");
    assert_contains(&page, "Signed Staff Acceptable Use Agreement v1");
    let views = t.audit_actions("agreements.view").await;
    assert_eq!(views.len(), 1, "{views:?}");
    assert_eq!(views[0].event.actor, "hana.head");
    let target = format!("person:{grace}");
    assert_eq!(views[0].event.target.as_deref(), Some(target.as_str()));

    // A refused look is not recorded as a view.
    t.add_account("sam.staff", &[Role::Staff]).await;
    let sb = login(&t, "sam.staff").await;
    assert_status(
        &sb.get(&format!("/people/{grace}/agreements")).await,
        StatusCode::FORBIDDEN,
        "another member of staff",
    );
    assert_eq!(t.audit_actions("agreements.view").await.len(), 1);
}

#[tokio::test]
async fn a_signed_copy_is_printable_and_downloadable_as_pdf() {
    let t = TestApp::start(false).await;
    let grace = staff(&t).await;
    let (policy, v1) = t
        .publish_policy(STAFF_TITLE, Audience::Staff, STAFF_V1)
        .await;
    let version = t.policy(policy).await.versions[0].clone();
    let b = t.browser();
    b.sign_in_to("grace.hopper", "/").await;
    let page = b.get("/sign").await;
    sign(&b, &page.csrf(), v1, &[grace], true, "Grace Hopper").await;
    let seq = t.signatures(&[grace]).await[0].seq;

    let copy = b.get(&format!("/people/{grace}/agreements/{seq}")).await;
    assert_status(&copy, StatusCode::OK, "the signed copy");
    assert_contains(&copy, &version.hash);
    assert_contains(
        &copy,
        "I will keep my passwords private and never share them with anyone.",
    );

    let (status, headers, bytes) = b
        .get_bytes(&format!("/people/{grace}/agreements/{seq}/pdf"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get("content-type").unwrap(), "application/pdf");
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains(&version.hash),
        "the PDF names the version's fingerprint"
    );
    assert!(text.contains("Grace Hopper"), "and the signer");

    // Another member of staff may not fetch it.
    t.add_account("other.staff", &[Role::Staff]).await;
    let other = t.signed_in("other.staff").await;
    let (status, _, _) = other
        .get_bytes(&format!("/people/{grace}/agreements/{seq}/pdf"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_withdrawal_is_a_new_record_and_asks_for_a_new_signature() {
    let t = TestApp::start(false).await;
    let grace = staff(&t).await;
    let (policy, v1) = t
        .publish_policy(STAFF_TITLE, Audience::Staff, STAFF_V1)
        .await;
    let b = t.browser();
    b.sign_in_to("grace.hopper", "/").await;
    let page = b.get("/sign").await;
    sign(&b, &page.csrf(), v1, &[grace], true, "Grace Hopper").await;
    assert_eq!(t.signatures(&[grace]).await.len(), 1);

    // Another member of staff may not withdraw it; nor may anyone without a reason.
    t.add_account("other.staff", &[Role::Staff]).await;
    let other = t.signed_in("other.staff").await;
    let csrf = other.get("/account").await.csrf();
    let res = other
        .post_form(
            &format!("/people/{grace}/agreements/withdraw"),
            &[
                ("csrf_token", &csrf),
                ("policy", &policy.to_string()),
                ("reason", "x"),
            ],
        )
        .await;
    assert_status(&res, StatusCode::FORBIDDEN, "another person's withdrawal");
    let h = head(&t).await;
    let form = h.get(&format!("/people/{grace}/agreements")).await;
    assert_contains(&form, "Withdraw this agreement");
    let res = h
        .post_form(
            &format!("/people/{grace}/agreements/withdraw"),
            &[
                ("csrf_token", &form.csrf()),
                ("policy", &policy.to_string()),
                ("reason", " "),
            ],
        )
        .await;
    assert_status(
        &res,
        StatusCode::BAD_REQUEST,
        "a withdrawal without a reason",
    );
    assert_eq!(t.signatures(&[grace]).await.len(), 1, "nothing stored");

    let res = h
        .post_form(
            &format!("/people/{grace}/agreements/withdraw"),
            &[
                ("csrf_token", &form.csrf()),
                ("policy", &policy.to_string()),
                ("reason", "Signed by mistake"),
            ],
        )
        .await;
    assert_redirect(&res, &format!("/people/{grace}/agreements"));
    let recs = t.signatures(&[grace]).await;
    assert_eq!(
        recs.len(),
        2,
        "the signature stays; the withdrawal is added"
    );
    assert_eq!(recs[0].signature.act, Act::Sign);
    assert_eq!(recs[1].signature.act, Act::Withdraw);
    assert_eq!(recs[1].signature.version_id, v1);
    let audit = t.audit_actions("agreement.withdraw").await;
    assert!(
        audit
            .iter()
            .any(|e| e.event.detail.contains("Signed by mistake")),
        "{audit:?}"
    );

    // Grace must sign again before anything else.
    assert_redirect(&b.get("/").await, "/sign");
    // And there is nothing left to withdraw.
    let res = h
        .post_form(
            &format!("/people/{grace}/agreements/withdraw"),
            &[
                ("csrf_token", &form.csrf()),
                ("policy", &policy.to_string()),
                ("reason", "again"),
            ],
        )
        .await;
    assert_status(&res, StatusCode::BAD_REQUEST, "withdrawing twice");
}
