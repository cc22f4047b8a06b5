use super::columns::normalise;
use super::*;
use crate::people::{ClassName, JobTitle, PersonName, YearGroup};
use jiff::civil::{Date, date};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

// ---------------------------------------------------------------- helpers

fn parse(kind: PersonKind, text: &str) -> ParsedFile {
    parse_people_csv(text.as_bytes(), kind, &[], &mut |_| {})
}

fn parse_with(kind: PersonKind, text: &str, overrides: &[(&str, Field)]) -> ParsedFile {
    let overrides: Vec<(String, Field)> = overrides
        .iter()
        .map(|(h, f)| ((*h).to_owned(), *f))
        .collect();
    parse_people_csv(text.as_bytes(), kind, &overrides, &mut |_| {})
}

fn shown(problems: &[Problem]) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

fn id(s: &str) -> MisId {
    MisId::parse(s).unwrap()
}

fn name(s: &str) -> PersonName {
    PersonName::parse(s).unwrap()
}

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn person(kind: PersonKind, mis_id: Option<&str>, first: &str, last: &str) -> PersonDetails {
    PersonDetails {
        kind,
        mis_id: mis_id.map(id),
        first_name: name(first),
        last_name: name(last),
        email: None,
        year_group: None,
        class_name: None,
        job_title: None,
        start_date: None,
        leave_date: None,
    }
}

fn field_of(parsed: &ParsedFile, header: &str) -> Option<Field> {
    parsed
        .columns
        .iter()
        .find(|c| c.header == header)
        .unwrap_or_else(|| panic!("no column {header}: {:?}", parsed.columns))
        .field
}

fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    let mut bytes = if little_endian {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for unit in text.encode_utf16() {
        let pair = if little_endian {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        };
        bytes.extend_from_slice(&pair);
    }
    bytes
}

// ---------------------------------------------------------------- fields and arguments

#[test]
fn field_names_round_trip_and_errors_name_the_valid_ones() {
    for field in Field::ALL {
        assert_eq!(field.as_str().parse::<Field>(), Ok(field));
        assert_eq!(field.to_string(), field.as_str());
    }
    assert_eq!("Last-Name".parse::<Field>(), Ok(Field::LastName));
    assert_eq!("class".parse::<Field>(), Ok(Field::ClassName));
    assert_eq!(Field::ClassName.label(), "class");
    assert_eq!(Field::MisId.label(), "MIS id");
    assert_eq!(Field::FirstName.label(), "first name");
    let err = "surname".parse::<Field>().unwrap_err().to_string();
    assert!(err.contains("'surname' is not a field"), "{err}");
    assert!(
        err.contains(
            "mis_id, first_name, last_name, email, year_group, class, job_title, start_date, leave_date, child_mis_id, ignore"
        ),
        "{err}"
    );
}

#[test]
fn fields_serialise_as_their_snake_names() {
    use serde::Deserialize;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error, StrDeserializer};
    for field in Field::ALL {
        let de: StrDeserializer<'_, Error> = field.as_str().into_deserializer();
        assert_eq!(Field::deserialize(de), Ok(field));
    }
}

#[test]
fn map_arguments() {
    assert_eq!(
        parse_map_arg("Legal Surname=last_name"),
        Ok(("Legal Surname".to_owned(), Field::LastName))
    );
    assert_eq!(
        parse_map_arg(" Known as = first_name "),
        Ok(("Known as".to_owned(), Field::FirstName))
    );
    assert_eq!(
        parse_map_arg("A=B=ignore"),
        Ok(("A=B".to_owned(), Field::Ignore))
    );
    let no_eq = parse_map_arg("Surname").unwrap_err().to_string();
    assert!(no_eq.contains("should be COLUMN=FIELD"), "{no_eq}");
    let empty = parse_map_arg(" =last_name").unwrap_err().to_string();
    assert!(empty.contains("no column name"), "{empty}");
    let bad = parse_map_arg("Surname=lastname").unwrap_err().to_string();
    assert!(bad.contains("'lastname' is not a field"), "{bad}");
    assert!(bad.contains("last_name"), "{bad}");
}

#[test]
fn problems_display_with_and_without_a_column() {
    assert_eq!(
        Problem::at_cell(7, "Surname", "is required").to_string(),
        "line 7, column 'Surname': is required"
    );
    assert_eq!(
        Problem::at_line(1, "no column for last name").to_string(),
        "line 1: no column for last name"
    );
}

#[test]
fn header_variants_never_overlap_between_fields() {
    for kind in PersonKind::ALL {
        let mut seen: HashMap<String, Field> = HashMap::new();
        for field in Field::ALL {
            for variant in header_variants(field, kind) {
                if let Some(other) = seen.insert(normalise(variant), field) {
                    assert_eq!(other, field, "{variant} is used twice for {kind}");
                }
            }
        }
    }
    assert!(!header_variants(Field::Email, PersonKind::Pupil).contains(&"Contact 1 email"));
    assert!(header_variants(Field::Email, PersonKind::Parent).contains(&"Contact 1 email"));
    assert!(header_variants(Field::ChildMisId, PersonKind::Pupil).is_empty());
    assert!(!header_variants(Field::MisId, PersonKind::Parent).contains(&"UPN"));
    assert_eq!(normalise("\u{feff} NC Year "), "ncyear");
    assert_eq!(normalise("E-mail"), "email");
}

// ---------------------------------------------------------------- encodings

#[test]
fn decode_handles_boms_utf16_and_windows_1252() {
    assert_eq!(decode(b"\xEF\xBB\xBFUPN,Name"), "UPN,Name");
    assert_eq!(decode("Zoë".as_bytes()), "Zoë");
    assert_eq!(decode(b"Zo\xEB,Siobh\xE1n \x80"), "Zoë,Siobhán €");
    assert_eq!(decode(&utf16("Zoë,Ŵ", true)), "Zoë,Ŵ");
    assert_eq!(decode(&utf16("Zoë,Ŵ", false)), "Zoë,Ŵ");
    assert_eq!(decode(b""), "");
}

#[test]
fn utf8_bom_does_not_hide_the_first_header() {
    let parsed = parse_bytes(
        PersonKind::Pupil,
        b"\xEF\xBB\xBFUPN,Forename,Surname,Year\nA1,Zo\xC3\xAB,Lee,R\n",
    );
    assert_eq!(shown(&parsed.problems), Vec::<String>::new());
    assert_eq!(parsed.columns[0].header, "UPN");
    assert_eq!(field_of(&parsed, "UPN"), Some(Field::MisId));
    assert_eq!(parsed.rows[0].details.first_name.as_str(), "Zoë");
}

fn parse_bytes(kind: PersonKind, bytes: &[u8]) -> ParsedFile {
    parse_people_csv(bytes, kind, &[], &mut |_| {})
}

#[test]
fn windows_1252_names_are_read() {
    let parsed = parse_bytes(
        PersonKind::Pupil,
        b"UPN,Forename,Surname,Year\r\nA1,Zo\xEB,O'Brien,3\r\nA2,Siobh\xE1n,N\xED Bhriain,4\r\n",
    );
    assert_eq!(shown(&parsed.problems), Vec::<String>::new());
    let names: Vec<String> = parsed.rows.iter().map(|r| r.details.full_name()).collect();
    assert_eq!(names, ["Zoë O'Brien", "Siobhán Ní Bhriain"]);
    assert_eq!(parsed.rows[1].line, 3);
}

#[test]
fn utf16_with_bom_is_read_tab_or_comma_separated() {
    let text = "UPN\tForename\tSurname\tYear\r\nA1\tZoë\tŁukasz\t4\r\nA2\tSiobhán\tLee\tY5\r\n";
    for little_endian in [true, false] {
        let parsed = parse_bytes(PersonKind::Pupil, &utf16(text, little_endian));
        assert_eq!(shown(&parsed.problems), Vec::<String>::new());
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.rows[0].details.full_name(), "Zoë Łukasz");
        assert_eq!(parsed.rows[1].details.year_group, Some(YearGroup::Year(5)));
        assert_eq!(parsed.rows[1].line, 3);
    }
    let parsed = parse_bytes(
        PersonKind::Pupil,
        &utf16("UPN,Forename,Surname,Year\nA1,Zoë,Lee,4\n", true),
    );
    assert_eq!(parsed.rows[0].details.first_name.as_str(), "Zoë");
}

#[test]
fn semicolon_separated_files_are_read() {
    let parsed = parse(
        PersonKind::Pupil,
        "UPN;Forename;Surname;Year\nA1;Ann;Lee;4\n",
    );
    assert_eq!(shown(&parsed.problems), Vec::<String>::new());
    assert_eq!(parsed.rows[0].details.full_name(), "Ann Lee");
}

// ---------------------------------------------------------------- headers

#[test]
fn sims_like_pupil_export() {
    let text = "Adno,UPN,Legal Surname,Legal Forename,Preferred Surname,Preferred Forename,Year,Reg,Gender,Admission Date,Contact 1 Email\n\
                001234,A123456789012,Smith,Jonathan,Smith,Jon,Year 3,3 Oak,M,01/09/2021,mum@example.com\n";
    let parsed = parse(PersonKind::Pupil, text);
    assert_eq!(shown(&parsed.problems), Vec::<String>::new());
    let fields: Vec<Option<Field>> = parsed.columns.iter().map(|c| c.field).collect();
    assert_eq!(
        fields,
        [
            None,
            Some(Field::MisId),
            None,
            None,
            Some(Field::LastName),
            Some(Field::FirstName),
            Some(Field::YearGroup),
            Some(Field::ClassName),
            None,
            Some(Field::StartDate),
            None,
        ]
    );
    assert_eq!(
        parsed.rows,
        [ImportRow {
            line: 2,
            details: PersonDetails {
                year_group: Some(YearGroup::Year(3)),
                class_name: Some(ClassName::parse("3 Oak").unwrap()),
                start_date: Some(date(2021, 9, 1)),
                ..person(PersonKind::Pupil, Some("A123456789012"), "Jon", "Smith")
            },
            children: vec![],
        }]
    );
}

#[test]
fn arbor_like_pupil_export() {
    let text = "Student ID,Legal forename,Legal surname,NC Year,Registration group,UPN,Date of birth,Email\n\
                991,Amira,Khan,10,10K,K111,2010-03-04,Amira.Khan@School.SCH.uk\n\
                992,Ben,Ode,Reception,RB,K112,2019-05-06,\n";
    let parsed = parse(PersonKind::Pupil, text);
    assert_eq!(shown(&parsed.problems), Vec::<String>::new());
    assert_eq!(field_of(&parsed, "Legal forename"), Some(Field::FirstName));
    assert_eq!(field_of(&parsed, "Legal surname"), Some(Field::LastName));
    assert_eq!(field_of(&parsed, "NC Year"), Some(Field::YearGroup));
    assert_eq!(
        field_of(&parsed, "Registration group"),
        Some(Field::ClassName)
    );
    // UPN outranks the other id columns.
    assert_eq!(field_of(&parsed, "UPN"), Some(Field::MisId));
    assert_eq!(field_of(&parsed, "Student ID"), None);
    assert_eq!(field_of(&parsed, "Date of birth"), None);
    let first = &parsed.rows[0].details;
    assert_eq!(first.mis_id, Some(id("K111")));
    assert_eq!(first.year_group, Some(YearGroup::Year(10)));
    assert_eq!(first.email, Some(email("amira.khan@school.sch.uk")));
    assert_eq!(
        parsed.rows[1].details.year_group,
        Some(YearGroup::Reception)
    );
    assert_eq!(parsed.rows[1].details.email, None);
}

#[test]
fn staff_export_reads_roles_and_dates() {
    let text = "Staff Code,Title,Forename,Surname,Role,Work Email,Employment Start,Leaving Date\n\
                ABC,Mrs,Ann,Lee,Year 4 teacher,ann.lee@school.sch.uk,1/9/2015,31/08/2025\n";
    let parsed = parse(PersonKind::Staff, text);
    assert_eq!(shown(&parsed.problems), Vec::<String>::new());
    assert_eq!(
        parsed.rows[0].details,
        PersonDetails {
            email: Some(email("ann.lee@school.sch.uk")),
            job_title: Some(JobTitle::parse("Year 4 teacher").unwrap()),
            start_date: Some(date(2015, 9, 1)),
            leave_date: Some(date(2025, 8, 31)),
            ..person(PersonKind::Staff, Some("ABC"), "Ann", "Lee")
        }
    );
}

#[test]
fn overrides_win_and_can_ignore_columns() {
    let text = "Ref,Known As,Legal Surname,Forename,Email\nS1,Jo,Bloggs,Joanne,jo@school.sch.uk\n";
    let without = parse(PersonKind::Staff, text);
    assert_eq!(without.problems.len(), 1);
    assert!(
        without.problems[0].to_string().starts_with(
            "line 1: no column for MIS id (looked for MIS ID, UPN, Unique Pupil Number, "
        ),
        "{}",
        without.problems[0]
    );
    assert!(without.rows.is_empty());
    assert!(without.required_columns_missing);

    let parsed = parse_with(
        PersonKind::Staff,
        text,
        &[
            ("ref", Field::MisId),
            ("KNOWN AS", Field::FirstName),
            ("E-mail", Field::Ignore),
        ],
    );
    assert_eq!(shown(&parsed.problems), Vec::<String>::new());
    assert_eq!(field_of(&parsed, "Forename"), None);
    assert_eq!(field_of(&parsed, "Email"), None);
    assert_eq!(field_of(&parsed, "Known As"), Some(Field::FirstName));
    assert_eq!(
        parsed.rows[0].details,
        person(PersonKind::Staff, Some("S1"), "Jo", "Bloggs")
    );
}

#[test]
fn bad_overrides_are_problems_on_line_one() {
    let text = "Staff code,First name,Forename,Last name,Job\nS1,Ann,Annie,Lee,Cook\n";
    let parsed = parse_with(
        PersonKind::Staff,
        text,
        &[
            ("Post held", Field::JobTitle),
            ("Forename", Field::LastName),
            ("Last name", Field::LastName),
            ("Job", Field::ChildMisId),
        ],
    );
    assert_eq!(
        shown(&parsed.problems),
        [
            "line 1: a mapping names column 'Post held' (job_title), but the file has no such column (its columns are 'Staff code', 'First name', 'Forename', 'Last name', 'Job')",
            "line 1: columns 'Forename' and 'Last name' are both mapped to last_name",
            "line 1: column 'Job' is mapped to child_mis_id, which only applies to a parents file",
        ]
    );
    // The valid mappings still apply and the rows are read.
    assert_eq!(parsed.rows[0].details.full_name(), "Ann Annie");
    assert_eq!(field_of(&parsed, "Last name"), None);
    assert_eq!(field_of(&parsed, "Job"), Some(Field::JobTitle));
}

#[test]
fn contact_email_is_ignored_for_pupils_but_read_for_parents() {
    let pupils = parse(
        PersonKind::Pupil,
        "UPN,Forename,Surname,Year,Contact 1 Email\nA1,Ann,Lee,2,mum@example.com\n",
    );
    assert_eq!(shown(&pupils.problems), Vec::<String>::new());
    assert_eq!(field_of(&pupils, "Contact 1 Email"), None);
    assert_eq!(pupils.rows[0].details.email, None);

    let parents = parse(
        PersonKind::Parent,
        "Contact ID,Forename,Surname,Contact Email 1,Child UPN\nP1,Mia,Lee,Mum@Example.com,A1\n",
    );
    assert_eq!(shown(&parents.problems), Vec::<String>::new());
    assert_eq!(field_of(&parents, "Contact Email 1"), Some(Field::Email));
    assert_eq!(
        parents.rows[0].details.email,
        Some(email("mum@example.com"))
    );
}

// ---------------------------------------------------------------- rows and lines

#[test]
fn blank_lines_and_empty_rows_are_skipped_and_counted() {
    let text = "UPN,Forename,Surname,Year\n\nA1,Ann,Lee,1\n,,,\n  ,  , ,\n\r\nA2,Bob,,2\n\n";
    let parsed = parse(PersonKind::Pupil, text);
    assert_eq!(
        shown(&parsed.problems),
        ["line 7, column 'Surname': is required"]
    );
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(parsed.rows[0].line, 3);
    assert_eq!(parsed.blank_rows_skipped, 5);
}

#[test]
fn quoted_commas_and_newlines_keep_later_line_numbers_right() {
    let text = "UPN,Forename,Surname,Year,Reg\n\
                A1,\"Mary, Jane\",\"Smith\nJones\",2,\"2 Oak, upstairs\"\n\
                \n\
                A2,Tom,\"O\"\"Neil\",Year 14,\n\
                A3,\"Multi\n\nline\",Day,3,\n\
                A4,Eve,,4,\n";
    let parsed = parse(PersonKind::Pupil, text);
    assert_eq!(
        shown(&parsed.problems),
        [
            "line 5, column 'Year': 'Year 14' is not a year group (use N, R or 1–13)",
            "line 9, column 'Surname': is required",
        ]
    );
    assert_eq!(parsed.rows.len(), 2);
    let first = &parsed.rows[0];
    assert_eq!(first.line, 2);
    assert_eq!(first.details.first_name.as_str(), "Mary, Jane");
    assert_eq!(first.details.last_name.as_str(), "Smith Jones");
    assert_eq!(
        first.details.class_name,
        Some(ClassName::parse("2 Oak, upstairs").unwrap())
    );
    assert_eq!(parsed.rows[1].line, 6);
    assert_eq!(parsed.rows[1].details.first_name.as_str(), "Multi line");
    assert_eq!(parsed.blank_rows_skipped, 1);
}

#[test]
fn every_bad_cell_is_a_problem_with_its_column() {
    let text = "UPN,Forename,Surname,Year,Email,Admission date\n\
                A1,,Lee,Year 14,not-an-email,31/02/2024\n\
                A 2,Bob,Ray,4,,\n\
                A3,Sue\n\
                A4,Kim,Ng,5,kim@school.sch.uk,2024-09-01,extra,cells\n";
    let parsed = parse(PersonKind::Pupil, text);
    assert_eq!(
        shown(&parsed.problems),
        [
            "line 2, column 'Forename': is required",
            "line 2, column 'Year': 'Year 14' is not a year group (use N, R or 1–13)",
            "line 2, column 'Email': 'not-an-email' is not an email address",
            "line 2, column 'Admission date': '31/02/2024' is not a date (use YYYY-MM-DD or DD/MM/YYYY)",
            "line 3, column 'UPN': 'A 2' contains spaces or control characters",
            "line 4, column 'Surname': is required",
            "line 4, column 'Year': is required",
        ]
    );
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(parsed.rows[0].line, 5);
    assert_eq!(parsed.rows[0].details.start_date, Some(date(2024, 9, 1)));
    assert_eq!(
        parsed.rejected.iter().map(|r| r.line).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    assert_eq!(parsed.rejected[0].mis_id, Some(id("A1")));
}

#[test]
fn missing_required_columns_are_reported_once_and_rows_left_alone() {
    let parsed = parse(PersonKind::Pupil, "UPN,Forename,Surname\nA1,,\n,,Lee\n");
    assert_eq!(
        shown(&parsed.problems),
        [
            "line 1: no column for year group (looked for Year, NC Year, Year group, Curriculum year, NC year actual, NC year group, National curriculum year)"
        ]
    );
    assert!(parsed.rows.is_empty());
    assert!(parsed.required_columns_missing);

    let parsed = parse(PersonKind::Governor, "Forename,Phone\nAnn,0123\n");
    let problems = shown(&parsed.problems);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("line 1: no column for MIS id or email (looked for MIS ID, "),
        "{}",
        problems[0]
    );
    assert!(problems[0].contains(", Email, E-mail, "), "{}", problems[0]);
    assert!(
        problems[1].starts_with("line 1: no column for last name (looked for Preferred surname, Preferred last name, Surname, "),
        "{}",
        problems[1]
    );

    let parsed = parse(
        PersonKind::Parent,
        "Parent ID,Forename,Surname\nP1,Ann,Lee\n",
    );
    assert_eq!(parsed.problems.len(), 1);
    assert!(
        parsed.problems[0]
            .message
            .starts_with("no column for child MIS id (looked for Child UPN, Pupil UPN, "),
        "{}",
        parsed.problems[0]
    );
}

#[test]
fn empty_files() {
    let parsed = parse(PersonKind::Staff, "");
    assert_eq!(
        shown(&parsed.problems),
        ["line 1: the file is empty: it has no header row"]
    );
    assert!(parsed.required_columns_missing);
    let parsed = parse(PersonKind::Staff, "Staff code,First name,Last name\n");
    assert!(parsed.problems.is_empty());
    assert!(parsed.rows.is_empty());
    assert!(!parsed.required_columns_missing);
}

#[test]
fn leave_date_before_start_date() {
    let parsed = parse(
        PersonKind::Staff,
        "Staff code,First name,Last name,Start date,Leave date\nS1,Ann,Lee,01/09/2024,31/08/2024\nS2,Bob,Ray,01/09/2024,01/09/2024\n",
    );
    assert_eq!(
        shown(&parsed.problems),
        ["line 2, column 'Leave date': 31/08/2024 is before the start date 01/09/2024"]
    );
    assert_eq!(parsed.rows.len(), 1);
}

#[test]
fn governors_need_an_mis_id_or_an_email() {
    let parsed = parse(
        PersonKind::Governor,
        "MIS ID,First name,Last name,Email,Role\n,Ann,Lee,,Chair\nG1,Bob,Ray,,\n,Cat,Day,cat@example.org,\n",
    );
    assert_eq!(
        shown(&parsed.problems),
        ["line 2, column 'MIS ID': needs an MIS id or an email"]
    );
    assert_eq!(parsed.rows.len(), 2);
    assert_eq!(parsed.rows[1].details.mis_id, None);

    let parsed = parse(
        PersonKind::Volunteer,
        "First name,Last name,Email\nAnn,Lee,\nBob,Ray,bob@example.org\n",
    );
    assert_eq!(
        shown(&parsed.problems),
        ["line 2, column 'Email': needs an MIS id or an email"]
    );
    assert_eq!(parsed.rows.len(), 1);
}

#[test]
fn duplicate_mis_ids_and_emails() {
    let parsed = parse(
        PersonKind::Staff,
        "Staff code,First name,Last name\nS1,Ann,Lee\nS2,Bob,Ray\nS1,Ann,Lee\n",
    );
    assert_eq!(
        shown(&parsed.problems),
        ["line 4, column 'Staff code': duplicate MIS id 'S1' (first on line 2)"]
    );
    assert_eq!(parsed.rows.len(), 2);

    let parsed = parse(
        PersonKind::Governor,
        "MIS ID,First name,Last name,Email\n,Ann,A,a@x.org\nG1,Bob,B,b@x.org\n,Ann,A,A@X.org\nG2,Carl,C,b@x.org\n",
    );
    assert_eq!(
        shown(&parsed.problems),
        ["line 4, column 'Email': duplicate email 'a@x.org' (first on line 2)"]
    );
    assert_eq!(parsed.rows.len(), 3);
}

#[test]
fn parents_with_several_children_in_a_cell_and_over_rows() {
    let text = "Contact ID,Forename,Surname,Contact 1 Email,Child UPNs\n\
                P1,Ann,Lee,ann@x.org,\"C1; C2|C3,C4\"\n\
                P2,Bob,Ray,,C5\n\
                P2,Bob,Ray,bob@x.org,C6;C5\n\
                P2,Robert,Ray,,C7\n\
                P3,Cat,Day,,\n\
                P1,ann,LEE,other@x.org,C9\n\
                P1,ANN,lee,,C1|C8\n\
                P4,Dan,Fox,,C1;;bad id\n";
    let parsed = parse(PersonKind::Parent, text);
    assert_eq!(
        shown(&parsed.problems),
        [
            "line 5, column 'Contact ID': duplicate MIS id 'P2' with a different name (first on line 3)",
            "line 6, column 'Child UPNs': is required",
            "line 7, column 'Contact 1 Email': 'other@x.org' differs from 'ann@x.org' on line 2 for the same MIS id",
            "line 9, column 'Child UPNs': 'bad id' contains spaces or control characters",
        ]
    );
    assert_eq!(parsed.rows.len(), 2);
    let ann = &parsed.rows[0];
    assert_eq!(ann.line, 2);
    assert_eq!(
        ann.children,
        ["C1", "C2", "C3", "C4", "C8"].map(id).to_vec()
    );
    let bob = &parsed.rows[1];
    assert_eq!(bob.line, 3);
    assert_eq!(bob.children, ["C5", "C6"].map(id).to_vec());
    assert_eq!(bob.details.email, Some(email("bob@x.org")));
}

#[test]
fn a_parents_file_takes_upn_as_the_childs() {
    let parsed = parse(
        PersonKind::Parent,
        "Parent ID,First name,Last name,UPN\nP1,Ann,Lee,A123\n",
    );
    assert_eq!(shown(&parsed.problems), Vec::<String>::new());
    assert_eq!(field_of(&parsed, "Parent ID"), Some(Field::MisId));
    assert_eq!(field_of(&parsed, "UPN"), Some(Field::ChildMisId));
    assert_eq!(parsed.rows[0].children, [id("A123")]);
}

#[test]
fn ten_thousand_rows() {
    let mut text = String::from("UPN,Forename,Surname,Year,Reg\n");
    for i in 0..10_000 {
        text.push_str(&format!(
            "U{i:05},Pupil{i},Family{},{},{}K\n",
            i % 97,
            i % 13 + 1,
            i % 13 + 1
        ));
    }
    let mut calls = Vec::new();
    let parsed = parse_people_csv(text.as_bytes(), PersonKind::Pupil, &[], &mut |n| {
        calls.push(n)
    });
    assert_eq!(shown(&parsed.problems), Vec::<String>::new());
    assert_eq!(parsed.rows.len(), 10_000);
    assert_eq!(parsed.rows[9_999].line, 10_001);
    assert_eq!(calls.last(), Some(&10_000));
    assert!(calls.contains(&500) && calls.contains(&9_500), "{calls:?}");
    assert!(calls.windows(2).all(|w| w[0] <= w[1]));
}

// ---------------------------------------------------------------- plans

fn stored(id_: i64, details: PersonDetails, active: bool) -> ExistingPerson {
    ExistingPerson {
        id: id_,
        details,
        active,
        children: vec![],
    }
}

/// Apply a plan the way the store does.
fn apply(plan: &ImportPlan, people: &mut Vec<ExistingPerson>) {
    let mut next = people.iter().map(|p| p.id).max().unwrap_or(0) + 1;
    for update in &plan.updates {
        let p = people.iter_mut().find(|p| p.id == update.id).unwrap();
        p.details = update.row.details.clone();
        if update.reactivate {
            p.active = true;
        }
        p.children.extend(update.children_added.iter().cloned());
    }
    for leaver in &plan.leavers {
        people
            .iter_mut()
            .find(|p| p.id == leaver.id)
            .unwrap()
            .active = false;
    }
    for row in &plan.creates {
        people.push(ExistingPerson {
            id: next,
            details: row.details.clone(),
            active: true,
            children: row.children.clone(),
        });
        next += 1;
    }
}

fn staff_file() -> ParsedFile {
    parse(
        PersonKind::Staff,
        "Staff code,First name,Last name,Job title,Email\n\
         S1,Ann,Lee,Head teacher,\n\
         S2,Bob,Ray,,\n\
         S3,Cat,Day,,\n\
         S5,Eve,Gee,,eve@school.sch.uk\n",
    )
}

fn staff_stored() -> Vec<ExistingPerson> {
    vec![
        stored(
            1,
            PersonDetails {
                job_title: Some(JobTitle::parse("Teacher").unwrap()),
                email: Some(email("ann@school.sch.uk")),
                ..person(PersonKind::Staff, Some("S1"), "Ann", "Lee")
            },
            true,
        ),
        stored(2, person(PersonKind::Staff, Some("S2"), "Bob", "Ray"), true),
        stored(
            3,
            person(PersonKind::Staff, Some("S3"), "Cat", "Day"),
            false,
        ),
        stored(4, person(PersonKind::Staff, Some("S4"), "Dan", "Fox"), true),
        stored(
            5,
            person(PersonKind::Pupil, Some("S5"), "Pip", "Pupil"),
            true,
        ),
        stored(
            6,
            person(PersonKind::Staff, Some("S6"), "Old", "Leaver"),
            false,
        ),
    ]
}

#[test]
fn plan_creates_updates_reactivates_and_counts_unchanged() {
    let parsed = staff_file();
    assert_eq!(shown(&parsed.problems), Vec::<String>::new());
    let plan = plan_import(&parsed, &staff_stored(), &HashSet::new(), false);
    assert_eq!(plan.kind, PersonKind::Staff);
    assert_eq!(plan.creates.len(), 1);
    assert_eq!(plan.creates[0].details.mis_id, Some(id("S5")));
    assert_eq!(plan.unchanged, 1);
    assert!(plan.leavers.is_empty());
    assert_eq!(plan.updates.len(), 2);
    let ann = &plan.updates[0];
    assert_eq!(ann.id, 1);
    assert!(!ann.reactivate);
    assert_eq!(
        ann.changes,
        [
            FieldChange {
                field: Field::Email,
                before: "ann@school.sch.uk".into(),
                after: String::new(),
            },
            FieldChange {
                field: Field::JobTitle,
                before: "Teacher".into(),
                after: "Head teacher".into(),
            },
        ]
    );
    let cat = &plan.updates[1];
    assert_eq!(cat.id, 3);
    assert!(cat.reactivate);
    assert!(cat.changes.is_empty());
    assert!(!plan.is_empty());
}

#[test]
fn leavers_only_with_full_and_only_active_people_of_the_kind() {
    let parsed = staff_file();
    let partial = plan_import(&parsed, &staff_stored(), &HashSet::new(), false);
    assert!(partial.leavers.is_empty());
    let full = plan_import(&parsed, &staff_stored(), &HashSet::new(), true);
    assert_eq!(
        full.leavers,
        [Leaver {
            id: 4,
            name: "Dan Fox".into()
        }]
    );
}

#[test]
fn rows_with_problems_and_missing_columns_make_nobody_a_leaver() {
    let parsed = parse(
        PersonKind::Staff,
        "Staff code,First name,Last name,Email\nS1,Ann,Lee,not-an-email\nS2,Bob,Ray,\n",
    );
    assert_eq!(parsed.problems.len(), 1);
    let people = vec![
        stored(1, person(PersonKind::Staff, Some("S1"), "Ann", "Lee"), true),
        stored(2, person(PersonKind::Staff, Some("S2"), "Bob", "Ray"), true),
        stored(3, person(PersonKind::Staff, Some("S3"), "Cat", "Day"), true),
    ];
    let plan = plan_import(&parsed, &people, &HashSet::new(), true);
    assert_eq!(plan.leavers.iter().map(|l| l.id).collect::<Vec<_>>(), [3]);
    assert_eq!(plan.problems, parsed.problems);
    assert_eq!(plan.unchanged, 1);

    let broken = parse(PersonKind::Staff, "Code,First name,Last name\nS1,Ann,Lee\n");
    let plan = plan_import(&broken, &people, &HashSet::new(), true);
    assert!(plan.is_empty());
    assert_eq!(plan.problems.len(), 1);
}

#[test]
fn rows_without_mis_id_match_by_email() {
    let mut ann = person(PersonKind::Governor, None, "Ann", "Lee");
    ann.email = Some(email("a@x.org"));
    let mut bob = person(PersonKind::Governor, Some("G2"), "Bob", "Ray");
    bob.email = Some(email("b@x.org"));
    let mut cat = person(PersonKind::Governor, None, "Cat", "Day");
    cat.email = Some(email("c@x.org"));
    let mut dan = person(PersonKind::Governor, Some("G4"), "Dan", "Fox");
    dan.email = Some(email("d@x.org"));
    let people = vec![
        stored(10, ann, true),
        stored(11, bob, true),
        stored(12, cat, true),
        stored(13, dan.clone(), true),
    ];
    let parsed = parse(
        PersonKind::Governor,
        "MIS ID,First name,Last name,Email\n\
         ,Ann,Leigh,a@x.org\n\
         G9,Bob,Ray,b@x.org\n\
         G3,Cat,Day,c@x.org\n\
         ,Dan,Fox,D@X.org\n",
    );
    assert_eq!(shown(&parsed.problems), Vec::<String>::new());
    let plan = plan_import(&parsed, &people, &HashSet::new(), false);
    // G9 is not stored and the person with b@x.org has another MIS id: a new person.
    assert_eq!(plan.creates.len(), 1);
    assert_eq!(plan.creates[0].details.mis_id, Some(id("G9")));
    assert_eq!(plan.updates.len(), 2);
    assert_eq!(plan.updates[0].id, 10);
    assert_eq!(
        plan.updates[0].changes,
        [FieldChange {
            field: Field::LastName,
            before: "Lee".into(),
            after: "Leigh".into()
        }]
    );
    // A stored person without an MIS id is given the row's.
    assert_eq!(plan.updates[1].id, 12);
    assert_eq!(
        plan.updates[1].changes,
        [FieldChange {
            field: Field::MisId,
            before: String::new(),
            after: "G3".into()
        }]
    );
    // Dan matched by email keeps his MIS id.
    assert_eq!(plan.unchanged, 1);
}

#[test]
fn one_stored_person_matched_by_two_rows_is_a_problem() {
    let mut gina = person(PersonKind::Governor, Some("G1"), "Gina", "Hall");
    gina.email = Some(email("g@x.org"));
    let people = vec![stored(30, gina, true)];
    let parsed = parse(
        PersonKind::Governor,
        "MIS ID,First name,Last name,Email\nG1,Gina,Hall,\n,Gina,Hall,g@x.org\n",
    );
    let plan = plan_import(&parsed, &people, &HashSet::new(), false);
    assert_eq!(
        shown(&plan.problems),
        ["line 3, column 'Email': 'g@x.org' matches the same stored person as line 2"]
    );
    assert!(plan.creates.is_empty());
}

#[test]
fn parents_children_must_be_on_roll_and_links_are_added() {
    let known: HashSet<MisId> = ["C1", "C2", "C3"].map(id).into_iter().collect();
    let mut p1 = stored(
        20,
        person(PersonKind::Parent, Some("P1"), "Ann", "Lee"),
        true,
    );
    p1.children = vec![id("C1")];
    let p2 = stored(
        21,
        person(PersonKind::Parent, Some("P2"), "Bob", "Ray"),
        true,
    );
    let people = vec![p1, p2];
    let parsed = parse(
        PersonKind::Parent,
        "Parent ID,First name,Last name,Child UPN\nP1,Ann,Lee,C1;C2\nP2,Bob,Ray,C1;C9;C8\nP3,Cat,Day,C3\n",
    );
    let plan = plan_import(&parsed, &people, &known, true);
    assert_eq!(
        shown(&plan.problems),
        [
            "line 3, column 'Child UPN': no pupil with MIS id 'C9'",
            "line 3, column 'Child UPN': no pupil with MIS id 'C8'",
        ]
    );
    assert_eq!(plan.updates.len(), 1);
    assert_eq!(plan.updates[0].id, 20);
    assert!(plan.updates[0].changes.is_empty());
    assert_eq!(plan.updates[0].children_added, [id("C2")]);
    assert_eq!(plan.creates.len(), 1);
    assert_eq!(plan.creates[0].children, [id("C3")]);
    // P2 is in the file (with a problem), so not a leaver.
    assert!(plan.leavers.is_empty());
}

#[test]
fn replanning_after_applying_gives_an_empty_plan() {
    let mut people = staff_stored();
    let parsed = staff_file();
    let plan = plan_import(&parsed, &people, &HashSet::new(), true);
    assert!(!plan.is_empty());
    apply(&plan, &mut people);
    let again = plan_import(&parsed, &people, &HashSet::new(), true);
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(again.unchanged, parsed.rows.len());

    let known: HashSet<MisId> = ["C1", "C2", "C3"].map(id).into_iter().collect();
    let parents = parse(
        PersonKind::Parent,
        "Parent ID,First name,Last name,Email,Child UPN\nP1,Ann,Lee,ann@x.org,C1\nP1,Ann,Lee,,C2\nP2,Bob,Ray,,C3\n",
    );
    let mut people = vec![stored(
        7,
        person(PersonKind::Parent, Some("P1"), "Ann", "Leigh"),
        false,
    )];
    let plan = plan_import(&parents, &people, &known, true);
    assert_eq!(plan.updates.len(), 1);
    assert!(plan.updates[0].reactivate);
    apply(&plan, &mut people);
    let again = plan_import(&parents, &people, &known, true);
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(again.unchanged, 2);
}

// ---------------------------------------------------------------- properties

/// One generated person and how to write them.
#[derive(Debug, Clone)]
struct GenPerson {
    first: String,
    last: String,
    has_id: bool,
    has_email: bool,
    year: u8,
    year_style: u8,
    class: Option<String>,
    job: Option<String>,
    start: Option<(i16, i8, i8)>,
    leave: Option<(i16, i8, i8)>,
    date_style: u8,
    children: usize,
    separator: u8,
}

#[derive(Debug, Clone)]
struct GenFile {
    kind: PersonKind,
    quoted: bool,
    tab: bool,
    crlf: bool,
    encoding: u8,
    people: Vec<GenPerson>,
    /// The columns in file order, with the header written for each (`None`: ignored).
    columns: Vec<(Option<Field>, String)>,
}

fn word(quoted: bool) -> BoxedStrategy<String> {
    let pattern = if quoted {
        "[A-Za-zéëáöñçø'\",-]{1,10}"
    } else {
        "[A-Za-zéëáöñçø'-]{1,10}"
    };
    proptest::string::string_regex(pattern).unwrap().boxed()
}

fn words(quoted: bool, most: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(word(quoted), 1..=most).prop_map(|w| w.join(" "))
}

fn arb_date() -> impl Strategy<Value = (i16, i8, i8)> {
    (2000i16..2030, 1i8..=12, 1i8..=28)
}

fn arb_person(quoted: bool) -> impl Strategy<Value = GenPerson> {
    (
        (
            words(quoted, 3),
            words(quoted, 3),
            any::<bool>(),
            any::<bool>(),
        ),
        (0u8..15, 0u8..3),
        (
            prop::option::of(words(quoted, 2)),
            prop::option::of(words(quoted, 3)),
        ),
        (
            prop::option::of(arb_date()),
            prop::option::of(arb_date()),
            0u8..5,
        ),
        (1usize..=3, 0u8..4),
    )
        .prop_map(
            |(
                (first, last, has_id, has_email),
                (year, year_style),
                (class, job),
                (start, leave, date_style),
                (children, separator),
            )| {
                let (start, leave) = match (start, leave) {
                    (Some(s), Some(l)) if l < s => (Some(l), Some(s)),
                    other => other,
                };
                GenPerson {
                    first,
                    last,
                    has_id,
                    has_email,
                    year,
                    year_style,
                    class,
                    job,
                    start,
                    leave,
                    date_style,
                    children,
                    separator,
                }
            },
        )
}

fn fields_for(kind: PersonKind) -> Vec<Option<Field>> {
    let mut fields = vec![
        Some(Field::MisId),
        Some(Field::FirstName),
        Some(Field::LastName),
        Some(Field::Email),
        Some(Field::ClassName),
        Some(Field::JobTitle),
        Some(Field::StartDate),
        Some(Field::LeaveDate),
        None,
    ];
    match kind {
        PersonKind::Pupil => fields.push(Some(Field::YearGroup)),
        PersonKind::Parent => fields.push(Some(Field::ChildMisId)),
        _ => {}
    }
    fields
}

fn arb_file() -> impl Strategy<Value = GenFile> {
    (
        prop::sample::select(PersonKind::ALL.to_vec()),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0u8..5,
    )
        .prop_flat_map(|(kind, quoted, tab, crlf, encoding)| {
            (
                Just((kind, quoted, tab, crlf, encoding)),
                prop::collection::vec(arb_person(quoted), 1..12),
                Just(fields_for(kind)).prop_shuffle(),
                prop::collection::vec((any::<prop::sample::Index>(), 0u8..3), 11),
            )
        })
        .prop_map(
            |((kind, quoted, tab, crlf, encoding), people, fields, choices)| {
                let columns = fields
                    .into_iter()
                    .zip(choices)
                    .map(|(field, (index, case))| {
                        let header = match field {
                            Some(f) => *index.get(&header_variants(f, kind)),
                            None => "Gender",
                        };
                        let header = match case {
                            0 => header.to_lowercase(),
                            1 => header.to_uppercase(),
                            _ => header.to_owned(),
                        };
                        (field, header)
                    })
                    .collect();
                GenFile {
                    kind,
                    quoted,
                    tab,
                    crlf,
                    encoding,
                    people,
                    columns,
                }
            },
        )
}

fn gen_date((y, m, d): (i16, i8, i8)) -> Date {
    date(y, m, d)
}

fn write_date(style: u8, (y, m, d): (i16, i8, i8)) -> String {
    match style {
        0 => format!("{y:04}-{m:02}-{d:02}"),
        1 => format!("{d:02}/{m:02}/{y:04}"),
        2 => format!("{d}/{m}/{y}"),
        3 => format!("{d:02}.{m:02}.{y}"),
        _ => format!("{d:02}-{m:02}-{y}"),
    }
}

fn gen_year(year: u8) -> YearGroup {
    match year {
        0 => YearGroup::Nursery,
        1 => YearGroup::Reception,
        n => YearGroup::Year(n - 1),
    }
}

fn id_required(kind: PersonKind) -> bool {
    matches!(
        kind,
        PersonKind::Staff | PersonKind::Pupil | PersonKind::Parent
    )
}

/// What the generated person should parse to.
fn expected(kind: PersonKind, i: usize, g: &GenPerson) -> (PersonDetails, Vec<MisId>) {
    let with_id = g.has_id || id_required(kind);
    let with_email = g.has_email || !with_id;
    let details = PersonDetails {
        kind,
        mis_id: with_id.then(|| id(&format!("M{i:04}"))),
        first_name: name(&g.first),
        last_name: name(&g.last),
        email: with_email.then(|| email(&format!("p{i}@school.sch.uk"))),
        year_group: (kind == PersonKind::Pupil).then(|| gen_year(g.year)),
        class_name: g.class.as_deref().map(|c| ClassName::parse(c).unwrap()),
        job_title: g.job.as_deref().map(|j| JobTitle::parse(j).unwrap()),
        start_date: g.start.map(gen_date),
        leave_date: g.leave.map(gen_date),
    };
    let children = if kind == PersonKind::Parent {
        (0..g.children).map(|j| id(&format!("C{i}x{j}"))).collect()
    } else {
        Vec::new()
    };
    (details, children)
}

fn write_cell(file: &GenFile, i: usize, g: &GenPerson, field: Option<Field>) -> String {
    let (details, children) = expected(file.kind, i, g);
    let Some(field) = field else {
        return if i.is_multiple_of(2) {
            "F".into()
        } else {
            "M".into()
        };
    };
    match field {
        Field::MisId => details.mis_id.map(String::from).unwrap_or_default(),
        Field::FirstName => g.first.clone(),
        Field::LastName => g.last.clone(),
        Field::Email => details.email.map(String::from).unwrap_or_default(),
        Field::YearGroup => {
            let year = gen_year(g.year);
            match (g.year_style, year) {
                (0, y) => y.code(),
                (1, y) => y.to_string(),
                (_, YearGroup::Year(n)) => format!("Y{n}"),
                (_, y) => y.code(),
            }
        }
        Field::ClassName => g.class.clone().unwrap_or_default(),
        Field::JobTitle => g.job.clone().unwrap_or_default(),
        Field::StartDate => g
            .start
            .map(|d| write_date(g.date_style, d))
            .unwrap_or_default(),
        Field::LeaveDate => g
            .leave
            .map(|d| write_date(g.date_style, d))
            .unwrap_or_default(),
        Field::ChildMisId => {
            let separator = match g.separator {
                0 => ";",
                1 => "|",
                2 => " ; ",
                _ if file.quoted || file.tab => ",",
                _ => ";",
            };
            children
                .iter()
                .map(MisId::as_str)
                .collect::<Vec<_>>()
                .join(separator)
        }
        Field::Ignore => String::new(),
    }
}

fn write_file(file: &GenFile) -> Vec<u8> {
    let delimiter = if file.tab { "\t" } else { "," };
    let newline = if file.crlf { "\r\n" } else { "\n" };
    let quote = |s: &str| {
        if file.quoted {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut text = String::new();
    let headers: Vec<String> = file.columns.iter().map(|(_, h)| quote(h)).collect();
    text.push_str(&headers.join(delimiter));
    text.push_str(newline);
    for (i, g) in file.people.iter().enumerate() {
        let cells: Vec<String> = file
            .columns
            .iter()
            .map(|(field, _)| quote(&write_cell(file, i, g, *field)))
            .collect();
        text.push_str(&cells.join(delimiter));
        text.push_str(newline);
    }
    match file.encoding {
        0 => text.into_bytes(),
        1 => [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
        2 => utf16(&text, true),
        3 => utf16(&text, false),
        _ => {
            let (bytes, _, had_errors) = encoding_rs::WINDOWS_1252.encode(&text);
            assert!(!had_errors);
            bytes.into_owned()
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        kind in prop::sample::select(PersonKind::ALL.to_vec()),
    ) {
        let parsed = parse_people_csv(&bytes, kind, &[], &mut |_| {});
        for problem in &parsed.problems {
            prop_assert!(problem.line >= 1);
        }
        let _ = plan_import(&parsed, &[], &HashSet::new(), true);
    }

    #[test]
    fn csv_like_text_never_panics(
        body in "[A-Za-z0-9 ,;|\"\n\r\t@./-]{0,400}",
        kind in prop::sample::select(PersonKind::ALL.to_vec()),
    ) {
        let text = format!("MIS ID,First name,Last name,Email,Year,Child UPN\n{body}");
        let parsed = parse(kind, &text);
        let mut last = 1;
        for row in &parsed.rows {
            prop_assert!(row.line > last);
            last = row.line;
        }
        let _ = plan_import(&parsed, &[], &HashSet::new(), true);
    }

    #[test]
    fn generated_people_round_trip(file in arb_file()) {
        let bytes = write_file(&file);
        let mut calls = 0;
        let parsed = parse_people_csv(&bytes, file.kind, &[], &mut |_| calls += 1);
        prop_assert_eq!(shown(&parsed.problems), Vec::<String>::new());
        prop_assert!(calls >= 1);
        for (column, (field, header)) in parsed.columns.iter().zip(&file.columns) {
            prop_assert_eq!(&column.header, header);
            prop_assert_eq!(column.field, *field);
        }
        prop_assert_eq!(parsed.rows.len(), file.people.len());
        for (i, (row, g)) in parsed.rows.iter().zip(&file.people).enumerate() {
            let (details, children) = expected(file.kind, i, g);
            prop_assert_eq!(&row.details, &details);
            prop_assert_eq!(&row.children, &children);
            prop_assert_eq!(row.line, i as u64 + 2);
        }
    }

    #[test]
    fn plans_are_idempotent(file in arb_file(), changed in prop::collection::vec(any::<bool>(), 12)) {
        let parsed = parse_people_csv(&write_file(&file), file.kind, &[], &mut |_| {});
        let known: HashSet<MisId> = parsed.rows.iter().flat_map(|r| r.children.clone()).collect();
        let mut people = vec![stored(1, person(file.kind, Some("GONE"), "Left", "School"), true)];
        let plan = plan_import(&parsed, &people, &known, true);
        prop_assert_eq!(plan.creates.len(), parsed.rows.len());
        prop_assert_eq!(plan.leavers.len(), 1);
        apply(&plan, &mut people);
        prop_assert!(plan_import(&parsed, &people, &known, true).is_empty());

        // Change some stored people behind the file's back; one more import puts them right.
        for (p, change) in people.iter_mut().skip(1).zip(&changed) {
            if *change {
                p.details.first_name = name("Changed");
                p.details.class_name = None;
                p.active = false;
                p.children.clear();
            }
        }
        let plan = plan_import(&parsed, &people, &known, true);
        prop_assert!(plan.creates.is_empty());
        apply(&plan, &mut people);
        let again = plan_import(&parsed, &people, &known, true);
        prop_assert!(again.is_empty(), "{:?}", again);
        prop_assert_eq!(again.unchanged, parsed.rows.len());
    }
}
