use super::*;
use proptest::prelude::*;

// Real school documents, used only as test input. They live in the repository so CI's
// clone has them.
const SEED_000: &str = include_str!("../../../tests/fixtures/seeds/000_bb972f08a79ba912.txt");
const SEED_001: &str = include_str!("../../../tests/fixtures/seeds/001_6affc90852e55a23.txt");
const SEED_002: &str = include_str!("../../../tests/fixtures/seeds/002_67046679924f8986.txt");
const SEED_003: &str = include_str!("../../../tests/fixtures/seeds/003_053a550d42234f39.txt");
const SEED_004: &str = include_str!("../../../tests/fixtures/seeds/004_6e079517f2559f70.txt");
const SEEDS: [&str; 5] = [SEED_000, SEED_001, SEED_002, SEED_003, SEED_004];

// ----- helpers -----

fn clause_texts(text: &PolicyText) -> Vec<String> {
    text.clauses().map(|(_, c)| c.text.clone()).collect()
}

fn headings(text: &PolicyText) -> Vec<Option<String>> {
    text.sections.iter().map(|s| s.heading.clone()).collect()
}

fn clauses_per_candidate(report: &ParseReport) -> Vec<usize> {
    report.candidates.iter().map(|c| c.clause_count).collect()
}

fn section<'a>(text: &'a PolicyText, heading: &str) -> &'a Section {
    let found = text
        .sections
        .iter()
        .find(|s| s.heading.as_deref() == Some(heading));
    match found {
        Some(s) => s,
        None => panic!("no section headed {heading:?} in {:?}", headings(text)),
    }
}

fn clause(number: &str, text: &str) -> Clause {
    Clause {
        number: number.to_string(),
        text: text.to_string(),
    }
}

/// No clause or paragraph of a parsed text may be a piece of a signature block.
fn assert_no_signature_text(text: &PolicyText) {
    let paragraphs = text
        .sections
        .iter()
        .flat_map(|s| s.intro.iter())
        .chain(text.clauses().map(|(_, c)| &c.text));
    for p in paragraphs {
        let lower = p.to_lowercase();
        assert!(
            !lower.starts_with("signed")
                && !lower.starts_with("signature")
                && !lower.contains("……")
                && !lower.contains("_____")
                && !lower.contains("date:"),
            "signature text kept: {p:?}"
        );
    }
}

/// Canonical text parses back to the same structure and the same candidates, and so do
/// the candidates' selections.
fn assert_round_trip(report: &ParseReport) {
    let again = parse_policy(&report.text.canonical());
    assert_eq!(again.text, report.text);
    assert_eq!(again.candidates, report.candidates);
    assert_eq!(again.signature_lines_removed, 0);
    for candidate in &report.candidates {
        let selected = report.text.select(candidate);
        assert_eq!(parse_policy(&selected.canonical()).text, selected);
        assert_eq!(selected.clause_count(), candidate.clause_count);
    }
}

// ----- the five seed documents -----

#[test]
fn seed_000_staff_code_of_conduct_with_wrapped_bullets() {
    let report = parse_policy(SEED_000);
    let text = &report.text;
    // One agreement: a title line, one intro paragraph, then a single "- " list. Counted
    // by reading the file: 15 lines start with "- " (the 4th, 7th and 10th items wrap
    // onto lines that start with a space), and nothing else is a list item.
    assert_eq!(clauses_per_candidate(&report), vec![15]);
    assert_eq!(report.candidates.len(), 1);
    assert_eq!(
        report.candidates.first().map(|c| c.title.as_str()),
        Some("ICT CODE OF CONDUCT Staff, Governor & Visitor ICT Code of Conduct")
    );
    assert_eq!(
        text.title.as_deref(),
        Some("ICT CODE OF CONDUCT Staff, Governor & Visitor ICT Code of Conduct")
    );
    assert_eq!(headings(text), vec![None]);
    assert_eq!(text.sections.first().map(|s| s.intro.len()), Some(1));
    assert_eq!(report.signature_lines_removed, 0);

    let clauses: Vec<&Clause> = text.clauses().map(|(_, c)| c).collect();
    assert_eq!(
        clauses.first().copied(),
        Some(&clause(
            "1",
            "All staff, Governors and visitors understand that ICT includes a wide range of \
             systems, including mobile phones, PDAs, digital cameras, laptops and tablets"
        ))
    );
    // Wrapped over four lines, each continuation starting with a space.
    assert_eq!(
        clauses.get(6).copied(),
        Some(&clause(
            "7",
            "All staff, Governors and visitors understand that their permitted use of the \
             Internet and other related technologies is monitored and logged and will be \
             made available, on request, to their Line Manager or Head teacher in line with \
             any disciplinary procedures. This relates to all school owned devices, \
             including laptops provided by the school."
        ))
    );
    assert_eq!(
        clauses.last().copied(),
        Some(&clause(
            "15",
            "All staff, Governors and visitors will report any incidents of concern regarding \
             staff use of technology and/or children's safety to the Senior Designated \
             Professional or Head teacher in line with the school's Safeguarding Policy."
        ))
    );
    assert_round_trip(&report);
}

#[test]
fn seed_001_list_split_by_a_blank_line_stays_one_list() {
    let report = parse_policy(SEED_001);
    let text = &report.text;
    // One agreement. Counted by reading: 12 "- " lines, a blank line, then 5 more "- "
    // lines under the same heading: 17 clauses numbered 1 to 17.
    assert_eq!(clauses_per_candidate(&report), vec![17]);
    assert_eq!(
        report.candidates.first().map(|c| c.title.as_str()),
        Some("Staff, Governor and Visitor Acceptable Use Policy / ICT Code of Conduct")
    );
    assert_eq!(text.title.as_deref(), Some("Foresters Primary School"));
    assert_eq!(
        headings(text),
        vec![Some(
            "Staff, Governor and Visitor Acceptable Use Policy / ICT Code of Conduct".to_string()
        )]
    );
    assert_eq!(report.signature_lines_removed, 0);

    let only = section(
        text,
        "Staff, Governor and Visitor Acceptable Use Policy / ICT Code of Conduct",
    );
    assert_eq!(only.intro.len(), 1);
    assert_eq!(
        only.clauses.first(),
        Some(&clause(
            "1",
            "I appreciate that ICT includes a wide range of systems, including mobile phones,, \
             digital cameras, email, social networking and that ICT use may also include \
             personal ICT devices when used for school business."
        ))
    );
    // The first item after the blank line continues the numbering.
    assert_eq!(
        only.clauses.get(12),
        Some(&clause(
            "13",
            "I will ensure that my online activity, both in school and outside school, will \
             not bring my professional role into disrepute."
        ))
    );
    assert_eq!(
        only.clauses.last(),
        Some(&clause(
            "17",
            "I understand that sanctions for disregarding any of the above will be in line with \
             the school's disciplinary procedures and serious infringements may be referred to \
             the police."
        ))
    );
    assert_round_trip(&report);
}

#[test]
fn seed_002_numbered_list_lead_ins_and_signature_block() {
    let report = parse_policy(SEED_002);
    let text = &report.text;
    // One agreement (the staff code of conduct; the "taken from School Safeguarding
    // Policy 2021" heading is part of it). Counted by reading:
    //   Effective Practice: items "1." to "7."                                  7
    //   "What I know and what I will do:": 6 "- " lines, blank, 19 "- " lines  25
    //   Use of mobile phones ("We will:"): 7 "- " lines                         7
    //   Work mobile phones: 4 "- " lines                                        4
    //   Personal mobile phones: 4 "- " lines                                    4
    //                                                                         ---
    //                                                                          47
    assert_eq!(clauses_per_candidate(&report), vec![47]);
    assert_eq!(
        text.title.as_deref(),
        Some("Staff Code of Conduct for Network and Internet Use – Acceptable Use Policy")
    );
    assert_eq!(
        report.candidates.first().map(|c| c.title.as_str()),
        text.title.as_deref()
    );
    assert_eq!(
        headings(text),
        vec![
            None,
            Some("Effective Practice".to_string()),
            None,
            Some("Use of mobile phones – taken from School Safeguarding Policy 2021".to_string()),
            Some("Work mobile phones".to_string()),
            Some("Personal mobile phones".to_string()),
            None,
        ]
    );
    // "I have read, understood and agree …", "Signed: Printed: Date:" and the
    // "Accepted for use in …: Capitals:" row.
    assert_eq!(report.signature_lines_removed, 3);
    assert_no_signature_text(text);

    let practice = section(text, "Effective Practice");
    let numbers: Vec<&str> = practice.clauses.iter().map(|c| c.number.as_str()).collect();
    assert_eq!(numbers, vec!["1", "2", "3", "4", "5", "6", "7"]);
    assert_eq!(
        practice.clauses.get(1),
        Some(&clause(
            "2",
            "Where possible, ensure personal electronic equipment such as a mobile phone is \
             password/PIN protected."
        ))
    );
    // Short and unpunctuated, but it continues the list: a clause, not a heading.
    assert_eq!(
        practice.clauses.last(),
        Some(&clause(
            "7",
            "Respect copyright and intellectual property rights"
        ))
    );
    // "We will:" leads into the list: shown, not signed.
    let phones = section(
        text,
        "Use of mobile phones – taken from School Safeguarding Policy 2021",
    );
    assert_eq!(phones.intro.last().map(String::as_str), Some("We will:"));
    let work = section(text, "Work mobile phones");
    assert_eq!(
        work.intro,
        vec!["To protect children, we will ensure that the work mobile:".to_string()]
    );
    let last = text.clauses().last().map(|(_, c)| c.clone());
    assert_eq!(
        last,
        Some(clause(
            "4",
            "Are not used to contact parents or children – exception will only be by \
             agreement with the SLT."
        ))
    );
    // The closing paragraph after the last list is an untitled section's intro.
    assert_eq!(
        text.sections
            .last()
            .map(|s| (s.intro.len(), s.clauses.len())),
        Some((1, 0))
    );
    assert_round_trip(&report);
}

#[test]
fn seed_003_headed_sections_sub_bullets_and_markup() {
    let report = parse_policy(SEED_003);
    let text = &report.text;
    // One agreement. Counted by reading, section by section:
    //   Remember 2; Reporting concerns 3 "- " items + 5 indented " - o " sub-items = 8;
    //   Use of school systems 5; Use of personal devices… 4 (the last wraps over five
    //   lines); Looking after data 6; Using images… 2; Social media 2; Remote learning 6;
    //   General: one paragraph, no list, 0.  2+8+5+4+6+2+2+6 = 35.
    assert_eq!(clauses_per_candidate(&report), vec![35]);
    assert_eq!(text.title.as_deref(), Some("(code of conduct)"));
    assert_eq!(
        report.candidates.first().map(|c| c.title.as_str()),
        Some("(code of conduct)")
    );
    assert_eq!(
        headings(text),
        vec![
            None,
            Some("Remember".to_string()),
            Some("Reporting concerns".to_string()),
            Some("Use of school systems".to_string()),
            Some("Use of personal devices, systems or email accounts".to_string()),
            Some("Looking after data".to_string()),
            Some("Using images and children's names".to_string()),
            Some("Social media".to_string()),
            Some("Remote learning".to_string()),
            Some("General".to_string()),
        ]
    );
    // The approval line and three paragraphs come before any heading.
    assert_eq!(text.sections.first().map(|s| s.intro.len()), Some(4));
    assert_eq!(report.signature_lines_removed, 0);

    let reporting = section(text, "Reporting concerns");
    // `<u>…</u>` is dropped, the text kept.
    assert_eq!(
        reporting.clauses.first(),
        Some(&clause(
            "1",
            "Safeguarding: You must report any concerns about children's safety in line with \
             the Q1E Child Protection and Safeguarding Policy."
        ))
    );
    // " - o If you …": both markers go.
    assert_eq!(
        reporting.clauses.last(),
        Some(&clause("8", "If you receive personal data sent in error."))
    );
    let devices = section(text, "Use of personal devices, systems or email accounts");
    assert_eq!(
        devices.clauses.last(),
        Some(&clause(
            "4",
            "You must never keep photos or videos of children on your phone or other personal \
             device. If you do need to take a photo or video, you should ideally use a school \
             camera. Use of personal devices for this purpose should be agreed in advance with \
             the head, and in these cases photos or videos should be uploaded onto the school \
             system as soon as possible, and deleted from the personal device"
        ))
    );
    let last = text.clauses().last().map(|(_, c)| c.clone());
    assert_eq!(
        last,
        Some(clause(
            "6",
            "Do not take secret recordings or screenshots of pupils or other adults."
        ))
    );
    let general = section(text, "General");
    assert_eq!(general.intro.len(), 1);
    assert!(general.clauses.is_empty());
    assert_round_trip(&report);
}

#[test]
fn seed_004_policy_pupil_agreement_parent_letter_and_staff_agreement() {
    let report = parse_policy(SEED_004);
    let text = &report.text;
    // Four candidates, counted by reading. Every "·" line is one clause (no "·" line is a
    // signature line), so each count is the "·" lines in that part of the file:
    //
    // 0. The online safety policy, "1. Introduction and Overview" to "Asset disposal":
    //    Rationale 7, Content 2, Contact 2, Conduct 5, Headteacher 5, Digital leader 4,
    //    Governors 3, Teachers 3, All staff 7, Pupils 8, Parents/carer 3,
    //    Communication 3, Handling complaints 6, Review and Monitoring 1        =  59
    //    2. Pupil Online safety curriculum 21, Staff and governor training 3,
    //    Parent awareness and training 2                                       =  26
    //    3. Expected conduct 5, Staff 1, Students/Pupils 1, Parents/Carers 2,
    //    Incident Management 6                                                  =  15
    //    4. (Internet access… 1, "This school:" 14, "This school" 2, "To ensure the
    //    network…" 17) 34, Password policy 2, E-mail 6, Pupils 16, Staff 5,
    //    School website 7, Social networking 4                                  =  74
    //    5. Strategic and operational practices 8 + 3, Technical Solutions 7    =  18
    //    6. Personal mobile phones… 10, Students' use… 5, Staff use… 4,
    //    Digital images and video 7, Asset disposal 0 (paragraphs only)         =  26
    //                                                                       total 218
    // 1. "Acceptable Use Agreement: Pupils - Primary": 14 "·" lines, then "Signed: Date:".
    // 2. The letter, "Dear Parent/ Carer": three paragraphs and a reply slip, no list: 0.
    // 3. "Staff, Governor and Visitor / Acceptable Use Agreement / Code of Conduct": 17
    //    "·" lines, then the signature block.
    assert_eq!(clauses_per_candidate(&report), vec![218, 14, 0, 17]);
    let titles: Vec<&str> = report.candidates.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(
        titles,
        vec![
            "1. Introduction and Overview",
            "Acceptable Use Agreement: Pupils - Primary",
            "Trelawnyd VA – Dear Parent/ Carer",
            "Staff, Governor and Visitor – Acceptable Use Agreement / Code of Conduct",
        ]
    );
    // The candidates cover the sections in order, without gaps.
    let mut next = 0;
    for candidate in &report.candidates {
        assert_eq!(candidate.first_section, next);
        next += candidate.section_count;
    }
    assert_eq!(next, text.sections.len());
    // A numbered heading is never the title, and nothing came before it.
    assert_eq!(text.title, None);
    let all_headings = headings(text);
    for numbered in [
        "1. Introduction and Overview",
        "2. Education and Curriculum",
        "3. Expected Conduct and Incident management",
        "4. Managing the IT and Computing infrastructure",
        "5. Data security: Management Information System access and Data transfer",
        "6. Equipment and Digital Content",
        // Lines straight after a list line that are headings, not wrapped text.
        "Students/Pupils",
        "Social networking",
        "Digital images and video",
    ] {
        assert!(
            all_headings.contains(&Some(numbered.to_string())),
            "missing heading {numbered:?}"
        );
    }
    // Signed: Date: / Parent/ carer signature / the "We have discussed … (child's name)"
    // slip / Parent/ Carer Signature …… / Class …… Date …… / User Signature / the
    // "I agree to follow this code of conduct" declaration / Signature …… Date …… /
    // Full Name …… (printed) / Job title ……
    assert_eq!(report.signature_lines_removed, 10);
    assert_no_signature_text(text);

    let policy = text.select(&report.candidates[0]);
    let policy_clauses = clause_texts(&policy);
    assert_eq!(
        policy_clauses.first().map(String::as_str),
        Some(
            "set out the key principles expected of all members of the school community at \
             Trelawnyd VA with respect to the use of IT-based technologies."
        )
    );
    // The second line starts with a space and a lower-case letter: a continuation.
    assert!(
        policy_clauses.contains(
            &"Has integrated curriculum and administration networks, but access to the \
          Management Information System is set-up so as to ensure staff users can only \
          access modules related to their role; e.g. teachers access report writing module;"
                .to_string()
        )
    );
    // A clause that trails off in dots is not a signature blank.
    assert!(
        policy_clauses
            .iter()
            .any(|c| c.starts_with("Requires staff to preview websites before use."))
    );
    // "This school" between a heading and its list is a lead-in, shown not signed.
    let curriculum = section(text, "Pupil Online safety curriculum");
    assert_eq!(curriculum.intro, vec!["This school".to_string()]);
    assert_eq!(curriculum.clauses.len(), 21);

    let pupils = text.select(&report.candidates[1]);
    assert_eq!(
        pupils.title.as_deref(),
        Some("Acceptable Use Agreement: Pupils - Primary")
    );
    assert_eq!(
        headings(&pupils),
        vec![Some(
            "Primary Pupil Acceptable Use Agreement / eSafety Rules".to_string()
        )]
    );
    let pupil_clauses: Vec<Clause> = pupils.clauses().map(|(_, c)| c.clone()).collect();
    assert_eq!(
        pupil_clauses.first(),
        Some(&clause(
            "1",
            "I will only use ICT in school for school purposes"
        ))
    );
    assert_eq!(
        pupil_clauses.last(),
        Some(&clause(
            "14",
            "I will not sign up to online services until I am old enough"
        ))
    );

    let letter = text.select(&report.candidates[2]);
    assert_eq!(letter.clause_count(), 0);
    assert_eq!(
        letter
            .sections
            .first()
            .map(|s| (s.heading.clone(), s.intro.len())),
        Some((None, 3))
    );

    let staff = text.select(&report.candidates[3]);
    assert_eq!(headings(&staff), vec![None]);
    let staff_clauses: Vec<Clause> = staff.clauses().map(|(_, c)| c.clone()).collect();
    assert_eq!(
        staff_clauses.first(),
        Some(&clause(
            "1",
            "I will only use the school’s email / Internet / Intranet / Learning Platform and \
             any related technologies for professional purposes or for uses deemed acceptable \
             by the Head or Governing Body"
        ))
    );
    assert_eq!(
        staff_clauses.last(),
        Some(&clause(
            "17",
            "I understand this forms part of the terms and conditions set out in my contract \
             of employment"
        ))
    );
    assert_round_trip(&report);
}

#[test]
fn seeds_hash_the_same_after_reformatting() {
    for seed in SEEDS {
        let report = parse_policy(seed);
        let crlf = seed.replace('\n', "\r\n").replace(' ', " \t");
        assert_eq!(parse_policy(&crlf).text.hash(), report.text.hash());
        assert_eq!(
            parse_policy(&report.text.canonical()).text.hash(),
            report.text.hash()
        );
    }
}

// ----- bullets and numbers -----

#[test]
fn every_bullet_style_starts_a_clause() {
    for bullet in ["-", "*", "+", "•", "·", "▪", "◦", "o", "\u{F0B7}", "–", "●"] {
        let source = format!("{bullet} First rule\n{bullet} Second rule\n");
        let text = parse_policy(&source).text;
        assert_eq!(
            text.clauses().map(|(_, c)| c.clone()).collect::<Vec<_>>(),
            vec![clause("1", "First rule"), clause("2", "Second rule")],
            "bullet {bullet:?}"
        );
    }
    // Symbol bullets may touch the text.
    let text = parse_policy("•First\n·Second\n").text;
    assert_eq!(clause_texts(&text), vec!["First", "Second"]);
}

#[test]
fn numbered_items_keep_their_numbers() {
    let cases: [(&str, [&str; 2]); 9] = [
        ("1. A\n2. B", ["1", "2"]),
        ("1) A\n2) B", ["1", "2"]),
        ("(1) A\n(2) B", ["1", "2"]),
        ("a) A\nb) B", ["a", "b"]),
        ("(a) A\n(b) B", ["a", "b"]),
        ("a. A\nb. B", ["a", "b"]),
        ("i. A\nii. B", ["i", "ii"]),
        ("(iv) A\n(v) B", ["iv", "v"]),
        ("2.1 A\n2.2. B", ["2.1", "2.2"]),
    ];
    for (source, numbers) in cases {
        let text = parse_policy(&format!("{source}\n")).text;
        let got: Vec<&str> = text.clauses().map(|(_, c)| c.number.as_str()).collect();
        assert_eq!(got, numbers, "{source:?}");
        assert_eq!(clause_texts(&text), vec!["A", "B"], "{source:?}");
    }
}

#[test]
fn words_that_look_like_markers_are_not_lists() {
    for line in [
        "e.g. this is an example sentence.",
        "I will be kind.",
        "A. N. Other visited the school.",
        "10:30 is break time.",
        "-5 degrees outside.",
        "**Bold** statement here.",
        "(code of conduct) is below.",
    ] {
        let text = parse_policy(&format!("Intro paragraph here.\n\n{line}\n")).text;
        assert_eq!(text.clause_count(), 0, "{line:?}");
    }
}

#[test]
fn nested_bullets_and_checkboxes_lose_their_markers() {
    let text = parse_policy("- o Nested item\n- [ ] Tick item\n* [x] Done item\n").text;
    assert_eq!(
        clause_texts(&text),
        vec!["Nested item", "Tick item", "Done item"]
    );
}

#[test]
fn bullets_after_numbers_continue_the_count() {
    let text = parse_policy("1. One\n2. Two\n- Three\n").text;
    let numbers: Vec<&str> = text.clauses().map(|(_, c)| c.number.as_str()).collect();
    assert_eq!(numbers, vec!["1", "2", "3"]);
}

// ----- wrapping -----

#[test]
fn wrapped_lines_join_the_clause() {
    let source =
        "- I will keep my password\n  secret and will not\nshare it with anyone\n- Next one\n";
    let text = parse_policy(source).text;
    assert_eq!(
        clause_texts(&text),
        vec![
            "I will keep my password secret and will not share it with anyone",
            "Next one"
        ]
    );
}

#[test]
fn capitalised_wrapped_line_continues_unless_it_stands_alone() {
    // Followed by more text: a continuation even though it starts with a capital.
    let text = parse_policy("- I will tell my teacher or\nMrs Smith when I see\nsomething\n").text;
    assert_eq!(
        clause_texts(&text),
        vec!["I will tell my teacher or Mrs Smith when I see something"]
    );
    // Followed by the next bullet: still the end of the item.
    let text = parse_policy("- I will be polite to\nEveryone Online\n- Next\n").text;
    assert_eq!(
        clause_texts(&text),
        vec!["I will be polite to Everyone Online", "Next"]
    );
    // A short capitalised line with a blank line after it is a heading.
    let text = parse_policy("- I will be kind.\nStaff\n\n- I will be fair.\n").text;
    assert_eq!(headings(&text), vec![None, Some("Staff".to_string())]);
    assert_eq!(text.clause_count(), 2);
}

#[test]
fn blank_line_ends_a_clause_and_a_paragraph_after_a_list_starts_a_section() {
    let source = "- One\n\nA closing paragraph that is not a bullet.\n\n- Two\n";
    let text = parse_policy(source).text;
    assert_eq!(text.sections.len(), 2);
    assert_eq!(
        text.sections.get(1),
        Some(&Section {
            heading: None,
            intro: vec!["A closing paragraph that is not a bullet.".to_string()],
            clauses: vec![clause("1", "Two")],
        })
    );
}

#[test]
fn marker_alone_on_its_line_takes_the_next_line() {
    let text = parse_policy("•\nBe kind online\n\n2.\nTell an adult\n").text;
    assert_eq!(clause_texts(&text), vec!["Be kind online", "Tell an adult"]);
}

// ----- headings and titles -----

#[test]
fn markdown_headings() {
    let source = "# Pupil Agreement\n\nRead this first.\n\n## Online\n\n- Be kind\n\n### At home\n\n1. Ask first\n";
    let text = parse_policy(source).text;
    assert_eq!(text.title.as_deref(), Some("Pupil Agreement"));
    assert_eq!(
        headings(&text),
        vec![None, Some("Online".into()), Some("At home".into())]
    );
    assert_eq!(
        text.sections.first().map(|s| s.intro.clone()),
        Some(vec!["Read this first.".to_string()])
    );
    // A bold line is a Markdown writer's heading.
    let text = parse_policy("# Title\n\n- One\n\n**At home:**\n\n- Two\n").text;
    assert_eq!(headings(&text), vec![None, Some("At home".into())]);
    // In Markdown, a short plain line is a paragraph, not a heading.
    let text = parse_policy("# Title\n\nShort line\n\n- Item\n").text;
    assert_eq!(headings(&text), vec![None]);
    assert_eq!(
        text.sections.first().map(|s| s.intro.clone()),
        Some(vec!["Short line".to_string()])
    );
}

#[test]
fn plain_text_headings_and_title() {
    let source = "OUR SCHOOL RULES\n\nThese rules keep everyone safe.\n\nUsing Computers:\n\n- Be kind\n\nAt home\n\n- Ask first\n";
    let text = parse_policy(source).text;
    assert_eq!(text.title.as_deref(), Some("OUR SCHOOL RULES"));
    assert_eq!(
        headings(&text),
        vec![None, Some("Using Computers".into()), Some("At home".into())]
    );
}

#[test]
fn lead_in_lines_are_intro_not_headings() {
    let source = "Title Here\n\nMobile phones\n\nWe will:\n\n- Keep them safe\n\nStaff rules\n\nIn this school\n\n- Be kind\n";
    let text = parse_policy(source).text;
    assert_eq!(text.title.as_deref(), Some("Title Here"));
    let phones = section(&text, "Mobile phones");
    assert_eq!(phones.intro, vec!["We will:".to_string()]);
    let staff = section(&text, "Staff rules");
    assert_eq!(staff.intro, vec!["In this school".to_string()]);
}

#[test]
fn numbered_headings_versus_numbered_lists() {
    let source = "1. Introduction\n\nSome words here.\n\n2. Rules\n\n- Be kind\n";
    let text = parse_policy(source).text;
    assert_eq!(
        headings(&text),
        vec![Some("1. Introduction".into()), Some("2. Rules".into())]
    );
    assert_eq!(text.title, None);
    // Short items of a real list stay items, even one to a paragraph.
    let text = parse_policy("1. Be kind\n\n2. Be safe\n\n3. Tell an adult\n").text;
    assert_eq!(text.clause_count(), 3);
    assert_eq!(headings(&text), vec![None]);
}

// ----- signature blocks -----

#[test]
fn signature_lines_are_removed_and_counted() {
    let source = "\
- Be kind online

I have read and understood the rules and agree to follow them.

Signed: ………………………… Date: …………………
Print name: ______________
Name of child
Parent/carer signature
Date:
..............................
__________________________
Signed: Printed: Date:
";
    let report = parse_policy(source);
    assert_eq!(report.signature_lines_removed, 9);
    assert_eq!(clause_texts(&report.text), vec!["Be kind online"]);
    assert_eq!(report.text.sections.len(), 1);
    assert_no_signature_text(&report.text);
}

#[test]
fn declaration_with_blanks_is_removed_but_a_plain_one_stays() {
    let report = parse_policy("- Be kind\n\n☐ I have read the rules ______\n");
    assert_eq!(report.signature_lines_removed, 1);
    assert_eq!(report.text.clause_count(), 1);
    // Not followed by a signature field: an ordinary paragraph.
    let report = parse_policy("- Be kind\n\nI agree to follow these rules at all times.\n");
    assert_eq!(report.signature_lines_removed, 0);
    assert_eq!(report.text.sections.len(), 2);
}

// ----- candidates -----

const THREE_PART: &str = "\
Pupil Acceptable Use Agreement

- I will be kind
- I will ask first

Signed: ______ Date: ______

Dear Parent/Carer

Please read these rules with your child.

Staff Code of Conduct

- I will keep data safe
";

#[test]
fn candidates_split_a_file_into_agreements() {
    let report = parse_policy(THREE_PART);
    let titles: Vec<&str> = report.candidates.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(
        titles,
        vec![
            "Pupil Acceptable Use Agreement",
            "Dear Parent/Carer",
            "Staff Code of Conduct"
        ]
    );
    assert_eq!(clauses_per_candidate(&report), vec![2, 0, 1]);
    let staff = report.text.select(&report.candidates[2]);
    assert_eq!(
        staff,
        PolicyText {
            title: Some("Staff Code of Conduct".into()),
            sections: vec![Section {
                heading: None,
                intro: vec![],
                clauses: vec![clause("1", "I will keep data safe")],
            }],
        }
    );
    let pupils = report.text.select(&report.candidates[0]);
    assert_eq!(
        pupils.title.as_deref(),
        Some("Pupil Acceptable Use Agreement")
    );
    assert_eq!(pupils.clause_count(), 2);
}

#[test]
fn parts_of_one_policy_do_not_split_it() {
    let source = "Online Safety Policy\n\n- One\n\nPassword policy\n\n- Two\n\nUse of phones – from the Safeguarding Policy 2021\n\n- Three\n";
    let report = parse_policy(source);
    assert_eq!(report.candidates.len(), 1);
    assert_eq!(clauses_per_candidate(&report), vec![3]);
}

#[test]
fn empty_document_has_one_empty_candidate() {
    let report = parse_policy("");
    assert_eq!(report.text, PolicyText::default());
    assert_eq!(report.candidates.len(), 1);
    assert_eq!(clauses_per_candidate(&report), vec![0]);
    assert_eq!(report.text.canonical(), "");
}

#[test]
fn select_with_a_stale_candidate_does_not_panic() {
    let report = parse_policy("- One\n");
    let stale = Candidate {
        index: 9,
        title: "Old".into(),
        first_section: 7,
        section_count: 3,
        clause_count: 4,
    };
    assert_eq!(report.text.select(&stale).sections, vec![]);
}

// ----- canonical text and hash -----

#[test]
fn canonical_form() {
    let text = PolicyText {
        title: Some("  Pupil   Agreement ".into()),
        sections: vec![
            Section {
                heading: None,
                intro: vec!["Read this\nfirst.".into(), "  ".into()],
                clauses: vec![clause("1", "Be kind."), clause("b", "Be  safe.")],
            },
            Section {
                heading: Some("At home".into()),
                intro: vec![],
                clauses: vec![clause("2.1", "Ask first."), clause("??", "Tell us.")],
            },
        ],
    };
    assert_eq!(
        text.canonical(),
        "# Pupil Agreement\n\nRead this first.\n\n1. Be kind.\nb) Be safe.\n\n## At home\n\n2.1. Ask first.\n2. Tell us.\n"
    );
}

#[test]
fn hash_ignores_whitespace_and_line_endings_but_not_words() {
    let plain = "Rules\n\n- Be kind online\n- Tell an adult\n";
    let messy = "\u{FEFF}Rules  \r\n\r\n\r\n\t-\u{A0}Be   kind\u{200B} online \r\n-  Tell an\r\n   adult\r\n";
    let a = parse_policy(plain).text;
    let b = parse_policy(messy).text;
    assert_eq!(a, b);
    assert_eq!(a.hash(), b.hash());
    assert_eq!(a.hash().len(), 64);
    assert!(a.hash().chars().all(|c| c.is_ascii_hexdigit()));
    let changed = parse_policy("Rules\n\n- Be kind online\n- Tell a teacher\n").text;
    assert_ne!(changed.hash(), a.hash());
    // A known value, so that the canonical form cannot drift unnoticed.
    assert_eq!(
        a.canonical(),
        "# Rules\n\n1. Be kind online\n2. Tell an adult\n"
    );
    assert_eq!(
        a.hash(),
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            b"# Rules\n\n1. Be kind online\n2. Tell an adult\n"
        ))
    );
}

// ----- diff -----

fn agreement(clauses: &[&str]) -> PolicyText {
    PolicyText {
        title: Some("Rules".into()),
        sections: vec![Section {
            heading: Some("Online".into()),
            intro: vec![],
            clauses: clauses
                .iter()
                .enumerate()
                .map(|(i, t)| clause(&(i + 1).to_string(), t))
                .collect(),
        }],
    }
}

fn changes(d: &Diff) -> Vec<ClauseChange> {
    d.clauses.iter().map(|c| c.change.clone()).collect()
}

#[test]
fn diff_of_the_same_text_is_all_unchanged() {
    let old = agreement(&["I will be kind online.", "I will tell an adult."]);
    let new = agreement(&["i will be KIND online", "I will tell an  adult!"]);
    let d = diff(&old, &new);
    assert_eq!(
        changes(&d),
        vec![ClauseChange::Unchanged, ClauseChange::Unchanged]
    );
    assert!(d.removed.is_empty());
    assert!(!d.has_changes());
}

#[test]
fn diff_one_word_changed() {
    let old = agreement(&[
        "I will keep my password secret from my friends.",
        "I will be kind.",
    ]);
    let new = agreement(&[
        "I will keep my password private from my friends.",
        "I will be kind.",
    ]);
    let d = diff(&old, &new);
    assert_eq!(
        changes(&d),
        vec![
            ClauseChange::Changed {
                before: "I will keep my password secret from my friends.".into()
            },
            ClauseChange::Unchanged
        ]
    );
    assert!(d.removed.is_empty());
    assert_eq!(
        d.clauses.first().map(|c| c.section.as_deref()),
        Some(Some("Online"))
    );
    assert!(d.has_changes());
}

#[test]
fn diff_inserted_clause_is_added() {
    let old = agreement(&["I will be kind.", "I will tell an adult."]);
    let new = agreement(&[
        "I will be kind.",
        "I will not share photos of other people.",
        "I will tell an adult.",
    ]);
    let d = diff(&old, &new);
    assert_eq!(
        changes(&d),
        vec![
            ClauseChange::Unchanged,
            ClauseChange::Added,
            ClauseChange::Unchanged
        ]
    );
    assert_eq!(
        d.clauses.get(1).map(|c| c.clause.number.as_str()),
        Some("2")
    );
    assert!(d.removed.is_empty());
}

#[test]
fn diff_removed_clause_is_listed() {
    let old = agreement(&[
        "I will be kind.",
        "I will not bring a smart watch to school.",
        "I will tell an adult.",
    ]);
    let new = agreement(&["I will be kind.", "I will tell an adult."]);
    let d = diff(&old, &new);
    assert_eq!(
        changes(&d),
        vec![ClauseChange::Unchanged, ClauseChange::Unchanged]
    );
    assert_eq!(
        d.removed,
        vec![(
            Some("Online".to_string()),
            clause("2", "I will not bring a smart watch to school.")
        )]
    );
}

#[test]
fn diff_rewritten_clause_is_removed_and_added() {
    let old = agreement(&["I will only use the computers for school work."]);
    let new = agreement(&["Phones stay in bags during lessons."]);
    let d = diff(&old, &new);
    assert_eq!(changes(&d), vec![ClauseChange::Added]);
    assert_eq!(d.removed.len(), 1);
}

#[test]
fn diff_between_real_versions() {
    // The two staff agreements in seeds 001 and 004 share much of their wording.
    let old = parse_policy(SEED_001);
    let new_report = parse_policy(SEED_004);
    let new = new_report.text.select(&new_report.candidates[3]);
    let d = diff(&old.text, &new);
    assert_eq!(d.clauses.len(), 17);
    let unchanged = changes(&d)
        .iter()
        .filter(|c| **c == ClauseChange::Unchanged)
        .count();
    let changed = changes(&d)
        .iter()
        .filter(|c| matches!(c, ClauseChange::Changed { .. }))
        .count();
    assert!(unchanged >= 1, "{d:#?}");
    assert!(changed >= 5, "{d:#?}");
    // Every old clause is either matched once or removed.
    assert_eq!(
        unchanged + changed + d.removed.len(),
        old.text.clause_count()
    );
}

#[test]
fn reparse_edge_cases() {
    // Inputs where the canonical text once read back differently.
    for source in [
        // A lone short numbered clause is not a heading.
        "Signed: - \n- I have read ",
        // Two lines that only make a signature line once joined.
        "I have read I have read - I have read \u{b}School school school._____ ",
        // A bare "o" bullet, then text.
        "o \u{b}**- o ",
        // A heading that reads as a signature field once its colon goes.
        "Dear Parent Dear Parent Signed: - ## : ",
        // A bold paragraph over two lines.
        "**A\u{b}ßa**\n",
    ] {
        let report = parse_policy(source);
        check_invariants(&report);
        assert_eq!(
            parse_policy(&report.text.canonical()).text,
            report.text,
            "{source:?}"
        );
    }
}

// ----- properties -----

const WORDS: &[&str] = &[
    "school", "pupils", "online", "safety", "device", "password", "share", "report", "teacher",
    "screen", "kind", "messages", "photos", "internet", "email", "use", "keep", "safe", "always",
    "never", "tell", "adult", "computer", "network", "private", "account", "games", "apps",
    "learning", "home", "friends", "careful", "polite", "help", "worried",
];

fn word() -> impl Strategy<Value = String> {
    proptest::sample::select(WORDS).prop_map(str::to_string)
}

fn capitalised(w: &str) -> String {
    let mut chars = w.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A sentence: capitalised, ending in a full stop, with odd spacing and punctuation.
fn sentence() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(word(), 1..12),
        proptest::sample::select(vec![" ", "  ", ", ", " / ", " – "]),
    )
        .prop_map(|(words, sep)| {
            let mut words = words;
            if let Some(first) = words.first_mut() {
                *first = capitalised(first);
            }
            format!("{}.", words.join(sep))
        })
}

fn heading() -> impl Strategy<Value = String> {
    proptest::collection::vec(word(), 1..6).prop_map(|words| {
        words
            .iter()
            .map(|w| capitalised(w))
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..300).prop_map(|n| n.to_string()),
        "[a-z]",
        "[A-Z]",
        "[ivx]{1,4}",
        "[IVX]{1,3}",
        "[1-9]\\.[1-9]{1,2}",
    ]
}

fn raw_section() -> impl Strategy<Value = Section> {
    (
        proptest::option::of(heading()),
        proptest::collection::vec(sentence(), 0..3),
        proptest::collection::vec((number(), sentence()), 0..6),
    )
        .prop_map(|(heading, intro, clauses)| Section {
            heading,
            intro,
            clauses: clauses
                .into_iter()
                .map(|(number, text)| Clause { number, text })
                .collect(),
        })
}

/// A text as canonical Markdown can express it: a section without a heading is either
/// the first or follows a list and has paragraphs; a first untitled section is not empty.
fn policy_text() -> impl Strategy<Value = PolicyText> {
    (
        proptest::option::of(heading()),
        proptest::collection::vec((raw_section(), heading()), 0..6),
    )
        .prop_map(|(title, raw)| {
            let mut sections: Vec<Section> = Vec::new();
            for (mut s, spare) in raw {
                if s.heading.is_none() {
                    let expressible = match sections.last() {
                        None => !s.intro.is_empty() || !s.clauses.is_empty(),
                        Some(prev) => !prev.clauses.is_empty() && !s.intro.is_empty(),
                    };
                    if !expressible {
                        s.heading = Some(spare);
                    }
                }
                sections.push(s);
            }
            PolicyText { title, sections }
        })
}

/// Collapses whitespace the way canonical text does, so generated values compare with
/// parsed ones.
fn tidy(text: &PolicyText) -> PolicyText {
    let ws = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    PolicyText {
        title: text.title.as_deref().map(ws),
        sections: text
            .sections
            .iter()
            .map(|s| Section {
                heading: s.heading.as_deref().map(ws),
                intro: s.intro.iter().map(|p| ws(p)).collect(),
                clauses: s
                    .clauses
                    .iter()
                    .map(|c| Clause {
                        number: c.number.clone(),
                        text: ws(&c.text),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Lines built from the pieces real documents are made of.
fn document() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("- ".to_string()),
        Just("• ".to_string()),
        Just("o ".to_string()),
        Just("1. ".to_string()),
        Just("(a) ".to_string()),
        Just("## ".to_string()),
        Just("Signed: ".to_string()),
        Just("Date ……… ".to_string()),
        Just("_____ ".to_string()),
        Just("I have read ".to_string()),
        Just("Dear Parent ".to_string()),
        Just("Acceptable Use Agreement ".to_string()),
        Just(": ".to_string()),
        Just("\n".to_string()),
        Just("\n\n".to_string()),
        Just("\r\n".to_string()),
        Just(" ".to_string()),
        Just("\t".to_string()),
        Just("\n  ".to_string()),
        Just("\nThis school\n\n".to_string()),
        Just("\nStaff\n".to_string()),
        Just("\n2. ".to_string()),
        Just("…….".to_string()),
        Just("<u>".to_string()),
        Just("**".to_string()),
        word(),
        sentence(),
        heading(),
        ".*",
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn check_invariants(report: &ParseReport) {
    let text = &report.text;
    assert!(!report.candidates.is_empty());
    let mut next = 0;
    for (i, candidate) in report.candidates.iter().enumerate() {
        assert_eq!(candidate.index, i);
        assert_eq!(candidate.first_section, next);
        next += candidate.section_count;
        assert!(!candidate.title.is_empty());
        let _ = text.select(candidate);
    }
    assert_eq!(next, text.sections.len());
    assert_eq!(
        report
            .candidates
            .iter()
            .map(|c| c.clause_count)
            .sum::<usize>(),
        text.clause_count()
    );
    for (_, c) in text.clauses() {
        assert!(!c.text.is_empty());
        assert!(!c.number.is_empty());
    }
    let canonical = text.canonical();
    assert!(canonical.is_empty() || (canonical.ends_with('\n') && !canonical.ends_with("\n\n")));
    assert_eq!(text.hash().len(), 64);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // Failures found so far are kept as `reparse_edge_cases` below instead.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn canonical_round_trips(text in policy_text()) {
        let parsed = parse_policy(&text.canonical());
        prop_assert_eq!(parsed.text, tidy(&text));
        prop_assert_eq!(parsed.signature_lines_removed, 0);
    }

    #[test]
    fn hash_is_stable_under_reformatting(text in policy_text()) {
        let canonical = text.canonical();
        let messy = canonical.replace('\n', "\r\n").replace(' ', "  \t");
        prop_assert_eq!(parse_policy(&messy).text.hash(), parse_policy(&canonical).text.hash());
    }

    #[test]
    fn diff_of_a_text_with_itself_is_unchanged(text in policy_text()) {
        let d = diff(&text, &text);
        prop_assert!(!d.has_changes());
        prop_assert_eq!(d.clauses.len(), text.clause_count());
    }

    #[test]
    fn arbitrary_input_never_panics(source in any::<String>()) {
        let report = parse_policy(&source);
        check_invariants(&report);
        prop_assert_eq!(parse_policy(&report.text.canonical()).text, report.text.clone());
        let _ = diff(&report.text, &parse_policy("- one\n").text);
    }

    #[test]
    fn document_like_input_never_panics_and_reparses(source in document()) {
        let report = parse_policy(&source);
        check_invariants(&report);
        let again = parse_policy(&report.text.canonical());
        check_invariants(&again);
        let d = diff(&report.text, &again.text);
        prop_assert_eq!(d.clauses.len(), again.text.clause_count());
        prop_assert_eq!(again.text, report.text);
    }
}
