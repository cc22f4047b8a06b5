//! Reading the bytes of an import file into checked rows.

use super::columns::{ColumnMap, map_columns};
use super::{Field, ImportRow, ParsedFile, Problem, RejectedRow};
use crate::DomainError;
use crate::people::{
    ClassName, Email, JobTitle, MisId, PersonDetails, PersonKind, PersonName, YearGroup,
    parse_uk_date,
};
use csv::{ReaderBuilder, StringRecord};
use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};
use std::collections::HashMap;

/// `on_row` is called at least this often (in records).
const PROGRESS_EVERY: usize = 500;

/// Separators allowed between several child MIS ids in one cell.
const CHILD_SEPARATORS: [char; 3] = [';', '|', ','];

/// Turn the bytes of a file into text: a UTF-8 byte-order mark is dropped, valid UTF-8
/// is taken as it is, UTF-16 (little- or big-endian) with a byte-order mark is decoded
/// (Excel's "Unicode text"), and anything else is read as Windows-1252 (what Excel and
/// older MIS exports write on UK Windows machines).
pub fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return UTF_16LE.decode_without_bom_handling(rest).0.into_owned();
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return UTF_16BE.decode_without_bom_handling(rest).0.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// Parse a column mapping written `COLUMN=FIELD`, e.g. `Legal Surname=last_name`.
/// Space around either side is dropped; the field is one of [`Field`]'s snake names.
pub fn parse_map_arg(s: &str) -> Result<(String, Field), DomainError> {
    let Some((column, field)) = s.rsplit_once('=') else {
        return Err(DomainError::invalid(
            "column mapping",
            format!("'{s}' should be COLUMN=FIELD, e.g. 'Legal Surname=last_name'"),
        ));
    };
    let column = column.trim();
    if column.is_empty() {
        return Err(DomainError::invalid(
            "column mapping",
            format!("'{s}' has no column name before '='"),
        ));
    }
    let field = field
        .trim()
        .parse::<Field>()
        .map_err(|e| DomainError::invalid("column mapping", format!("in '{s}': {}", message(e))))?;
    Ok((column.to_owned(), field))
}

/// Read an MIS export of people of `kind`.
///
/// The first record is the header. Columns are matched to fields by their header (see
/// [`super::header_variants`]); `overrides` (`(header, field)`, matched on the
/// normalised header) win. Every bad cell is reported as a [`Problem`] and its row left
/// out; if a required column is missing, that is reported and no rows are read.
/// `on_row(n)` is called with the number of records read so far, every 500 records and
/// once at the end, for progress bars.
pub fn parse_people_csv(
    bytes: &[u8],
    kind: PersonKind,
    overrides: &[(String, Field)],
    on_row: &mut dyn FnMut(usize),
) -> ParsedFile {
    let text = normalise_newlines(decode(bytes));
    let mut parsed = ParsedFile {
        kind,
        rows: Vec::new(),
        problems: Vec::new(),
        columns: Vec::new(),
        blank_rows_skipped: 0,
        rejected: Vec::new(),
        required_columns_missing: false,
    };

    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(&text))
        .from_reader(text.as_bytes());
    let mut lines = LineCounter::new(text.as_bytes());
    let mut record = StringRecord::new();
    let mut last_end = 0usize;
    let mut records = 0usize;
    let mut errors_in_a_row = 0usize;
    let mut reader_state: Option<RowReader> = None;

    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {
                errors_in_a_row = 0;
                let start = record.position().map_or(last_end, |p| {
                    usize::try_from(p.byte()).unwrap_or(usize::MAX)
                });
                lines.advance_to(start);
                parsed.blank_rows_skipped += lines.skip_blank_lines();
                let line = lines.line;
                last_end = usize::try_from(reader.position().byte()).unwrap_or(usize::MAX);

                let Some(state) = reader_state.as_mut() else {
                    let headers: Vec<String> = record.iter().map(clean_header).collect();
                    let map = map_columns(&headers, kind, overrides, line);
                    parsed.columns = map.columns.clone();
                    parsed.problems.extend(map.problems.iter().cloned());
                    if map.required_missing {
                        parsed.required_columns_missing = true;
                        break;
                    }
                    reader_state = Some(RowReader::new(kind, map));
                    continue;
                };

                records += 1;
                if record.iter().all(|cell| cell.trim().is_empty()) {
                    parsed.blank_rows_skipped += 1;
                } else {
                    state.read(&record, line, &mut parsed);
                }
                if records.is_multiple_of(PROGRESS_EVERY) {
                    on_row(records);
                }
            }
            Ok(false) => {
                lines.advance_to(last_end);
                parsed.blank_rows_skipped += lines.skip_blank_lines();
                if reader_state.is_none() && !parsed.required_columns_missing {
                    parsed.required_columns_missing = true;
                    parsed.problems.push(Problem::at_line(
                        1,
                        "the file is empty: it has no header row",
                    ));
                }
                break;
            }
            Err(err) => {
                let line = err.position().map_or(lines.line, |p| p.line());
                parsed.problems.push(Problem::at_line(
                    line,
                    format!("could not read this row: {err}"),
                ));
                errors_in_a_row += 1;
                if errors_in_a_row > 10 || matches!(err.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
            }
        }
    }
    on_row(records);
    parsed
}

/// Reads the rows after the header: checks cells, drops duplicates, merges parents.
struct RowReader {
    kind: PersonKind,
    map: ColumnMap,
    /// MIS id -> index in `ParsedFile::rows`.
    ids: HashMap<MisId, usize>,
    /// Email -> line of the first accepted row with it.
    emails: HashMap<Email, u64>,
}

/// A cell after checking.
enum Cell<T> {
    /// Empty, or its column is not in the file.
    Empty,
    /// Present but invalid (a problem has been recorded).
    Bad,
    /// Present and valid.
    Value(T),
}

impl<T> Cell<T> {
    fn value(self) -> Option<T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Empty | Self::Bad => None,
        }
    }
    fn as_ref(&self) -> Option<&T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Empty | Self::Bad => None,
        }
    }
    fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }
}

impl RowReader {
    fn new(kind: PersonKind, map: ColumnMap) -> Self {
        Self {
            kind,
            map,
            ids: HashMap::new(),
            emails: HashMap::new(),
        }
    }

    fn header(&self, field: Field) -> &str {
        self.map.header(field).unwrap_or(field.label())
    }

    /// The trimmed text of `field`'s cell with its column index; `None` if the column is
    /// not in the file. A short row's missing cells are empty.
    fn raw<'r>(&self, record: &'r StringRecord, field: Field) -> Option<(usize, &'r str)> {
        let col = *self.map.index.get(&field)?;
        Some((col, record.get(col).unwrap_or("").trim()))
    }

    fn cell<T>(
        &self,
        record: &StringRecord,
        line: u64,
        field: Field,
        required: bool,
        parse: impl FnOnce(&str) -> Result<T, DomainError>,
        found: &mut Vec<(usize, Problem)>,
    ) -> Cell<T> {
        let Some((col, raw)) = self.raw(record, field) else {
            return Cell::Empty;
        };
        if raw.is_empty() {
            if required {
                found.push((
                    col,
                    Problem::at_cell(line, self.header(field), "is required"),
                ));
            }
            return Cell::Empty;
        }
        match parse(raw) {
            Ok(v) => Cell::Value(v),
            Err(e) => {
                found.push((col, Problem::at_cell(line, self.header(field), message(e))));
                Cell::Bad
            }
        }
    }

    fn children(
        &self,
        record: &StringRecord,
        line: u64,
        found: &mut Vec<(usize, Problem)>,
    ) -> Vec<MisId> {
        let Some((col, raw)) = self.raw(record, Field::ChildMisId) else {
            return Vec::new();
        };
        let mut ids: Vec<MisId> = Vec::new();
        let mut bad = None;
        for part in raw
            .split(CHILD_SEPARATORS)
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match MisId::parse(part) {
                Ok(id) if !ids.contains(&id) => ids.push(id),
                Ok(_) => {}
                Err(e) => {
                    bad.get_or_insert_with(|| message(e));
                }
            }
        }
        let header = self.header(Field::ChildMisId);
        if let Some(msg) = bad {
            found.push((col, Problem::at_cell(line, header, msg)));
        } else if ids.is_empty() {
            found.push((col, Problem::at_cell(line, header, "is required")));
        }
        ids
    }

    /// Check one non-blank record and add it (or its problems) to `parsed`.
    fn read(&mut self, record: &StringRecord, line: u64, parsed: &mut ParsedFile) {
        match self.check(record, line) {
            Ok(row) => self.accept(row, parsed),
            Err((rejected, mut problems)) => {
                parsed.problems.append(&mut problems);
                parsed.rejected.push(rejected);
            }
        }
    }

    fn check(
        &self,
        record: &StringRecord,
        line: u64,
    ) -> Result<ImportRow, (RejectedRow, Vec<Problem>)> {
        let kind = self.kind;
        let id_required = matches!(
            kind,
            PersonKind::Staff | PersonKind::Pupil | PersonKind::Parent
        );
        let mut found = Vec::new();
        let mis_id = self.cell(
            record,
            line,
            Field::MisId,
            id_required,
            MisId::parse,
            &mut found,
        );
        let first = self.cell(
            record,
            line,
            Field::FirstName,
            true,
            PersonName::parse,
            &mut found,
        );
        let last = self.cell(
            record,
            line,
            Field::LastName,
            true,
            PersonName::parse,
            &mut found,
        );
        let email = self.cell(record, line, Field::Email, false, Email::parse, &mut found);
        let year = self.cell(
            record,
            line,
            Field::YearGroup,
            kind == PersonKind::Pupil,
            YearGroup::parse,
            &mut found,
        );
        let class = self.cell(
            record,
            line,
            Field::ClassName,
            false,
            ClassName::parse,
            &mut found,
        );
        let job = self.cell(
            record,
            line,
            Field::JobTitle,
            false,
            JobTitle::parse,
            &mut found,
        );
        let start = self.cell(
            record,
            line,
            Field::StartDate,
            false,
            parse_uk_date,
            &mut found,
        );
        let leave = self.cell(
            record,
            line,
            Field::LeaveDate,
            false,
            parse_uk_date,
            &mut found,
        );
        let children = if kind == PersonKind::Parent {
            self.children(record, line, &mut found)
        } else {
            Vec::new()
        };

        if !id_required && mis_id.is_empty() && email.is_empty() {
            let field = if self.map.index.contains_key(&Field::MisId) {
                Field::MisId
            } else {
                Field::Email
            };
            let col = self.map.index.get(&field).copied().unwrap_or(0);
            found.push((
                col,
                Problem::at_cell(line, self.header(field), "needs an MIS id or an email"),
            ));
        }
        if let (Some(s), Some(l)) = (start.as_ref(), leave.as_ref())
            && l < s
        {
            let start_raw = self.raw(record, Field::StartDate).map_or("", |(_, r)| r);
            let (col, leave_raw) = self.raw(record, Field::LeaveDate).unwrap_or((0, ""));
            found.push((
                col,
                Problem::at_cell(
                    line,
                    self.header(Field::LeaveDate),
                    format!("{leave_raw} is before the start date {start_raw}"),
                ),
            ));
        }

        let mis_id = mis_id.value();
        let email = email.value();
        let rejected = |problems: Vec<(usize, Problem)>, mis_id: Option<MisId>, email| {
            let mut problems = problems;
            problems.sort_by_key(|(col, _)| *col);
            (
                RejectedRow {
                    line,
                    mis_id,
                    email,
                },
                problems.into_iter().map(|(_, p)| p).collect(),
            )
        };
        if !found.is_empty() {
            return Err(rejected(found, mis_id, email));
        }
        let (Some(first_name), Some(last_name)) = (first.value(), last.value()) else {
            let problem = Problem::at_line(line, "first and last name are required");
            return Err(rejected(vec![(0, problem)], mis_id, email));
        };
        Ok(ImportRow {
            line,
            details: PersonDetails {
                kind,
                mis_id,
                first_name,
                last_name,
                email,
                year_group: year.value(),
                class_name: class.value(),
                job_title: job.value(),
                start_date: start.value(),
                leave_date: leave.value(),
            },
            children,
        })
    }

    /// Add a checked row, unless it repeats an earlier one (parents are merged).
    fn accept(&mut self, row: ImportRow, parsed: &mut ParsedFile) {
        let reject = |parsed: &mut ParsedFile, row: &ImportRow, problems: Vec<Problem>| {
            parsed.problems.extend(problems);
            parsed.rejected.push(RejectedRow {
                line: row.line,
                mis_id: row.details.mis_id.clone(),
                email: row.details.email.clone(),
            });
        };
        if let Some(id) = &row.details.mis_id {
            if let Some(&first_index) = self.ids.get(id) {
                let Some(first) = parsed.rows.get_mut(first_index) else {
                    return;
                };
                if self.kind == PersonKind::Parent && same_name(&first.details, &row.details) {
                    match self.merge_parent(first, &row) {
                        Ok(()) => {}
                        Err(problems) => reject(parsed, &row, problems),
                    }
                } else {
                    let also = if self.kind == PersonKind::Parent {
                        " with a different name"
                    } else {
                        ""
                    };
                    let problem = Problem::at_cell(
                        row.line,
                        self.header(Field::MisId),
                        format!(
                            "duplicate MIS id '{id}'{also} (first on line {})",
                            first.line
                        ),
                    );
                    reject(parsed, &row, vec![problem]);
                }
                return;
            }
        } else if let Some(email) = &row.details.email
            && let Some(&first_line) = self.emails.get(email)
        {
            let problem = Problem::at_cell(
                row.line,
                self.header(Field::Email),
                format!("duplicate email '{email}' (first on line {first_line})"),
            );
            reject(parsed, &row, vec![problem]);
            return;
        }

        if let Some(id) = &row.details.mis_id {
            self.ids.insert(id.clone(), parsed.rows.len());
        }
        if let Some(email) = &row.details.email {
            self.emails.entry(email.clone()).or_insert(row.line);
        }
        parsed.rows.push(row);
    }

    /// Fold a later row for the same parent into the first: children are joined, empty
    /// fields filled; a field given differently on the two rows is a problem.
    fn merge_parent(&self, first: &mut ImportRow, later: &ImportRow) -> Result<(), Vec<Problem>> {
        let a = &first.details;
        let b = &later.details;
        let pairs = [
            (Field::Email, show(&a.email), show(&b.email)),
            (Field::YearGroup, show(&a.year_group), show(&b.year_group)),
            (Field::ClassName, show(&a.class_name), show(&b.class_name)),
            (Field::JobTitle, show(&a.job_title), show(&b.job_title)),
            (Field::StartDate, show(&a.start_date), show(&b.start_date)),
            (Field::LeaveDate, show(&a.leave_date), show(&b.leave_date)),
        ];
        let problems: Vec<Problem> = pairs
            .into_iter()
            .filter(|(_, x, y)| !x.is_empty() && !y.is_empty() && x != y)
            .map(|(field, x, y)| {
                Problem::at_cell(
                    later.line,
                    self.header(field),
                    format!(
                        "'{y}' differs from '{x}' on line {} for the same MIS id",
                        first.line
                    ),
                )
            })
            .collect();
        if !problems.is_empty() {
            return Err(problems);
        }
        let d = &mut first.details;
        fill(&mut d.email, &b.email);
        fill(&mut d.year_group, &b.year_group);
        fill(&mut d.class_name, &b.class_name);
        fill(&mut d.job_title, &b.job_title);
        fill(&mut d.start_date, &b.start_date);
        fill(&mut d.leave_date, &b.leave_date);
        for child in &later.children {
            if !first.children.contains(child) {
                first.children.push(child.clone());
            }
        }
        Ok(())
    }
}

fn same_name(a: &PersonDetails, b: &PersonDetails) -> bool {
    a.first_name.as_str().to_lowercase() == b.first_name.as_str().to_lowercase()
        && a.last_name.as_str().to_lowercase() == b.last_name.as_str().to_lowercase()
}

fn fill<T: Clone>(into: &mut Option<T>, from: &Option<T>) {
    if into.is_none() {
        into.clone_from(from);
    }
}

/// An optional value as shown to people: "" for none.
pub(super) fn show<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// The message of a domain error, without its field (the column says where).
fn message(e: DomainError) -> String {
    match e {
        DomainError::Invalid { message, .. } => message,
    }
}

fn clean_header(raw: &str) -> String {
    raw.trim_matches(|c: char| c == '\u{feff}' || c.is_whitespace())
        .to_owned()
}

/// Make every line end in `\n` alone, so that line counting is simple.
fn normalise_newlines(text: String) -> String {
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text
    }
}

/// Comma, unless the header line has more tabs (Excel's "Unicode text") or semicolons
/// outside quotes.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let (mut commas, mut tabs, mut semicolons) = (0usize, 0usize, 0usize);
    let mut quoted = false;
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => commas += 1,
            '\t' if !quoted => tabs += 1,
            ';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if tabs > commas && tabs >= semicolons {
        b'\t'
    } else if semicolons > commas {
        b';'
    } else {
        b','
    }
}

/// Turns byte offsets into 1-based line numbers, and counts the blank lines the CSV
/// reader skips silently (its record positions point before them).
struct LineCounter<'a> {
    bytes: &'a [u8],
    cursor: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            cursor: 0,
            line: 1,
        }
    }

    fn advance_to(&mut self, byte: usize) {
        if byte <= self.cursor {
            return;
        }
        let newlines = self
            .bytes
            .get(self.cursor..byte)
            .map_or(0, |s| s.iter().filter(|&&b| b == b'\n').count());
        self.line += newlines as u64;
        self.cursor = byte.min(self.bytes.len());
    }

    fn skip_blank_lines(&mut self) -> usize {
        let mut skipped = 0;
        while self.bytes.get(self.cursor) == Some(&b'\n') {
            skipped += 1;
            self.line += 1;
            self.cursor += 1;
        }
        skipped
    }
}
