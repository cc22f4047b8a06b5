//! Elmbrook Primary School: a fictional English primary school for `gatehouse demo`.
//!
//! [`demo_school`] builds the school's people as CSV text, shaped like the exports of the
//! management information systems (MIS) schools use: a SIMS-like staff list, an
//! Arbor-like pupil list, a contact list with one row per parent–child link, and plain
//! lists of governors, visitors and volunteers. `gatehouse demo` feeds these through the
//! ordinary importer, so the demo exercises the same code path as a real school.
//!
//! Everything is invented: the school, every person, every address. Email addresses
//! outside the school's own domain use the reserved `example.com`, `example.net` and
//! `example.org` domains, so nothing can reach a real mailbox.
//!
//! The output is deterministic: a fixed seed drives a [`StdRng`], so every call (and every
//! run built against the same `rand` version) yields exactly the same school. No cell
//! ever contains a comma or a quote, so the CSV needs no quoting.
//!
//! The school has about 40 staff, 5 governors, about 290 pupils in twelve classes from
//! Nursery to Year 6 (a one-and-a-half-form-entry pattern), their parents and carers, and
//! a handful of visitors and volunteers. [`DemoSchool::accounts`] names one demo login per
//! role, each tied to a person in the CSV by MIS id (or by email, for the visitor).

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;

/// The password every demo account shares.
const DEMO_PASSWORD: &str = "elmbrook-demo-2026";
/// The school's name.
const SCHOOL_NAME: &str = "Elmbrook Primary School";
/// The school's own email domain (staff and governors).
const SCHOOL_DOMAIN: &str = "elmbrook.sch.uk";
/// The seed: "ELMBROOK" in ASCII.
const SEED: u64 = 0x454c_4d42_524f_4f4b;
/// Local-authority number and DfE establishment number used in the UPNs this school
/// allocated itself.
const OWN_LA: &str = "823";
const OWN_ESTABLISHMENT: &str = "2417";
/// The latest date a pupil may have been admitted: the data is a spring-term 2026 export.
const LATEST_ADMISSION: Date = Date::new(2026, 1, 30);
/// The academic year the export belongs to (2025/26), by the calendar year it starts in.
const ACADEMIC_YEAR: i32 = 2025;

/// A fictional school's people as MIS-style CSV exports, plus demo logins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSchool {
    /// The school's name.
    pub name: &'static str,
    /// `Staff code,Title,Forename,Surname,Job title,Email,Start date` (dates DD/MM/YYYY).
    pub staff_csv: String,
    /// `ID,Forename,Surname,Role,Email,Start date`.
    pub governors_csv: String,
    /// `UPN,Legal forename,Legal surname,NC Year,Registration group,Date of admission,Contact 1 email`.
    pub pupils_csv: String,
    /// `Contact ID,Forename,Surname,Email,Child UPN`: one row per parent–child link.
    pub parents_csv: String,
    /// `Email,First name,Last name,Role`.
    pub visitors_csv: String,
    /// `Email,First name,Last name,Role`.
    pub volunteers_csv: String,
    /// One demo login per role, each tied to a person above.
    pub accounts: Vec<DemoAccount>,
}

/// A demo login tied to a person in one of the CSV exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    /// Short, memorable sign-in name.
    pub username: String,
    /// The shared demo password.
    pub password: String,
    /// The role's stored name, e.g. `dsl` or `online_safety_lead`.
    pub role: &'static str,
    /// The person's MIS id (staff code, governor id, UPN, contact id) or, for a visitor,
    /// their email address.
    pub mis_id_or_email: String,
    /// The kind of person, and so which CSV holds them: `staff`, `governor`, `pupil`,
    /// `parent` or `visitor`.
    pub kind: &'static str,
    /// Who this is, for the demo's welcome text, e.g. "Headteacher (Mrs Amelia Hart)".
    pub description: String,
}

/// Build Elmbrook Primary School. Same result on every call.
pub fn demo_school() -> DemoSchool {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut emails = EmailBook::default();

    let staff = build_staff(&mut rng, &mut emails);
    let community = build_community(&mut rng, &mut emails);
    let governors = build_governors(&mut rng, &mut emails, &community);
    let visitors = build_guests(&mut emails, &VISITORS);
    let volunteers = build_guests(&mut emails, &VOLUNTEERS);
    let accounts = build_accounts(&staff, &governors, &community, &visitors);

    DemoSchool {
        name: SCHOOL_NAME,
        staff_csv: to_csv(
            "Staff code,Title,Forename,Surname,Job title,Email,Start date",
            staff.iter().map(|s| {
                vec![
                    s.code.clone(),
                    s.def.title.to_owned(),
                    s.def.forename.to_owned(),
                    s.def.surname.to_owned(),
                    s.def.job.to_owned(),
                    s.email.clone(),
                    s.start.dmy(),
                ]
            }),
        ),
        governors_csv: to_csv(
            "ID,Forename,Surname,Role,Email,Start date",
            governors.iter().map(|g| {
                vec![
                    g.id.clone(),
                    g.forename.clone(),
                    g.surname.clone(),
                    g.role.to_owned(),
                    g.email.clone(),
                    g.start.dmy(),
                ]
            }),
        ),
        pupils_csv: pupils_csv(&community),
        parents_csv: parents_csv(&community),
        visitors_csv: guests_csv(&visitors),
        volunteers_csv: guests_csv(&volunteers),
        accounts,
    }
}

// ---------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------

/// A calendar date; just enough arithmetic for school terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Date {
    y: i32,
    m: u32,
    d: u32,
}

impl Date {
    const fn new(y: i32, m: u32, d: u32) -> Self {
        Self { y, m, d }
    }

    /// Days since 1970-01-01 (proleptic Gregorian).
    fn days(self) -> i64 {
        let y = i64::from(self.y) - i64::from(self.m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.m);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The inverse of [`Date::days`].
    fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        Self::new(y as i32, m as u32, d as u32)
    }

    fn plus_days(self, n: i64) -> Self {
        Self::from_days(self.days() + n)
    }

    /// Saturday or Sunday?
    fn is_weekend(self) -> bool {
        // 1970-01-01 was a Thursday; 0 = Sunday.
        matches!((self.days() + 4).rem_euclid(7), 0 | 6)
    }

    /// This date, or the next weekday after it.
    fn next_school_day(self) -> Self {
        let mut d = self;
        while d.is_weekend() {
            d = d.plus_days(1);
        }
        d
    }

    /// A weekday outside the long summer and Christmas holidays.
    fn in_term(self) -> bool {
        let holiday = match self.m {
            8 => true,
            7 => self.d > 20,
            12 => self.d > 19,
            1 => self.d < 5,
            _ => false,
        };
        !holiday && !self.is_weekend()
    }

    /// DD/MM/YYYY, as SIMS and Arbor write dates.
    fn dmy(self) -> String {
        format!("{:02}/{:02}/{:04}", self.d, self.m, self.y)
    }
}

/// First day of the autumn term starting in `year`.
fn autumn_start(year: i32) -> Date {
    Date::new(year, 9, 3).next_school_day()
}

/// First day of the spring term in `year`.
fn spring_start(year: i32) -> Date {
    Date::new(year, 1, 5).next_school_day()
}

/// A random term-time day between `from` and `to` inclusive (or `from`'s next school day
/// if the range holds none).
fn term_date_between(rng: &mut StdRng, from: Date, to: Date) -> Date {
    let (lo, hi) = (from.days(), to.days());
    if hi >= lo {
        for _ in 0..200 {
            let d = Date::from_days(rng.random_range(lo..=hi));
            if d.in_term() {
                return d;
            }
        }
    }
    from.next_school_day()
}

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

/// One item of a non-empty static slice, uniformly.
fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// One item of a non-empty static slice of (item, weight).
fn pick_weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut r = rng.random_range(0..total.max(1));
    for &(item, w) in items {
        if r < w {
            return item;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// Lower-case ASCII letters, digits and hyphens for an email's local part: accents are
/// folded (é → e, ł → l, ş → s), anything else (spaces, apostrophes) dropped.
fn email_slug(name: &str) -> String {
    name.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' => Some(c),
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' | 'ą' | 'ă' => Some('a'),
            'ç' | 'ć' | 'č' => Some('c'),
            'é' | 'è' | 'ê' | 'ë' | 'ę' => Some('e'),
            'ğ' => Some('g'),
            'í' | 'ì' | 'î' | 'ï' | 'ı' => Some('i'),
            'ł' => Some('l'),
            'ñ' | 'ń' => Some('n'),
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'ø' => Some('o'),
            'ś' | 'ş' | 'ș' | 'š' => Some('s'),
            'ț' | 'ţ' => Some('t'),
            'ú' | 'ù' | 'û' | 'ü' => Some('u'),
            'ź' | 'ż' | 'ž' => Some('z'),
            _ => None,
        })
        .collect()
}

/// Hands out email addresses, unique across the whole school.
#[derive(Default)]
struct EmailBook {
    taken: HashSet<String>,
}

impl EmailBook {
    /// `local@domain`, or `local2@domain`, `local3@domain`… if already taken.
    fn claim(&mut self, local: &str, domain: &str) -> String {
        let mut n = 1u32;
        loop {
            let candidate = if n == 1 {
                format!("{local}@{domain}")
            } else {
                format!("{local}{n}@{domain}")
            };
            if self.taken.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

/// CSV text: the header line, then one line per row, cells joined by commas.
fn to_csv(header: &str, rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = String::from(header);
    out.push('\n');
    for row in rows {
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------------------
// Classes
// ---------------------------------------------------------------------------------------

/// A registration group. `year` is −1 for Nursery, 0 for Reception, else the NC year.
#[derive(Debug, Clone, Copy)]
struct ClassDef {
    name: &'static str,
    year: i8,
    size: usize,
}

/// Twelve classes: one or two per year group (1.5-form entry), 290 pupils.
#[rustfmt::skip]
const CLASSES: [ClassDef; 12] = [
    ClassDef { name: "Nursery Acorns", year: -1, size: 26 },
    ClassDef { name: "Reception Robins", year: 0, size: 20 },
    ClassDef { name: "Reception Wrens", year: 0, size: 20 },
    ClassDef { name: "1 Hazel", year: 1, size: 21 },
    ClassDef { name: "1 Holly", year: 1, size: 20 },
    ClassDef { name: "2 Maple", year: 2, size: 30 },
    ClassDef { name: "3 Oak", year: 3, size: 22 },
    ClassDef { name: "3 Ash", year: 3, size: 22 },
    ClassDef { name: "4 Birch", year: 4, size: 31 },
    ClassDef { name: "5 Willow", year: 5, size: 23 },
    ClassDef { name: "5 Rowan", year: 5, size: 23 },
    ClassDef { name: "6 Cedar", year: 6, size: 32 },
];

/// How many Nursery pupils are in their first nursery year (N1) rather than the
/// pre-school year (N2).
const NURSERY_N1: usize = 9;

/// Year groups, youngest first, as used in [`ClassDef::year`].
const YEARS: [i8; 8] = [-1, 0, 1, 2, 3, 4, 5, 6];

fn year_index(year: i8) -> usize {
    usize::try_from(year + 1).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Staff
// ---------------------------------------------------------------------------------------

/// A member of staff as written down; codes, emails and start dates are derived.
#[derive(Debug, Clone, Copy)]
struct StaffDef {
    title: &'static str,
    forename: &'static str,
    surname: &'static str,
    job: &'static str,
    /// Earliest and latest plausible start year.
    started: (i32, i32),
}

const fn sd(
    title: &'static str,
    forename: &'static str,
    surname: &'static str,
    job: &'static str,
    from: i32,
    to: i32,
) -> StaffDef {
    StaffDef {
        title,
        forename,
        surname,
        job,
        started: (from, to),
    }
}

const HEAD: usize = 0;
const DSL: usize = 1;
const DEPUTY_DSL: usize = 2;
const DPO: usize = 3;
const NETWORK_MANAGER: usize = 4;
const CLASS_TEACHER: usize = 13;
const ONLINE_SAFETY_LEAD: usize = 14;
const STAFF_GOVERNOR: usize = 19;
const TEACHING_ASSISTANT: usize = 21;

#[rustfmt::skip]
const STAFF: [StaffDef; 41] = [
    sd("Mrs", "Amelia", "Hart", "Headteacher", 2014, 2017),
    sd("Mr", "Daniel", "Okonkwo", "Deputy Headteacher and Designated Safeguarding Lead", 2012, 2016),
    sd("Mrs", "Priya", "Raman", "Inclusion Lead (SENCo) and Deputy Designated Safeguarding Lead", 2015, 2019),
    sd("Mrs", "Helen", "Marsh", "School Business Manager and Data Protection Lead", 2010, 2015),
    sd("Mr", "Tom", "Beckett", "Network Manager (Elm Valley Learning Trust IT Services)", 2021, 2023),
    sd("Miss", "Chloe", "Bennett", "EYFS Lead and Class Teacher - Nursery Acorns", 2013, 2018),
    sd("Mrs", "Sofia", "Almeida", "Class Teacher - Reception Robins", 2016, 2021),
    sd("Mr", "Jamal", "Pryce", "Class Teacher - Reception Wrens", 2020, 2024),
    sd("Miss", "Emma", "Clarke", "Class Teacher - 1 Hazel", 2019, 2023),
    sd("Mrs", "Rachel", "Adeyemi", "KS1 Phase Leader and Class Teacher - 1 Holly", 2011, 2016),
    sd("Mr", "Owen", "Gallagher", "Class Teacher - 2 Maple", 2017, 2022),
    sd("Miss", "Hannah", "Kowalska", "Class Teacher - 3 Oak", 2022, 2025),
    sd("Mr", "Ravi", "Mistry", "Class Teacher - 3 Ash", 2018, 2022),
    sd("Mrs", "Laura", "Pemberton", "KS2 Phase Leader and Class Teacher - 4 Birch", 2009, 2014),
    sd("Mr", "Samuel", "Whitfield", "Class Teacher - 5 Willow / Computing Lead and Online Safety Lead", 2015, 2019),
    sd("Ms", "Aisha", "Rahman", "Class Teacher - 5 Rowan", 2019, 2024),
    sd("Mr", "Gareth", "Lloyd", "Class Teacher - 6 Cedar / Year 6 Lead", 2012, 2017),
    sd("Mrs", "Fiona", "McAllister", "PPA Cover Teacher (part-time)", 2016, 2023),
    sd("Mrs", "Joanna", "Nowicka", "Higher Level Teaching Assistant", 2012, 2019),
    sd("Mrs", "Grace", "Okafor", "Teaching Assistant - Nursery Acorns", 2014, 2020),
    sd("Mrs", "Kerry", "Dawson", "Early Years Practitioner - Nursery Acorns", 2017, 2024),
    sd("Miss", "Megan", "Hughes", "Teaching Assistant - Reception Robins", 2021, 2025),
    sd("Mrs", "Shabana", "Hussain", "Teaching Assistant - Reception Wrens", 2013, 2020),
    sd("Mrs", "Paula", "Greenwood", "Teaching Assistant - Key Stage 1", 2008, 2016),
    sd("Mr", "Callum", "Reid", "Teaching Assistant (SEND support)", 2020, 2025),
    sd("Mrs", "Yetunde", "Bakare", "Teaching Assistant - Key Stage 1", 2015, 2022),
    sd("Miss", "Jess", "Turner", "Teaching Assistant - Key Stage 2", 2022, 2025),
    sd("Mrs", "Agnieszka", "Wróbel", "Teaching Assistant (SEND support)", 2016, 2023),
    sd("Mrs", "Nicola", "Shaw", "Teaching Assistant - Year 6", 2010, 2018),
    sd("Mrs", "Mei", "Chan", "Teaching Assistant and ELSA", 2014, 2021),
    sd("Mrs", "Sandra", "Whitlock", "School Administrator", 2006, 2012),
    sd("Miss", "Leah", "Francis", "Receptionist and Attendance Officer", 2019, 2024),
    sd("Mr", "Keith", "Rowland", "Site Manager", 2007, 2013),
    sd("Mrs", "Denise", "Carter", "Senior Midday Supervisor", 2008, 2015),
    sd("Mrs", "Emma", "Clarke", "Midday Supervisor", 2018, 2024),
    sd("Mrs", "Rukhsana", "Begum", "Midday Supervisor", 2012, 2020),
    sd("Mr", "Stelian", "Popa", "Midday Supervisor", 2021, 2025),
    sd("Mrs", "Bernadette", "Quinn", "Midday Supervisor", 2005, 2012),
    sd("Mrs", "Lorraine", "Fenwick", "Family Support Worker", 2016, 2021),
    sd("Mr", "Marcus", "Henry", "Sports Coach", 2019, 2024),
    sd("Mrs", "Olena", "Marchenko", "Breakfast and After-school Club Leader", 2022, 2025),
];

#[derive(Debug, Clone)]
struct Staff {
    code: String,
    def: StaffDef,
    email: String,
    start: Date,
}

impl Staff {
    fn full_name(&self) -> String {
        format!(
            "{} {} {}",
            self.def.title, self.def.forename, self.def.surname
        )
    }
}

fn build_staff(rng: &mut StdRng, emails: &mut EmailBook) -> Vec<Staff> {
    STAFF
        .iter()
        .enumerate()
        .map(|(i, def)| {
            let local = format!("{}.{}", email_slug(def.forename), email_slug(def.surname));
            let year = rng.random_range(def.started.0..=def.started.1);
            // Most contracts begin on 1 September; the rest start part-way through a year.
            let start = if rng.random_bool(0.75) {
                Date::new(year, 9, 1)
            } else {
                let end = Date::new(year + 1, 7, 20).min(LATEST_ADMISSION);
                term_date_between(rng, Date::new(year, 9, 1), end)
            };
            Staff {
                code: format!("ST{:03}", i + 1),
                def: *def,
                email: emails.claim(&local, SCHOOL_DOMAIN),
                start,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------

/// Names of one background. A surname written `Kowalski/Kowalska` has a masculine and a
/// feminine form.
struct NamePool {
    weight: u32,
    surnames: &'static [&'static str],
    boys: &'static [&'static str],
    girls: &'static [&'static str],
    men: &'static [&'static str],
    women: &'static [&'static str],
}

/// The form of `surname` for a man or a woman (see [`NamePool`]).
fn surname_form(surname: &str, female: bool) -> &str {
    match surname.split_once('/') {
        Some((masc, fem)) => {
            if female {
                fem
            } else {
                masc
            }
        }
        None => surname,
    }
}

#[rustfmt::skip]
const POOLS: [NamePool; 12] = [
    // English / British
    NamePool {
        weight: 56,
        surnames: &[
            "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
            "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
            "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Jackson", "Wood", "Turner",
            "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Lee", "King", "Baker",
            "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Parker",
            "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Cook", "Carter", "Richardson",
            "Bailey", "Collins", "Bell", "Shaw", "Miller", "Cox", "Marshall", "Fletcher", "Barnes",
            "Holmes", "Lloyd", "Chapman", "Webb", "Rogers", "Gray", "Mason", "Ellis", "Pearce",
            "Hunt", "Palmer", "Fisher", "Stevens", "Dixon", "Knight", "Lawrence", "Butler",
            "Russell", "Fox", "Jenkins", "Simpson", "Pearson", "Goodwin", "Sutton", "Hayes",
            "Barker", "Holt", "Sharp", "Lamb", "Hartley", "Atkinson", "Booth", "Naylor",
        ],
        boys: &[
            "Oliver", "George", "Noah", "Arthur", "Leo", "Harry", "Oscar", "Archie", "Jack",
            "Henry", "Charlie", "Freddie", "Theodore", "Thomas", "Finley", "Alfie", "Theo",
            "Jacob", "William", "Isaac", "Tommy", "Reuben", "Albert", "Teddy", "Joshua", "Max",
            "Louie", "Ethan", "Alexander", "Harrison", "Mason", "Riley", "Edward", "Sonny",
            "Elijah", "Toby", "Frankie", "Stanley", "Jude", "Rory", "Ezra", "Hugo",
        ],
        girls: &[
            "Olivia", "Amelia", "Isla", "Ava", "Lily", "Freya", "Ivy", "Florence", "Isabella",
            "Mia", "Willow", "Rosie", "Sophia", "Grace", "Evie", "Poppy", "Ella", "Daisy", "Elsie",
            "Millie", "Harper", "Sienna", "Phoebe", "Matilda", "Emily", "Ruby", "Erin", "Esme",
            "Maisie", "Hallie", "Maya", "Zoë", "Bonnie", "Edith", "Mabel", "Robyn", "Imogen",
            "Lottie", "Eliza", "Beatrice", "Darcie",
        ],
        men: &[
            "David", "James", "Michael", "Daniel", "Christopher", "Matthew", "Mark", "Paul",
            "Andrew", "Richard", "Thomas", "Stephen", "Jonathan", "Lee", "Craig", "Ben", "Tom",
            "Gareth", "Carl", "Liam", "Ryan", "Adam", "Simon", "Kevin", "Dean", "Jamie", "Luke",
            "Nathan", "Martin", "Robert", "Stuart", "Chris", "Sam", "Joe",
        ],
        women: &[
            "Sarah", "Emma", "Laura", "Rebecca", "Hannah", "Charlotte", "Gemma", "Kirsty", "Amy",
            "Lucy", "Claire", "Nicola", "Rachel", "Jessica", "Katie", "Victoria", "Jennifer",
            "Lisa", "Stacey", "Kelly", "Jade", "Samantha", "Natalie", "Zoe", "Louise", "Helen",
            "Joanne", "Hayley", "Sophie", "Leanne", "Danielle", "Amanda", "Becky", "Holly",
        ],
    },
    // Irish and Scottish
    NamePool {
        weight: 5,
        surnames: &[
            "Murphy", "Kelly", "Byrne", "Ryan", "Walsh", "McCarthy", "Doyle", "Gallagher", "Quinn",
            "Brennan", "Kennedy", "MacLeod", "Fraser", "Robertson", "Stewart", "McDonald",
            "Donnelly", "Farrell",
        ],
        boys: &[
            "Cillian", "Finn", "Conor", "Ronan", "Cian", "Oisín", "Callum", "Fraser", "Rory",
            "Seán", "Darragh", "Euan",
        ],
        girls: &[
            "Aoife", "Niamh", "Ciara", "Saoirse", "Róisín", "Caoimhe", "Orla", "Eilidh", "Isla",
            "Ailsa", "Clodagh",
        ],
        men: &[
            "Sean", "Patrick", "Declan", "Ciarán", "Brendan", "Niall", "Fergus", "Euan", "Kieran",
            "Ross",
        ],
        women: &[
            "Siobhán", "Aisling", "Niamh", "Mairead", "Sinead", "Fiona", "Catriona", "Gráinne",
            "Deirdre", "Shona",
        ],
    },
    // Pakistani and Bangladeshi
    NamePool {
        weight: 10,
        surnames: &[
            "Khan", "Hussain", "Ali", "Ahmed", "Akhtar", "Rahman", "Iqbal", "Mahmood", "Rashid",
            "Uddin", "Malik", "Shah", "Chaudhry", "Aziz", "Islam", "Miah", "Javed", "Siddiqui",
        ],
        boys: &[
            "Muhammad", "Ibrahim", "Yusuf", "Zayn", "Ayaan", "Hamza", "Musa", "Idris", "Rayyan",
            "Zakariya", "Ismail", "Adam", "Eesa", "Harun", "Ayub", "Zidan",
        ],
        girls: &[
            "Aisha", "Maryam", "Fatima", "Zara", "Hafsa", "Inaya", "Amira", "Safa", "Zainab",
            "Noor", "Khadija", "Hania", "Eshal", "Aleena", "Anaya", "Mehreen",
        ],
        men: &[
            "Imran", "Tariq", "Asif", "Kamran", "Shahid", "Faisal", "Adnan", "Nadeem", "Omar",
            "Bilal", "Rizwan", "Sajid", "Mohammed", "Shafiq",
        ],
        women: &[
            "Ayesha", "Nadia", "Saima", "Sana", "Shazia", "Farah", "Rubina", "Nazia", "Amina",
            "Samina", "Rukhsana", "Yasmin", "Nasreen", "Shahnaz",
        ],
    },
    // Indian (Gujarati, Punjabi and others)
    NamePool {
        weight: 6,
        surnames: &[
            "Patel", "Shah", "Sharma", "Singh", "Gill", "Sandhu", "Mistry", "Joshi", "Kumar",
            "Chauhan", "Parmar", "Bains", "Mehta", "Desai", "Lad", "Solanki",
        ],
        boys: &[
            "Arjun", "Aarav", "Rohan", "Krish", "Dev", "Vihaan", "Kabir", "Ishaan", "Jai",
            "Reyansh", "Arav", "Veer",
        ],
        girls: &[
            "Anaya", "Priya", "Diya", "Isha", "Riya", "Navya", "Saanvi", "Kiran", "Simran",
            "Aanya", "Meera", "Jasleen",
        ],
        men: &[
            "Rajesh", "Sanjay", "Vikram", "Amit", "Sunil", "Deepak", "Harjit", "Gurpreet", "Manoj",
            "Nikhil", "Rahul", "Hitesh",
        ],
        women: &[
            "Anita", "Sunita", "Pooja", "Neha", "Kavita", "Priya", "Harpreet", "Jaspreet", "Rupa",
            "Seema", "Shreya", "Hetal",
        ],
    },
    // Black African (West African)
    NamePool {
        weight: 6,
        surnames: &[
            "Okafor", "Adeyemi", "Mensah", "Owusu", "Okoro", "Adebayo", "Boateng", "Asante",
            "Nwosu", "Eze", "Oyelaran", "Abiodun", "Ogunleye", "Appiah", "Okeke", "Danso",
        ],
        boys: &[
            "Daniel", "David", "Samuel", "Joshua", "Emmanuel", "Tobi", "Kwame", "Kofi", "Ayo",
            "Chidi", "Femi", "Jayden", "Malachi", "Elijah", "Tomiwa", "Kobe",
        ],
        girls: &[
            "Grace", "Favour", "Esther", "Precious", "Adaeze", "Amara", "Chioma", "Abena", "Ama",
            "Temi", "Zion", "Blessing", "Nia", "Adjoa", "Tiwa",
        ],
        men: &[
            "Emmanuel", "Olumide", "Kwabena", "Chinedu", "Samuel", "Babatunde", "Kofi", "Yaw",
            "Segun", "Obinna", "Michael", "Kwesi",
        ],
        women: &[
            "Funmilayo", "Ngozi", "Adwoa", "Akosua", "Chiamaka", "Folake", "Abimbola", "Grace",
            "Esther", "Yetunde", "Comfort", "Efua",
        ],
    },
    // Black Caribbean
    NamePool {
        weight: 4,
        surnames: &[
            "Campbell", "Francis", "Grant", "Reid", "Henry", "Gordon", "Samuels", "Morrison",
            "Powell", "Edwards", "Bailey", "Thompson", "Brown", "Lindo",
        ],
        boys: &[
            "Jayden", "Tyrese", "Malachi", "Kai", "Elijah", "Isaiah", "Zion", "Jaylen", "Josiah",
            "Nathaniel", "Ezekiel",
        ],
        girls: &[
            "Amaya", "Nevaeh", "Jada", "Kiara", "Aaliyah", "Serena", "Imani", "Tianna", "Leah",
            "Keziah", "Shanice",
        ],
        men: &[
            "Marcus", "Andre", "Dwayne", "Leon", "Carl", "Delroy", "Winston", "Clinton",
            "Jermaine", "Trevor",
        ],
        women: &[
            "Marcia", "Sharon", "Tanya", "Simone", "Janelle", "Keisha", "Natasha", "Donna",
            "Jacqueline", "Charmaine",
        ],
    },
    // Polish
    NamePool {
        weight: 5,
        surnames: &[
            "Nowak", "Kowalski/Kowalska", "Wiśniewski/Wiśniewska", "Wójcik", "Kamiński/Kamińska",
            "Lewandowski/Lewandowska", "Zieliński/Zielińska", "Szymański/Szymańska",
            "Dąbrowski/Dąbrowska", "Kaczmarek", "Mazur", "Krawczyk", "Jankowski/Jankowska",
        ],
        boys: &[
            "Jakub", "Antoni", "Szymon", "Filip", "Jan", "Aleksander", "Franciszek", "Mikołaj",
            "Wojciech", "Kacper", "Oliwer",
        ],
        girls: &[
            "Zuzanna", "Julia", "Hanna", "Maja", "Lena", "Zofia", "Alicja", "Oliwia", "Amelia",
            "Pola", "Nikola",
        ],
        men: &[
            "Piotr", "Tomasz", "Paweł", "Marcin", "Krzysztof", "Łukasz", "Michał", "Grzegorz",
            "Adam", "Rafał",
        ],
        women: &[
            "Anna", "Katarzyna", "Magdalena", "Agnieszka", "Joanna", "Monika", "Ewa", "Karolina",
            "Aleksandra", "Justyna",
        ],
    },
    // Romanian
    NamePool {
        weight: 3,
        surnames: &[
            "Popescu", "Ionescu", "Popa", "Dumitru", "Stan", "Stoica", "Gheorghe", "Munteanu",
            "Constantin", "Radu",
        ],
        boys: &["Andrei", "Luca", "David", "Matei", "Ștefan", "Alexandru", "Darius", "Rareș"],
        girls: &["Maria", "Ioana", "Sofia", "Bianca", "Daria", "Ana", "Eva", "Ilinca"],
        men: &["Ion", "Mihai", "Florin", "Adrian", "Cristian", "Bogdan", "Vasile", "Marius"],
        women: &[
            "Elena", "Mihaela", "Andreea", "Cristina", "Roxana", "Alina", "Gabriela", "Raluca",
        ],
    },
    // Turkish and Kurdish
    NamePool {
        weight: 2,
        surnames: &[
            "Yılmaz", "Kaya", "Demir", "Çelik", "Şahin", "Aydın", "Öztürk", "Arslan", "Doğan",
        ],
        boys: &["Yusuf", "Emir", "Ali", "Ömer", "Kerem", "Deniz", "Mert", "Efe"],
        girls: &["Elif", "Zeynep", "Defne", "Ela", "Asya", "Azra", "Nehir", "Ecrin"],
        men: &["Mehmet", "Mustafa", "Ahmet", "Hasan", "Murat", "Emre", "Serkan"],
        women: &["Ayşe", "Fatma", "Emine", "Hatice", "Selin", "Esra", "Merve", "Derya"],
    },
    // British Chinese
    NamePool {
        weight: 2,
        surnames: &[
            "Chen", "Wong", "Li", "Zhang", "Liu", "Lam", "Chan", "Cheung", "Ng", "Wang", "Ho",
        ],
        boys: &["Ethan", "Lucas", "Ryan", "Jason", "Nathan", "Oscar", "Ming", "Haoran"],
        girls: &["Chloe", "Emily", "Grace", "Jasmine", "Angela", "Mia", "Xinyi", "Yuki"],
        men: &["Wei", "Jun", "Ming", "Kevin", "Jason", "Tony", "Hao"],
        women: &["Mei", "Ling", "Xin", "Jenny", "Karen", "Helen", "Yan"],
    },
    // Portuguese and Brazilian
    NamePool {
        weight: 2,
        surnames: &[
            "Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins",
            "Sousa",
        ],
        boys: &["Tiago", "Rafael", "Gabriel", "Miguel", "Lucas", "Santiago", "Duarte"],
        girls: &["Beatriz", "Leonor", "Matilde", "Carolina", "Mariana", "Inês", "Sofia"],
        men: &["João", "Pedro", "Nuno", "Ricardo", "Rui", "Bruno", "Paulo"],
        women: &["Ana", "Sofia", "Catarina", "Joana", "Rita", "Patrícia", "Marta"],
    },
    // Somali
    NamePool {
        weight: 2,
        surnames: &[
            "Mohamed", "Abdi", "Hassan", "Omar", "Farah", "Yusuf", "Ibrahim", "Abdullahi",
            "Warsame",
        ],
        boys: &["Abdullahi", "Yusuf", "Mohamed", "Ayub", "Zakaria", "Bilal", "Hamza", "Khalid"],
        girls: &["Hodan", "Sagal", "Amal", "Hibo", "Ayan", "Layla", "Maryam", "Ikran"],
        men: &["Abdirahman", "Mohamed", "Ahmed", "Abdi", "Hassan", "Mustafa", "Abdiqani"],
        women: &["Fadumo", "Hawa", "Sahra", "Asha", "Ubah", "Nimo", "Halima", "Deeqa"],
    },
];

fn pick_pool(rng: &mut StdRng) -> usize {
    let weighted: Vec<(usize, u32)> = POOLS
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.weight))
        .collect();
    pick_weighted(rng, &weighted)
}

// ---------------------------------------------------------------------------------------
// Pupils and families
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Pupil {
    upn: String,
    forename: String,
    surname: String,
    year: i8,
    /// `N1`, `N2`, `R` or `1`…`6`.
    nc_year: String,
    class: &'static str,
    admitted: Date,
    family: usize,
}

#[derive(Debug, Clone)]
struct Parent {
    id: String,
    forename: String,
    surname: String,
    email: Option<String>,
    family: usize,
}

#[derive(Debug, Clone, Default)]
struct Family {
    pupils: Vec<usize>,
    parents: Vec<usize>,
    /// If the family moved to the school part-way through a year, the date they all joined.
    moved_in: Option<Date>,
}

#[derive(Debug, Clone, Default)]
struct Community {
    pupils: Vec<Pupil>,
    parents: Vec<Parent>,
    families: Vec<Family>,
}

impl Community {
    /// The first parent's email (or the next parent's, if the first has none).
    fn contact_email(&self, pupil: &Pupil) -> String {
        self.families
            .get(pupil.family)
            .into_iter()
            .flat_map(|f| f.parents.iter())
            .filter_map(|&p| self.parents.get(p).and_then(|p| p.email.clone()))
            .next()
            .unwrap_or_default()
    }
}

/// The year groups of each family's children: first a fixed family (Year 6, Year 3 and
/// Reception, the demo parent's), then random families until every class is full.
fn plan_families(rng: &mut StdRng) -> Vec<Vec<i8>> {
    let mut remaining = [0u32; 8];
    for class in &CLASSES {
        remaining[year_index(class.year)] += u32::try_from(class.size).unwrap_or(0);
    }
    let demo_family = vec![6, 3, 0];
    for &y in &demo_family {
        remaining[year_index(y)] -= 1;
    }
    let mut plans = vec![demo_family];

    while remaining.iter().any(|&r| r > 0) {
        let size = pick_weighted(rng, &[(1usize, 55), (2, 33), (3, 12)]);
        let weights: Vec<(i8, u32)> = YEARS
            .iter()
            .map(|&y| (y, remaining[year_index(y)]))
            .collect();
        let first = pick_weighted(rng, &weights);
        remaining[year_index(first)] -= 1;
        let mut years = vec![first];
        for _ in 1..size {
            let twins = rng.random_bool(0.04);
            let candidates: Vec<(i8, u32)> = YEARS
                .iter()
                .filter(|&&y| {
                    if twins {
                        y == first
                    } else {
                        !years.contains(&y) && years.iter().all(|&s| (s - y).abs() <= 5)
                    }
                })
                .map(|&y| (y, remaining[year_index(y)]))
                .filter(|&(_, r)| r > 0)
                .collect();
            if candidates.is_empty() {
                break;
            }
            let y = pick_weighted(rng, &candidates);
            remaining[year_index(y)] -= 1;
            years.push(y);
        }
        years.sort_unstable_by(|a, b| b.cmp(a));
        plans.push(years);
    }
    plans
}

fn build_community(rng: &mut StdRng, emails: &mut EmailBook) -> Community {
    let mut c = Community::default();
    for (family_no, years) in plan_families(rng).into_iter().enumerate() {
        add_family(rng, emails, &mut c, &years, family_no == 0);
    }
    assign_classes(rng, &mut c);
    for i in 0..c.pupils.len() {
        let (year, nc, family) = (
            c.pupils[i].year,
            c.pupils[i].nc_year.clone(),
            c.pupils[i].family,
        );
        let moved_in = c.families.get(family).and_then(|f| f.moved_in);
        c.pupils[i].admitted = moved_in.unwrap_or_else(|| admission_date(rng, year, &nc));
    }
    assign_upns(rng, &mut c);
    c
}

/// Invent one family: children in `years`, one or two parents or carers.
fn add_family(
    rng: &mut StdRng,
    emails: &mut EmailBook,
    c: &mut Community,
    years: &[i8],
    demo: bool,
) {
    let family_no = c.families.len();
    let pool_no = if demo { 0 } else { pick_pool(rng) };
    let pool = &POOLS[pool_no];
    let family_surname = pick(rng, pool.surnames);
    // Some British families give the children both parents' surnames.
    let double_barrel = (!demo && pool_no == 0 && rng.random_bool(0.05))
        .then(|| pick(rng, pool.surnames))
        .filter(|other| *other != family_surname);
    let children_surname = |female: bool| match double_barrel {
        Some(first) => format!("{first}-{family_surname}"),
        None => surname_form(family_surname, female).to_owned(),
    };

    let mut family = Family::default();
    let mut used_forenames: Vec<&str> = Vec::new();
    for (n, &year) in years.iter().enumerate() {
        let female = rng.random_bool(0.5);
        let names = if female { pool.girls } else { pool.boys };
        let mut forename = pick(rng, names);
        for _ in 0..20 {
            if !used_forenames.contains(&forename) {
                break;
            }
            forename = pick(rng, names);
        }
        used_forenames.push(forename);
        // Now and then a half-sibling carries a different surname.
        let surname = if n > 0 && !demo && rng.random_bool(0.08) {
            surname_form(pick(rng, pool.surnames), female).to_owned()
        } else {
            children_surname(female)
        };
        family.pupils.push(c.pupils.len());
        c.pupils.push(Pupil {
            upn: String::new(),
            forename: forename.to_owned(),
            surname,
            year,
            nc_year: String::new(),
            class: "",
            admitted: LATEST_ADMISSION,
            family: family_no,
        });
    }

    // Parents and carers: about 1.6 per family; mostly a mother first.
    let two = demo || rng.random_bool(0.62);
    let first_female = demo || rng.random_bool(if two { 0.97 } else { 0.85 });
    let mut adults = vec![first_female];
    if two {
        adults.push(if rng.random_bool(0.03) {
            first_female
        } else {
            !first_female
        });
    }
    for (n, female) in adults.into_iter().enumerate() {
        // A second carer is occasionally of another background (mixed-heritage families).
        let own_pool_no = if n == 1 && !demo && rng.random_bool(0.07) {
            pick_pool(rng)
        } else {
            pool_no
        };
        let own_pool = &POOLS[own_pool_no];
        let forename = pick(rng, if female { own_pool.women } else { own_pool.men });
        let keeps_family_name = if female { 0.72 } else { 0.88 };
        let surname = match double_barrel {
            Some(first) if n == 0 => first.to_owned(),
            Some(_) => family_surname.to_owned(),
            None if demo || (own_pool_no == pool_no && rng.random_bool(keeps_family_name)) => {
                surname_form(family_surname, female).to_owned()
            }
            None => surname_form(pick(rng, own_pool.surnames), female).to_owned(),
        };
        let email = (demo || rng.random_bool(0.93))
            .then(|| personal_email(rng, emails, forename, &surname));
        family.parents.push(c.parents.len());
        c.parents.push(Parent {
            id: format!("C{:04}", c.parents.len() + 1),
            forename: forename.to_owned(),
            surname,
            email,
            family: family_no,
        });
    }

    // About one family in seven joined part-way through a school year, all together.
    if !demo && rng.random_bool(0.15) {
        let earliest = years
            .iter()
            .map(|&y| autumn_start(ACADEMIC_YEAR - i32::from(y.max(0))).plus_days(14))
            .max()
            .unwrap_or(LATEST_ADMISSION);
        family.moved_in = Some(term_date_between(rng, earliest, LATEST_ADMISSION));
    }
    c.families.push(family);
}

/// A parent's own address on one of the reserved example domains.
fn personal_email(
    rng: &mut StdRng,
    emails: &mut EmailBook,
    forename: &str,
    surname: &str,
) -> String {
    let (f, s) = (email_slug(forename), email_slug(surname));
    let initial: String = f.chars().take(1).collect();
    let digits = rng.random_range(1..=99u32);
    match rng.random_range(0..5u32) {
        0 => emails.claim(&format!("{f}.{s}"), "example.com"),
        1 => emails.claim(&format!("{f}{s}{digits}"), "example.net"),
        2 => emails.claim(&format!("{initial}.{s}"), "example.org"),
        3 => emails.claim(&format!("{s}.{f}{digits}"), "example.com"),
        _ => emails.claim(&format!("{f}_{s}"), "example.net"),
    }
}

/// Share each year group's pupils among its classes, and mark nursery pupils N1 or N2.
fn assign_classes(rng: &mut StdRng, c: &mut Community) {
    for year in YEARS {
        let mut members: Vec<usize> = (0..c.pupils.len())
            .filter(|&i| c.pupils[i].year == year)
            .collect();
        members.shuffle(rng);
        let mut next = members.into_iter();
        for class in CLASSES.iter().filter(|cl| cl.year == year) {
            for (n, i) in next.by_ref().take(class.size).enumerate() {
                let pupil = &mut c.pupils[i];
                pupil.class = class.name;
                pupil.nc_year = match year {
                    -1 if n < NURSERY_N1 => "N1".to_owned(),
                    -1 => "N2".to_owned(),
                    0 => "R".to_owned(),
                    y => y.to_string(),
                };
            }
        }
    }
}

/// When a pupil whose family did not move in mid-year joined: at the start of Nursery or
/// Reception for their cohort.
fn admission_date(rng: &mut StdRng, year: i8, nc_year: &str) -> Date {
    if year < 0 {
        return if nc_year == "N1" {
            if rng.random_bool(0.6) {
                autumn_start(ACADEMIC_YEAR)
            } else {
                spring_start(ACADEMIC_YEAR + 1)
            }
        } else if rng.random_bool(0.3) {
            // Started as a rising three, the year before.
            pick(
                rng,
                &[
                    autumn_start(ACADEMIC_YEAR - 1),
                    spring_start(ACADEMIC_YEAR),
                    Date::new(ACADEMIC_YEAR, 4, 22),
                ],
            )
        } else {
            autumn_start(ACADEMIC_YEAR)
        };
    }
    // Came up through the school's nursery, or started in Reception.
    let reception = ACADEMIC_YEAR - i32::from(year);
    if rng.random_bool(0.35) {
        if rng.random_bool(0.8) {
            autumn_start(reception - 1)
        } else {
            spring_start(reception)
        }
    } else {
        autumn_start(reception)
    }
}

/// Give every pupil a unique 13-character UPN. Pupils who joined through Nursery or
/// Reception get one this school allocated, numbered in order of admission; pupils who
/// joined later bring one from a previous school.
fn assign_upns(rng: &mut StdRng, c: &mut Community) {
    let mut order: Vec<usize> = (0..c.pupils.len()).collect();
    order.sort_by(|&a, &b| {
        let (pa, pb) = (&c.pupils[a], &c.pupils[b]);
        (pa.admitted, &pa.surname, &pa.forename).cmp(&(pb.admitted, &pb.surname, &pb.forename))
    });
    let mut taken = HashSet::new();
    let mut serials = [0u32; 100];
    for i in order {
        let pupil = &c.pupils[i];
        let reception = ACADEMIC_YEAR - i32::from(pupil.year.max(0));
        let joined_at_start = pupil.admitted <= autumn_start(reception).plus_days(7)
            || (pupil.year < 0 && pupil.admitted < LATEST_ADMISSION);
        let upn = loop {
            let digits = if joined_at_start {
                let yy = usize::try_from(pupil.admitted.y.rem_euclid(100)).unwrap_or(0);
                serials[yy] += 1;
                format!("{OWN_LA}{OWN_ESTABLISHMENT}{yy:02}{:03}", serials[yy])
            } else {
                let la = pick(
                    rng,
                    &[
                        "330", "380", "873", "886", "919", "926", "213", "306", "855",
                    ],
                );
                let establishment = rng.random_range(2000..=3999u32);
                let yy = (reception - i32::from(rng.random_bool(0.3))).rem_euclid(100);
                let serial = rng.random_range(1..=999u32);
                format!("{la}{establishment}{yy:02}{serial:03}")
            };
            let upn = upn_from_digits(&digits);
            if taken.insert(upn.clone()) {
                break upn;
            }
        };
        c.pupils[i].upn = upn;
    }
}

/// A UPN from its last 12 digits: the DfE check letter (digits weighted 2 to 13, sum
/// modulo 23, mapped to A–Z without I, O and S), then the digits.
fn upn_from_digits(digits: &str) -> String {
    const LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";
    let sum: u32 = digits
        .bytes()
        .zip(2u32..)
        .map(|(b, weight)| u32::from(b.wrapping_sub(b'0')) * weight)
        .sum();
    let letter = char::from(LETTERS[(sum % 23) as usize]);
    format!("{letter}{digits}")
}

fn pupils_csv(c: &Community) -> String {
    let class_order = |name: &str| {
        CLASSES
            .iter()
            .position(|cl| cl.name == name)
            .unwrap_or(usize::MAX)
    };
    let mut order: Vec<&Pupil> = c.pupils.iter().collect();
    order.sort_by(|a, b| {
        (class_order(a.class), &a.surname, &a.forename).cmp(&(
            class_order(b.class),
            &b.surname,
            &b.forename,
        ))
    });
    to_csv(
        "UPN,Legal forename,Legal surname,NC Year,Registration group,Date of admission,Contact 1 email",
        order.into_iter().map(|p| {
            vec![
                p.upn.clone(),
                p.forename.clone(),
                p.surname.clone(),
                p.nc_year.clone(),
                p.class.to_owned(),
                p.admitted.dmy(),
                c.contact_email(p),
            ]
        }),
    )
}

fn parents_csv(c: &Community) -> String {
    let rows = c.parents.iter().flat_map(|parent| {
        let children = c
            .families
            .get(parent.family)
            .map(|f| f.pupils.as_slice())
            .unwrap_or_default();
        children
            .iter()
            .filter_map(|&i| c.pupils.get(i))
            .map(|child| {
                vec![
                    parent.id.clone(),
                    parent.forename.clone(),
                    parent.surname.clone(),
                    parent.email.clone().unwrap_or_default(),
                    child.upn.clone(),
                ]
            })
    });
    to_csv("Contact ID,Forename,Surname,Email,Child UPN", rows)
}

// ---------------------------------------------------------------------------------------
// Governors
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Governor {
    id: String,
    forename: String,
    surname: String,
    role: &'static str,
    email: String,
    start: Date,
}

const LINK_GOVERNOR: usize = 2;

fn build_governors(rng: &mut StdRng, emails: &mut EmailBook, c: &Community) -> Vec<Governor> {
    // The parent governor is one of the school's parents (chosen at random among those
    // with a child in Key Stage 2); the staff governor is a teaching assistant. Each has
    // a governor record of their own, separate from their parent or staff record.
    let ks2_parents: Vec<&Parent> = c
        .parents
        .iter()
        .filter(|p| {
            p.email.is_some()
                && c.families.get(p.family).is_some_and(|f| {
                    f.pupils
                        .iter()
                        .any(|&i| c.pupils.get(i).is_some_and(|k| k.year >= 3))
                })
        })
        .skip(1) // not the demo parent
        .collect();
    let parent_governor = if ks2_parents.is_empty() {
        ("Joanne", "Whitaker".to_owned())
    } else {
        let p = ks2_parents[rng.random_range(0..ks2_parents.len())];
        (p.forename.as_str(), p.surname.clone())
    };
    let staff_governor = STAFF[STAFF_GOVERNOR];
    let people: [(&str, String, &'static str, (i32, i32)); 5] = [
        (
            "Robert",
            "Ainsworth".to_owned(),
            "Chair of Governors",
            (2018, 2021),
        ),
        (
            "Nkechi",
            "Obi".to_owned(),
            "Vice-chair of Governors",
            (2019, 2022),
        ),
        (
            "Catherine",
            "Doyle".to_owned(),
            "Link Governor for Safeguarding and Online Safety",
            (2020, 2023),
        ),
        (
            parent_governor.0,
            parent_governor.1,
            "Parent Governor",
            (2023, 2025),
        ),
        (
            staff_governor.forename,
            staff_governor.surname.to_owned(),
            "Staff Governor",
            (2022, 2024),
        ),
    ];
    people
        .into_iter()
        .enumerate()
        .map(|(i, (forename, surname, role, (from, to)))| {
            let year = rng.random_range(from..=to);
            let start = term_date_between(
                rng,
                Date::new(year, 9, 1),
                Date::new(year + 1, 7, 20).min(LATEST_ADMISSION),
            );
            let local = format!("gov.{}.{}", email_slug(forename), email_slug(&surname));
            Governor {
                id: format!("GV{:02}", i + 1),
                forename: forename.to_owned(),
                surname,
                role,
                email: emails.claim(&local, SCHOOL_DOMAIN),
                start,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Visitors and volunteers
// ---------------------------------------------------------------------------------------

/// (first name, last name, role, email domain)
type GuestDef = (&'static str, &'static str, &'static str, &'static str);

const VISITORS: [GuestDef; 5] = [
    (
        "Priya",
        "Nair",
        "Speech and Language Therapist (NHS)",
        "nhs-therapy.example.org",
    ),
    (
        "Ben",
        "Hollis",
        "Broadband and Filtering Engineer (contractor)",
        "netcare.example.com",
    ),
    (
        "Olivia",
        "Grant",
        "Supply Teacher (Brightstart Supply agency)",
        "brightstart-supply.example.com",
    ),
    (
        "Simon",
        "Achterberg",
        "Educational Psychologist (local authority)",
        "la-psychology.example.org",
    ),
    (
        "Karen",
        "Whitby",
        "School Nurse",
        "school-nursing.example.org",
    ),
];

const VOLUNTEERS: [GuestDef; 4] = [
    ("Margaret", "Ellison", "Reading Volunteer", "example.com"),
    ("Tariq", "Aziz", "Reading Volunteer", "example.net"),
    (
        "Becky",
        "Lawson",
        "PTA Chair (Friends of Elmbrook)",
        "example.org",
    ),
    ("Dylan", "Morgan", "Gardening Club Volunteer", "example.com"),
];

#[derive(Debug, Clone)]
struct Guest {
    email: String,
    first: &'static str,
    last: &'static str,
    role: &'static str,
}

fn build_guests(emails: &mut EmailBook, defs: &[GuestDef]) -> Vec<Guest> {
    defs.iter()
        .map(|&(first, last, role, domain)| Guest {
            email: emails.claim(
                &format!("{}.{}", email_slug(first), email_slug(last)),
                domain,
            ),
            first,
            last,
            role,
        })
        .collect()
}

fn guests_csv(guests: &[Guest]) -> String {
    to_csv(
        "Email,First name,Last name,Role",
        guests.iter().map(|g| {
            vec![
                g.email.clone(),
                g.first.to_owned(),
                g.last.to_owned(),
                g.role.to_owned(),
            ]
        }),
    )
}

// ---------------------------------------------------------------------------------------
// Demo accounts
// ---------------------------------------------------------------------------------------

fn account(
    username: &str,
    role: &'static str,
    kind: &'static str,
    id: &str,
    description: String,
) -> DemoAccount {
    DemoAccount {
        username: username.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
        role,
        mis_id_or_email: id.to_owned(),
        kind,
        description,
    }
}

fn build_accounts(
    staff: &[Staff],
    governors: &[Governor],
    c: &Community,
    visitors: &[Guest],
) -> Vec<DemoAccount> {
    let mut accounts = Vec::new();
    let staff_accounts: [(&str, &'static str, usize, &str); 6] = [
        ("head", "head", HEAD, "Headteacher"),
        (
            "dsl",
            "dsl",
            DSL,
            "Designated Safeguarding Lead and Deputy Headteacher",
        ),
        (
            "deputy.dsl",
            "dsl",
            DEPUTY_DSL,
            "Deputy Designated Safeguarding Lead and SENCo",
        ),
        (
            "esafety",
            "online_safety_lead",
            ONLINE_SAFETY_LEAD,
            "Online Safety Lead and Computing Lead",
        ),
        (
            "dpo",
            "dpo",
            DPO,
            "Data Protection Lead and School Business Manager",
        ),
        ("itadmin", "it_admin", NETWORK_MANAGER, "Network Manager"),
    ];
    for (username, role, index, what) in staff_accounts {
        if let Some(s) = staff.get(index) {
            accounts.push(account(
                username,
                role,
                "staff",
                &s.code,
                format!("{what} ({})", s.full_name()),
            ));
        }
    }
    if let Some(g) = governors.get(LINK_GOVERNOR) {
        accounts.push(account(
            "governor",
            "governor",
            "governor",
            &g.id,
            format!("{} ({} {})", g.role, g.forename, g.surname),
        ));
    }
    for (username, index) in [
        ("teacher", CLASS_TEACHER),
        ("assistant", TEACHING_ASSISTANT),
    ] {
        if let Some(s) = staff.get(index) {
            accounts.push(account(
                username,
                "staff",
                "staff",
                &s.code,
                format!("{} ({})", s.def.job, s.full_name()),
            ));
        }
    }
    // The first family is the demo family: a parent of three, the eldest in Year 6.
    let demo_family = c.families.first();
    let parent = demo_family
        .and_then(|f| f.parents.first())
        .and_then(|&i| c.parents.get(i));
    let children: Vec<&Pupil> = demo_family
        .map(|f| f.pupils.iter().filter_map(|&i| c.pupils.get(i)).collect())
        .unwrap_or_default();
    if let Some(p) = parent {
        let names: Vec<String> = children
            .iter()
            .map(|k| format!("{} ({})", k.forename, k.class))
            .collect();
        let list = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            Some((last, _)) => last.clone(),
            None => String::new(),
        };
        accounts.push(account(
            "parent",
            "parent",
            "parent",
            &p.id,
            format!("Parent of {list} ({} {})", p.forename, p.surname),
        ));
    }
    if let Some(k) = children.iter().find(|k| k.year == 6) {
        accounts.push(account(
            "pupil",
            "pupil",
            "pupil",
            &k.upn,
            format!("Year 6 pupil in {} ({} {})", k.class, k.forename, k.surname),
        ));
    }
    if let Some(v) = visitors.first() {
        accounts.push(account(
            "visitor",
            "visitor",
            "visitor",
            &v.email,
            format!("{} ({} {})", v.role, v.first, v.last),
        ));
    }
    accounts
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    /// Header cells and rows of cells, by plain splitting (no cell holds a comma or quote).
    fn parse(csv: &str) -> (Vec<&str>, Vec<Vec<&str>>) {
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let rows = lines.map(|l| l.split(',').collect()).collect();
        (header, rows)
    }

    /// Rows as maps from header to cell.
    fn records(csv: &str) -> Vec<HashMap<&str, &str>> {
        let (header, rows) = parse(csv);
        rows.into_iter()
            .map(|row| header.iter().copied().zip(row).collect())
            .collect()
    }

    fn all_csvs(s: &DemoSchool) -> [(&'static str, &str); 6] {
        [
            ("staff", &s.staff_csv),
            ("governors", &s.governors_csv),
            ("pupils", &s.pupils_csv),
            ("parents", &s.parents_csv),
            ("visitors", &s.visitors_csv),
            ("volunteers", &s.volunteers_csv),
        ]
    }

    fn check_upn(upn: &str) -> bool {
        let bytes = upn.as_bytes();
        if bytes.len() != 13 || !bytes[1..].iter().all(u8::is_ascii_digit) {
            return false;
        }
        upn_from_digits(&upn[1..]) == upn
    }

    fn parse_dmy(s: &str) -> Date {
        let parts: Vec<&str> = s.split('/').collect();
        assert_eq!(parts.len(), 3, "{s}");
        assert_eq!(
            (parts[0].len(), parts[1].len(), parts[2].len()),
            (2, 2, 4),
            "{s}"
        );
        let d = Date::new(
            parts[2].parse().unwrap(),
            parts[1].parse().unwrap(),
            parts[0].parse().unwrap(),
        );
        assert_eq!(Date::from_days(d.days()), d, "{s} is a real date");
        d
    }

    #[test]
    fn headers_are_the_mis_shapes() {
        let s = demo_school();
        assert_eq!(s.name, "Elmbrook Primary School");
        let first = |csv: &str| csv.lines().next().unwrap().to_owned();
        assert_eq!(
            first(&s.staff_csv),
            "Staff code,Title,Forename,Surname,Job title,Email,Start date"
        );
        assert_eq!(
            first(&s.governors_csv),
            "ID,Forename,Surname,Role,Email,Start date"
        );
        assert_eq!(
            first(&s.pupils_csv),
            "UPN,Legal forename,Legal surname,NC Year,Registration group,Date of admission,Contact 1 email"
        );
        assert_eq!(
            first(&s.parents_csv),
            "Contact ID,Forename,Surname,Email,Child UPN"
        );
        assert_eq!(first(&s.visitors_csv), "Email,First name,Last name,Role");
        assert_eq!(first(&s.volunteers_csv), "Email,First name,Last name,Role");
    }

    #[test]
    fn no_cell_holds_a_comma_or_quote_and_names_are_present() {
        let s = demo_school();
        for (what, csv) in all_csvs(&s) {
            assert!(
                !csv.contains('"') && !csv.contains('\''),
                "{what} has a quote"
            );
            assert!(csv.ends_with('\n'), "{what} ends with a newline");
            let (header, rows) = parse(csv);
            assert!(!rows.is_empty(), "{what} has rows");
            for row in &rows {
                // A comma inside a cell would make an extra cell.
                assert_eq!(row.len(), header.len(), "{what}: {row:?}");
                for (h, cell) in header.iter().zip(row) {
                    assert_eq!(cell.trim(), *cell, "{what} {h}: stray space");
                    let optional = h.contains("mail") && matches!(what, "pupils" | "parents");
                    assert!(optional || !cell.is_empty(), "{what} {h} is empty: {row:?}");
                }
            }
        }
    }

    #[test]
    fn counts_are_those_of_a_one_and_a_half_form_entry_primary() {
        let s = demo_school();
        let staff = records(&s.staff_csv).len();
        assert!((35..=45).contains(&staff), "{staff} staff");
        assert_eq!(records(&s.governors_csv).len(), 5);
        let pupils = records(&s.pupils_csv).len();
        assert!((280..=320).contains(&pupils), "{pupils} pupils");
        let guests = records(&s.visitors_csv).len() + records(&s.volunteers_csv).len();
        assert!(
            (6..=10).contains(&guests),
            "{guests} visitors and volunteers"
        );
    }

    #[test]
    fn every_year_group_is_present_and_admissions_fit_it() {
        let s = demo_school();
        let mut seen = HashSet::new();
        for p in records(&s.pupils_csv) {
            let nc = p["NC Year"];
            let year: i8 = match nc {
                "N1" | "N2" => -1,
                "R" => 0,
                n => n.parse().unwrap(),
            };
            assert!((-1..=6).contains(&year), "{nc}");
            seen.insert(year);
            let admitted = parse_dmy(p["Date of admission"]);
            let nursery_start = autumn_start(ACADEMIC_YEAR - i32::from(year.max(0)) - 1);
            let earliest = if nc == "N1" {
                autumn_start(ACADEMIC_YEAR)
            } else {
                nursery_start
            };
            assert!(
                admitted >= earliest && admitted <= LATEST_ADMISSION,
                "{nc}: {admitted:?}"
            );
            assert!(admitted.in_term(), "{admitted:?} is a school day");
        }
        assert_eq!(seen, YEARS.into_iter().collect::<HashSet<_>>());
        let nc: HashSet<&str> = records(&s.pupils_csv)
            .iter()
            .map(|p| p["NC Year"])
            .collect();
        assert!(nc.contains("N1") && nc.contains("N2"));
    }

    #[test]
    fn every_class_has_a_teacher_named_for_it() {
        let s = demo_school();
        let staff = records(&s.staff_csv);
        let classes: HashSet<&str> = records(&s.pupils_csv)
            .iter()
            .map(|p| p["Registration group"])
            .collect();
        assert_eq!(classes.len(), CLASSES.len());
        for class in classes {
            let teachers = staff
                .iter()
                .filter(|st| st["Job title"].contains("Teacher") && st["Job title"].contains(class))
                .count();
            assert_eq!(teachers, 1, "{class} has one class teacher");
        }
    }

    #[test]
    fn key_safeguarding_roles_are_held() {
        let s = demo_school();
        let staff = records(&s.staff_csv);
        let holding = |what: &str| {
            staff
                .iter()
                .filter(|st| st["Job title"].contains(what))
                .count()
        };
        assert_eq!(holding("Headteacher") - holding("Deputy Headteacher"), 1);
        assert_eq!(
            holding("Deputy Headteacher and Designated Safeguarding Lead"),
            1
        );
        assert_eq!(holding("Deputy Designated Safeguarding Lead"), 1);
        assert_eq!(holding("Online Safety Lead"), 1);
        assert_eq!(holding("Data Protection Lead"), 1);
        assert_eq!(holding("Network Manager"), 1);
        assert!(holding("Teaching Assistant") >= 6);
        assert!(holding("Midday Supervisor") >= 3);
        let roles: Vec<String> = records(&s.governors_csv)
            .iter()
            .map(|g| g["Role"].to_owned())
            .collect();
        for role in [
            "Chair of Governors",
            "Vice-chair of Governors",
            "Parent Governor",
            "Staff Governor",
        ] {
            assert!(roles.iter().any(|r| r == role), "{role}");
        }
        assert!(
            roles
                .iter()
                .any(|r| r.contains("Safeguarding") && r.contains("Online Safety"))
        );
    }

    #[test]
    fn ids_and_emails_are_unique_and_well_formed() {
        let s = demo_school();
        let staff = records(&s.staff_csv);
        let codes: HashSet<&str> = staff.iter().map(|st| st["Staff code"]).collect();
        assert_eq!(codes.len(), staff.len());
        for (i, st) in staff.iter().enumerate() {
            assert_eq!(st["Staff code"], format!("ST{:03}", i + 1));
            assert!(st["Email"].ends_with("@elmbrook.sch.uk"), "{}", st["Email"]);
            parse_dmy(st["Start date"]);
        }
        for (i, g) in records(&s.governors_csv).iter().enumerate() {
            assert_eq!(g["ID"], format!("GV{:02}", i + 1));
            parse_dmy(g["Start date"]);
        }
        let pupils = records(&s.pupils_csv);
        let upns: HashSet<&str> = pupils.iter().map(|p| p["UPN"]).collect();
        assert_eq!(upns.len(), pupils.len(), "UPNs are unique");
        for upn in &upns {
            assert!(check_upn(upn), "{upn} is a valid UPN");
        }

        // One address per person across the whole school.
        let mut owners: HashMap<String, String> = HashMap::new();
        let mut claim = |email: &str, owner: String| {
            if email.is_empty() {
                return;
            }
            assert!(
                email.is_ascii()
                    && email.to_ascii_lowercase() == email
                    && email.matches('@').count() == 1,
                "{email}"
            );
            let (local, domain) = email.split_once('@').unwrap();
            assert!(!local.is_empty() && domain.contains('.'), "{email}");
            assert!(
                domain == "elmbrook.sch.uk"
                    || domain == "example.com"
                    || domain.ends_with(".example.com")
                    || domain == "example.net"
                    || domain == "example.org"
                    || domain.ends_with(".example.org"),
                "{email} is on the school's or a reserved domain"
            );
            if let Some(previous) = owners.insert(email.to_owned(), owner.clone()) {
                assert_eq!(previous, owner, "{email} belongs to two people");
            }
        };
        for st in &staff {
            claim(st["Email"], st["Staff code"].to_owned());
        }
        for g in records(&s.governors_csv) {
            claim(g["Email"], g["ID"].to_owned());
        }
        for p in records(&s.parents_csv) {
            claim(p["Email"], p["Contact ID"].to_owned());
        }
        for v in records(&s.visitors_csv)
            .into_iter()
            .chain(records(&s.volunteers_csv))
        {
            claim(
                v["Email"],
                format!("{} {}", v["First name"], v["Last name"]),
            );
        }
    }

    #[test]
    fn parents_link_to_pupils_and_families_share_names() {
        let s = demo_school();
        let pupils = records(&s.pupils_csv);
        let by_upn: HashMap<&str, &HashMap<&str, &str>> =
            pupils.iter().map(|p| (p["UPN"], p)).collect();
        let parents = records(&s.parents_csv);
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut first_row: HashMap<&str, (&str, &str, &str)> = HashMap::new();
        let mut contacts_of: HashMap<&str, Vec<&str>> = HashMap::new();
        for row in &parents {
            let id = row["Contact ID"];
            assert!(id.len() == 5 && id.starts_with('C'), "{id}");
            assert!(
                by_upn.contains_key(row["Child UPN"]),
                "{id} links to a pupil on roll"
            );
            let who = (row["Forename"], row["Surname"], row["Email"]);
            assert_eq!(
                *first_row.entry(id).or_insert(who),
                who,
                "{id}'s rows agree"
            );
            children.entry(id).or_default().push(row["Child UPN"]);
            contacts_of.entry(row["Child UPN"]).or_default().push(id);
        }
        for (id, kids) in &children {
            let distinct: HashSet<&&str> = kids.iter().collect();
            assert_eq!(distinct.len(), kids.len(), "{id} links to each child once");
        }
        let many = children.values().filter(|k| k.len() >= 2).count();
        assert!(many >= 10, "{many} parents have two or more children");
        let average = children.len() as f64 / {
            let families: HashSet<Vec<&str>> = children
                .values()
                .map(|k| {
                    let mut k = k.clone();
                    k.sort_unstable();
                    k
                })
                .collect();
            families.len() as f64
        };
        assert!(
            (1.4..=1.8).contains(&average),
            "{average} parents per family"
        );
        let with_email = first_row.values().filter(|(_, _, e)| !e.is_empty()).count();
        assert!(
            with_email * 10 >= first_row.len() * 8,
            "most parents have an email"
        );
        let different = parents
            .iter()
            .filter(|r| r["Surname"] != by_upn[r["Child UPN"]]["Legal surname"])
            .count();
        assert!(
            different > 0,
            "some parents have a surname different from their child's"
        );

        // Every pupil has a parent, and the contact email is one of theirs.
        for p in &pupils {
            let ids = contacts_of
                .get(p["UPN"])
                .unwrap_or_else(|| panic!("{} has no parent", p["UPN"]));
            let email = p["Contact 1 email"];
            assert!(
                email.is_empty() || ids.iter().any(|id| first_row[id].2 == email),
                "{email}"
            );
        }
        // Siblings mostly share a surname.
        let (mut shared, mut total) = (0, 0);
        for kids in children.values().filter(|k| k.len() >= 2) {
            let surnames: HashSet<&str> = kids.iter().map(|u| by_upn[u]["Legal surname"]).collect();
            total += 1;
            shared += usize::from(surnames.len() == 1);
        }
        assert!(shared * 10 >= total * 8, "{shared} of {total}");
    }

    #[test]
    fn accounts_cover_every_role_and_point_at_real_people() {
        let s = demo_school();
        let roles: Vec<&str> = s.accounts.iter().map(|a| a.role).collect();
        assert_eq!(
            roles,
            [
                "head",
                "dsl",
                "dsl",
                "online_safety_lead",
                "dpo",
                "it_admin",
                "governor",
                "staff",
                "staff",
                "parent",
                "pupil",
                "visitor"
            ]
        );
        let names: HashSet<&str> = s.accounts.iter().map(|a| a.username.as_str()).collect();
        assert_eq!(names.len(), s.accounts.len(), "usernames are unique");
        let staff = records(&s.staff_csv);
        let governors = records(&s.governors_csv);
        let pupils = records(&s.pupils_csv);
        let parents = records(&s.parents_csv);
        let visitors = records(&s.visitors_csv);
        for a in &s.accounts {
            assert_eq!(a.password, "elmbrook-demo-2026");
            assert!(a.password.len() >= 12);
            assert!(!a.description.is_empty() && !a.username.is_empty());
            let id = a.mis_id_or_email.as_str();
            match a.kind {
                "staff" => {
                    let st = staff.iter().find(|st| st["Staff code"] == id).unwrap();
                    let job = st["Job title"];
                    let fits = match a.username.as_str() {
                        "head" => job == "Headteacher",
                        "dsl" => {
                            job.contains("Deputy Headteacher")
                                && job.contains("Designated Safeguarding Lead")
                        }
                        "deputy.dsl" => job.contains("Deputy Designated Safeguarding Lead"),
                        "esafety" => job.contains("Online Safety Lead"),
                        "dpo" => job.contains("Data Protection Lead"),
                        "itadmin" => job.contains("Network Manager"),
                        "teacher" => job.contains("Class Teacher"),
                        "assistant" => job.contains("Teaching Assistant"),
                        other => panic!("unexpected staff account {other}"),
                    };
                    assert!(fits, "{} is {job}", a.username);
                    assert!(a.description.contains(st["Surname"]), "{}", a.description);
                }
                "governor" => {
                    let g = governors.iter().find(|g| g["ID"] == id).unwrap();
                    assert!(g["Role"].contains("Safeguarding"));
                }
                "pupil" => {
                    let p = pupils.iter().find(|p| p["UPN"] == id).unwrap();
                    assert_eq!(p["NC Year"], "6");
                }
                "parent" => {
                    let rows = parents.iter().filter(|p| p["Contact ID"] == id).count();
                    assert!(rows >= 2, "the demo parent has several children");
                }
                "visitor" => assert!(visitors.iter().any(|v| v["Email"] == id)),
                other => panic!("unexpected kind {other}"),
            }
        }
        // The demo parent is the demo pupil's parent.
        let parent = &s.accounts[9].mis_id_or_email;
        let pupil = &s.accounts[10].mis_id_or_email;
        assert!(
            parents
                .iter()
                .any(|p| p["Contact ID"] == parent && p["Child UPN"] == pupil)
        );
    }

    #[test]
    fn is_deterministic() {
        assert_eq!(demo_school(), demo_school());
    }

    #[test]
    fn helpers() {
        assert_eq!(email_slug("Wróbel"), "wrobel");
        assert_eq!(email_slug("Şahin"), "sahin");
        assert_eq!(email_slug("Allen-Palmer"), "allen-palmer");
        assert_eq!(email_slug("Mei Ling"), "meiling");
        assert_eq!(surname_form("Kowalski/Kowalska", true), "Kowalska");
        assert_eq!(surname_form("Kowalski/Kowalska", false), "Kowalski");
        assert_eq!(surname_form("Nowak", true), "Nowak");
        let d = Date::new(2025, 9, 3);
        assert_eq!(Date::from_days(d.days()), d);
        assert_eq!(Date::new(1970, 1, 1).days(), 0);
        assert_eq!(Date::new(2024, 2, 29).plus_days(1), Date::new(2024, 3, 1));
        assert!(Date::new(2026, 1, 31).is_weekend()); // a Saturday
        assert_eq!(autumn_start(2025), Date::new(2025, 9, 3)); // a Wednesday
        assert_eq!(
            Date::new(2025, 9, 6).next_school_day(),
            Date::new(2025, 9, 8)
        );
        assert_eq!(d.dmy(), "03/09/2025");
        let mut book = EmailBook::default();
        assert_eq!(book.claim("a.b", "x.org"), "a.b@x.org");
        assert_eq!(book.claim("a.b", "x.org"), "a.b2@x.org");
        // Check letters worked by hand: weights 2..=13, sum mod 23, A–Z without I, O, S.
        assert_eq!(upn_from_digits("000000000000"), "A000000000000");
        assert_eq!(upn_from_digits("000000000001"), "P000000000001"); // 13 → P
        assert_eq!(upn_from_digits("100000000000"), "C100000000000"); // 2 → C
        assert_eq!(upn_from_digits("000000000002"), "D000000000002"); // 26 mod 23 = 3 → D
        assert!(!check_upn("A82324171900"));
    }
}
