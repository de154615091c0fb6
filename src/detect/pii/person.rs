//! Person names, precision first: capitalized words that are known given names or surnames
//! (lists generated from the `faker` locale providers by `scripts/gen_names.py`), reported only
//! as a first-name + surname pair or next to a word that introduces a person (`my name is`,
//! `Dear`, `Mr.`, `Name:`, a signature). Code identifiers, ALL-CAPS words and words glued to
//! code punctuation never count.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

use super::stack::StackVec;
use super::words::WordSet;
use crate::tools::policy::Fnv;

struct Names {
    first: HashSet<&'static str, Fnv>,
    last: HashSet<&'static str, Fnv>,
}

fn load(src: &'static str) -> HashSet<&'static str, Fnv> {
    src.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

static NAMES: LazyLock<Names> = LazyLock::new(|| Names {
    first: load(include_str!("names/first.txt")),
    last: load(include_str!("names/last.txt")),
});

/// Loads the name lists (a pipeline does it at construction, not on the first check).
pub(crate) fn warm_up() {
    LazyLock::force(&NAMES);
    LazyLock::force(&INTRO_ENDS);
}

/// Words that introduce a person when they come right before a name (lowercase; `:` and `.`
/// are stripped before comparing).
const INTRO: &[&str] = &[
    "name is",
    "name",
    "names",
    "i am",
    "i'm",
    "im",
    "this is",
    "called",
    "named",
    "dear",
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank you",
    "regards",
    "sincerely",
    "cheers",
    "best",
    "signed",
    "attn",
    "ship to",
    "bill to",
    "deliver to",
    "recipient",
    "sender",
    "addressee",
    "beneficiary",
    "payee",
    "cardholder",
    "account holder",
    "name on card",
    "contact",
    "patient",
    "customer",
    "client",
    "employee",
    "user",
    "manager",
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "prof",
    "sir",
    "madam",
    "mister",
    "son",
    "daughter",
    "wife",
    "husband",
    "friend",
    "colleague",
    "boss",
    "nurse",
    "doctor",
    "author",
    "owner",
    "holder",
    "applicant",
    "member",
    "guest",
    "tenant",
    "mme",
    "mlle",
    "sr",
    "sra",
    "herr",
    "frau",
];

/// Words after a capitalized run that make it a place or an organization, not a person.
const NOT_PERSON_AFTER: &[&str] = &[
    "street",
    "st",
    "avenue",
    "ave",
    "road",
    "rd",
    "lane",
    "ln",
    "drive",
    "boulevard",
    "blvd",
    "way",
    "pass",
    "trail",
    "bypass",
    "mall",
    "loop",
    "flat",
    "flats",
    "park",
    "hills",
    "hill",
    "cove",
    "coves",
    "lodge",
    "bridge",
    "gateway",
    "forges",
    "forge",
    "square",
    "place",
    "court",
    "crescent",
    "close",
    "terrace",
    "plaza",
    "circle",
    "highway",
    "parkway",
    "row",
    "gardens",
    "grove",
    "heights",
    "valley",
    "view",
    "point",
    "creek",
    "river",
    "lake",
    "island",
    "station",
    "port",
    "harbor",
    "harbour",
    "ltd",
    "inc",
    "llc",
    "corp",
    "group",
    "capital",
    "bank",
    "university",
    "school",
    "schools",
    "news",
    "company",
    "co",
    "gmbh",
    "sa",
    "ag",
    "plc",
    "hotel",
    "hospital",
    "center",
    "centre",
    "airport",
    "church",
    "mount",
    "fort",
    "estates",
    "meadows",
    "ridge",
    "shores",
    "springs",
    "village",
    "ville",
    "city",
    "county",
    "state",
    "junction",
    "mews",
    "walk",
    "rise",
    "end",
    "green",
    "fields",
    "route",
    "via",
    "pike",
];

/// Words before a capitalized run that make it part of an address.
const STREET_BEFORE: &[&str] = &[
    "via", "calle", "rua", "rue", "ul", "avenida", "av", "corner", "street", "st", "avenue",
    "road", "plaza", "piazza", "viale", "strada", "carrer", "straße", "strasse",
];

/// Words before a lone capitalized word that make it a place more often than a person.
const NOT_PERSON_BEFORE: &[&str] = &[
    "of", "in", "at", "on", "to", "from", "near", "visit", "visited",
];

/// Field names (lowercase, `_` and `-` removed) whose value is a person's name.
const NAME_FIELDS: &[&str] = &[
    "firstname",
    "lastname",
    "fullname",
    "givenname",
    "familyname",
    "surname",
    "middlename",
    "maidenname",
    "customername",
    "patientname",
    "contactname",
    "holdername",
    "cardholdername",
    "cardholder",
    "accountholder",
    "employeename",
    "studentname",
    "clientname",
    "personname",
    "recipientname",
    "sendername",
    "beneficiaryname",
    "nameoncard",
    "lname",
    // Other languages (first name, surname), written without accents.
    "prenom",
    "vorname",
    "nachname",
    "familienname",
    "apellido",
    "apellidos",
    "cognome",
    "sobrenome",
    "voornaam",
    "achternaam",
    "nazwisko",
    "fornavn",
    "etternavn",
    "efternavn",
    "efternamn",
    "etunimi",
    "sukunimi",
    "soyad",
    "soyadi",
];

/// [`NAME_FIELDS`] with letters outside ASCII (`Prénom`, `Förnamn`, `Фамилия`), compared folded
/// (lowercase, accents off). Words that also name things (`nom`, `nombre`, `Name`) are not
/// fields of a person.
static NAME_FIELDS_OTHER: LazyLock<Vec<String>> = LazyLock::new(|| {
    [
        "prénom",
        "förnamn",
        "imię",
        "příjmení",
        "soyadı",
        "фамилия",
        "имя",
        "отчество",
        "прізвище",
        "επώνυμο",
        "επίθετο",
    ]
    .iter()
    .map(|f| crate::text::fold_str(f))
    .collect()
});

/// Whether the text right before byte `i` is a field holding a person's name and its
/// separator: `"first_name": "`, `lastName=`, `<surname>`, `customer_name: `, `Prénom : `.
fn name_field_before(s: &str, i: usize) -> bool {
    let b = s.as_bytes();
    let mut k = i;
    let floor = i.saturating_sub(6);
    while k > floor && matches!(b[k - 1], b'"' | b'\'' | b' ' | b':' | b'=' | b'>' | b'\t') {
        k -= 1;
    }
    if k == i || k == 0 {
        return false;
    }
    let end = k;
    while k > 0
        && end - k < 32
        && (b[k - 1].is_ascii_alphabetic() || matches!(b[k - 1], b'_' | b'-'))
    {
        k -= 1;
    }
    // A letter outside ASCII in the name: the whole word, folded (`Prénom`, `Фамилия`).
    if k > 0 && b[k - 1] >= 0x80 {
        let start = s[..end]
            .char_indices()
            .rev()
            .take(32)
            .take_while(|(_, c)| c.is_alphabetic() || matches!(c, '_' | '-'))
            .last()
            .map_or(end, |(at, _)| at);
        // Lowercased first: folding maps some capitals to Latin look-alikes (`Ε` → `e`).
        let key: String = crate::text::fold_str(&s[start..end].to_lowercase())
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .collect();
        return NAME_FIELDS_OTHER.contains(&key) || NAME_FIELDS.contains(&key.as_str());
    }
    let mut key = [0u8; 32];
    let mut n = 0;
    for &c in &b[k..end] {
        if c != b'_' && c != b'-' && n < key.len() {
            key[n] = c.to_ascii_lowercase();
            n += 1;
        }
    }
    // Every field name has five letters or more: the words before most capitalized words
    // (`to`, `in`, `and`) are ruled out before any lookup.
    n >= 5 && std::str::from_utf8(&key[..n]).is_ok_and(|f| NAME_FIELD_SET.contains(f))
}

/// [`NAME_FIELDS`] for one hash lookup (this runs before most capitalized words).
static NAME_FIELD_SET: LazyLock<HashSet<&'static str, Fnv>> =
    LazyLock::new(|| NAME_FIELDS.iter().copied().collect());

/// Whether the word at `i` starts a cell of a delimited table (CSV, TSV, `;` or `|`) whose header,
/// the first line of the block of lines above that hold the same separator (64 at most),
/// names the column for a person (`first_name,last_name,email` above `Maria,Garcia,…`).
fn table_name_column(s: &str, i: usize) -> bool {
    let b = s.as_bytes();
    // A cell starts a line or follows a separator: decided before looking for the line break,
    // which in prose (one long line) would cost a scan of 4 KiB per capitalized word.
    let mut k = i;
    while k > 0 && b[k - 1] == b' ' {
        k -= 1;
    }
    if k == 0 || !matches!(b[k - 1], b',' | b'\t' | b';' | b'|' | b'\n' | b'\r') {
        return false;
    }
    // The line break before `b[at]`, within 4 KiB: longer lines are no table rows.
    let newline_before = |at: usize| {
        let from = at.saturating_sub(4096);
        b[from..at]
            .iter()
            .rposition(|&c| c == b'\n')
            .map(|p| from + p)
    };
    let Some(nl) = newline_before(i) else {
        return false;
    };
    let line_start = nl + 1;
    let mut k = i;
    while k > line_start && b[k - 1] == b' ' {
        k -= 1;
    }
    let is_sep = |c: u8| matches!(c, b',' | b'\t' | b';' | b'|');
    let sep = if k == line_start {
        match b[i..]
            .iter()
            .take_while(|&&c| c != b'\n')
            .find(|&&c| is_sep(c))
        {
            Some(&c) => c,
            None => return false,
        }
    } else if is_sep(b[k - 1]) {
        b[k - 1]
    } else {
        return false;
    };
    let column = b[line_start..k].iter().filter(|&&c| c == sep).count();
    // Walk up the block to its first line.
    let mut end = nl;
    let mut header = None;
    for _ in 0..64 {
        let start = match newline_before(end) {
            Some(p) => p + 1,
            None if end <= 4096 => 0,
            None => break,
        };
        let line = &s[start..end];
        if !line.as_bytes().contains(&sep) {
            break;
        }
        header = Some(line);
        if start == 0 {
            break;
        }
        end = start - 1;
    }
    let Some(cell) = header.and_then(|h| h.split(sep as char).nth(column)) else {
        return false;
    };
    let key: String = cell
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    NAME_FIELDS.contains(&key.as_str())
}

/// Where the capitalized word after one to three surname particles starting at `at` begins.
fn after_particles(s: &str, at: usize) -> Option<usize> {
    let mut k = at;
    for _ in 0..3 {
        let w = s[k..].split(' ').next()?;
        if !PARTICLES.contains(&w) {
            return None;
        }
        k += w.len() + 1;
        let next = s.get(k..)?.split(' ').next()?;
        let next = next.trim_end_matches(|c: char| !c.is_alphabetic());
        if capitalized(next) {
            return Some(k);
        }
    }
    None
}

/// Second words that make a given name part of an organization's or a thing's name
/// (`Wolfram Research`, `Russell Investments`); checked only when the pair is not two known
/// names.
const ORGANIZATION_WORDS: &[&str] = &[
    "research",
    "investments",
    "investment",
    "partners",
    "consulting",
    "associates",
    "technologies",
    "technology",
    "systems",
    "solutions",
    "holdings",
    "ventures",
    "labs",
    "media",
    "studios",
    "studio",
    "records",
    "pictures",
    "films",
    "motors",
    "airlines",
    "airways",
    "insurance",
    "energy",
    "foods",
    "health",
    "foundation",
    "institute",
    "academy",
    "college",
    "hall",
    "parks",
    "points",
    "suite",
    "patrol",
    "band",
    "orchestra",
    "choir",
    "team",
    "united",
    "club",
    "stadium",
    "arena",
    "theatre",
    "theater",
    "museum",
    "library",
    "cathedral",
    "temple",
    "tower",
    "towers",
    "market",
    "resort",
    "beach",
    "bay",
    "falls",
    "mountain",
    "mountains",
    "islands",
    "extensions",
    "street",
];

/// Last words of a team, a desk or a mailbox rather than a person (`Author: Dev Team`,
/// `From: Billing Support`, `GitHub Notifications`); none is a common surname.
const GROUP_WORDS: &[&str] = &[
    "team",
    "teams",
    "support",
    "desk",
    "helpdesk",
    "department",
    "dept",
    "notifications",
    "notification",
    "alerts",
    "bot",
    "service",
    "services",
    "group",
    "crew",
    "squad",
    "committee",
    "office",
    "admin",
    "administrator",
    "noreply",
    "operations",
    "ops",
    "engineering",
    "marketing",
    "billing",
    "infrastructure",
    "devops",
];

/// Lowercase words inside a name, before the surname.
const PARTICLES: &[&str] = &[
    "van", "de", "der", "den", "von", "zu", "da", "di", "del", "della", "dos", "das", "do", "du",
    "le", "la", "ter", "ten", "bin", "binti", "al", "el", "ibn", "y",
];

/// Introductions strong enough that the name need not be in the lists (`My name is Rubija`).
const STRONG_INTRO: &[&str] = &[
    "name is",
    "name",
    "names",
    "called",
    "named",
    "mr",
    "mrs",
    "ms",
    "mx",
    "dr",
    "prof",
    "miss",
    // "My name is" / "I am called" in German, French, Spanish, Italian, Portuguese, Polish,
    // Dutch, Swedish, Norwegian, Danish, Turkish, Indonesian, Vietnamese, Russian, Czech,
    // Romanian, Hungarian, Finnish, Greek (the last one or two words of each).
    "heiße",
    "heisse",
    "name ist",
    "m'appelle",
    "llamo",
    "nombre es",
    "chiamo",
    "nome è",
    "nome é",
    "chamo",
    "chamo-me",
    "nazywam się",
    "na imię",
    "naam is",
    "heet",
    "heter",
    "navn er",
    "adım",
    "nama saya",
    "tôi là",
    "зовут",
    "jmenuji se",
    "numesc",
    "nevem",
    "nimeni on",
    "λένε",
];

/// Capitalized words that follow greetings and titles without being names.
const NOT_NAMES: &[&str] = &[
    "Customer",
    "Customers",
    "Team",
    "Sir",
    "Madam",
    "All",
    "Everyone",
    "Friends",
    "Support",
    "Admin",
    "User",
    "Colleagues",
    "Valued",
    "Hiring",
    "Manager",
    "Applicant",
    "Not",
    "Here",
    "Happy",
    "Sorry",
    "Sure",
    "Fine",
    "Good",
    "Back",
    "Available",
    "Interested",
    "Looking",
    "Writing",
    "Calling",
    "Unable",
    "Able",
    "Going",
    "Glad",
    "New",
    "The",
    "A",
    "An",
    "After",
    "Before",
    "In",
    "On",
    "At",
    "For",
    "With",
    "From",
    "By",
    "Of",
    "To",
    "And",
    "Or",
    "But",
    // Other columns of a header row after `Name` (`Name,Email,Phone`).
    "Email",
    "E-mail",
    "Mail",
    "Phone",
    "Telephone",
    "Tel",
    "Mobile",
    "Address",
    "City",
    "Country",
    "Age",
    "Gender",
    "Id",
    "ID",
    "Date",
    "Company",
    "Title",
    "Role",
    "Status",
    "Department",
    "Position",
    "Notes",
    "Username",
];

const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "mister", "mme", "mlle", "herr", "frau",
    "sr", "sra",
];

/// The word lists above as sets, for one hash lookup each (they are asked about at many
/// capitalized words).
fn set_of(words: &'static [&'static str]) -> HashSet<&'static str, Fnv> {
    words.iter().copied().collect()
}
static INTRO_SET: LazyLock<HashSet<&'static str, Fnv>> = LazyLock::new(|| set_of(INTRO));
static NOT_PERSON_AFTER_SET: LazyLock<HashSet<&'static str, Fnv>> =
    LazyLock::new(|| set_of(NOT_PERSON_AFTER));
static STREET_BEFORE_SET: LazyLock<HashSet<&'static str, Fnv>> =
    LazyLock::new(|| set_of(STREET_BEFORE));
static NOT_PERSON_BEFORE_SET: LazyLock<HashSet<&'static str, Fnv>> =
    LazyLock::new(|| set_of(NOT_PERSON_BEFORE));
static ORGANIZATION_WORDS_SET: LazyLock<HashSet<&'static str, Fnv>> =
    LazyLock::new(|| set_of(ORGANIZATION_WORDS));
static GROUP_WORDS_SET: LazyLock<HashSet<&'static str, Fnv>> =
    LazyLock::new(|| set_of(GROUP_WORDS));
static STRONG_INTRO_SET: LazyLock<HashSet<&'static str, Fnv>> =
    LazyLock::new(|| set_of(STRONG_INTRO));
static NOT_NAMES_SET: LazyLock<HashSet<&'static str, Fnv>> = LazyLock::new(|| set_of(NOT_NAMES));
static TITLES_SET: LazyLock<HashSet<&'static str, Fnv>> = LazyLock::new(|| set_of(TITLES));

/// Whether the text right before `at` ends with a strong introduction (`my name is`, `Mr.`,
/// `Name:`), compared without allocating.
fn strong_intro_before(s: &str, at: usize) -> bool {
    let b = s.as_bytes();
    let mut end = at;
    while end > 0 && matches!(b[end - 1], b' ' | b':' | b'.' | b',' | b'\t' | b'\n') {
        end -= 1;
    }
    STRONG_INTRO.iter().any(|w| {
        let w = w.as_bytes();
        end >= w.len()
            && b[end - w.len()..end].eq_ignore_ascii_case(w)
            && (end == w.len() || !b[end - w.len() - 1].is_ascii_alphabetic())
    })
}

/// A capitalized word: an uppercase letter, then lowercase letters (with `'` or `-` inside).
fn capitalized(w: &str) -> bool {
    let mut chars = w.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !first.is_uppercase() {
        return false;
    }
    let mut last = None;
    for c in chars {
        if !(c.is_lowercase() || c == '\'' || c == '-') {
            return false;
        }
        last = Some(c);
    }
    last.is_some_and(char::is_lowercase)
}

/// The lowercase words right before `at` (up to `n`), skipping `:`, `,`, `.` and line breaks.
fn words_before(s: &str, at: usize, n: usize) -> Vec<String> {
    let mut from = at.saturating_sub(40);
    while !s.is_char_boundary(from) {
        from += 1;
    }
    let hay = &s[from..at];
    hay.split(|c: char| c.is_whitespace() || c == ':' || c == ',' || c == '.')
        .filter(|w| !w.is_empty())
        .rev()
        .take(n)
        .map(str::to_lowercase)
        .collect()
}

/// Whether the name at `i` starts a line and the line before ends in a run of seven or more
/// digits (a phone or an id in the previous row of a table). A number before a name is otherwise
/// a house number (`12 Baker Street`, and on the line before in an address block: `Suite 084`,
/// then `María Albina`).
fn after_a_long_number_line(s: &str, i: usize) -> bool {
    let prev = s[..i].trim_end_matches([' ', '\t', ',', ';', '|']);
    if !prev.ends_with(['\n', '\r']) {
        return false;
    }
    let line = prev.trim_end_matches(['\n', '\r', ' ', '\t', ',', ';', '|']);
    let number = line.trim_end_matches(|c: char| {
        c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+')
    });
    line[number.len()..]
        .bytes()
        .filter(u8::is_ascii_digit)
        .count()
        >= 7
}

/// Whether the word right before `at` (as [`words_before`] splits them) can end an entry of
/// [`INTRO`], [`TITLES`] or [`STRONG_INTRO`]. Non-ASCII words answer `true` (their
/// lowercasing is left to the full test).
fn ends_an_introduction(s: &str, at: usize) -> bool {
    let b = s.as_bytes();
    let from = at.saturating_sub(40);
    let sep = |c: u8| c.is_ascii_whitespace() || matches!(c, b':' | b',' | b'.' | 0x0B);
    let mut end = at;
    while end > from && sep(b[end - 1]) {
        end -= 1;
    }
    let mut start = end;
    while start > from && !sep(b[start - 1]) {
        start -= 1;
    }
    let w = &b[start..end];
    if w.is_empty() {
        return false;
    }
    if !w.is_ascii() || (start == from && from > 0) {
        return true;
    }
    INTRO_ENDS.contains(w)
}

/// The last words of [`INTRO`], [`TITLES`] and [`STRONG_INTRO`].
static INTRO_ENDS: LazyLock<WordSet> = LazyLock::new(|| {
    WordSet::new(
        INTRO
            .iter()
            .chain(TITLES)
            .chain(STRONG_INTRO)
            .filter_map(|p| p.rsplit(' ').next()),
    )
});

/// The display name of a mail header written surname first, in quotes before the address
/// (`"Kowalski, Anna" <anna.kowalski@firma.pl>`, as Outlook writes them): the end of
/// `Kowalski, Anna` when the word at `i` opens one.
fn quoted_surname_first(s: &str, i: usize) -> Option<usize> {
    if i == 0 || s.as_bytes()[i - 1] != b'"' {
        return None;
    }
    let rest = &s[i..];
    let close = rest.find('"').filter(|&k| k <= 80)?;
    let (surname, given) = rest[..close].split_once(", ")?;
    // Capitalized words (not all capitals), no team or mailbox word (`"Billing, Support"`).
    let capitalized_words = |t: &str| {
        !t.is_empty()
            && t.split([' ', '-']).all(|w| {
                let mut c = w.chars();
                c.next().is_some_and(char::is_uppercase)
                    && c.clone().any(char::is_lowercase)
                    && c.all(|c| c.is_alphabetic() || c == '\'' || c == '.')
                    && !GROUP_WORDS_SET.contains(w.to_lowercase().as_str())
            })
    };
    let address = rest[close + 1..].strip_prefix(" <")?;
    let at = address.find('>').filter(|&k| k <= 254)?;
    (capitalized_words(surname)
        && capitalized_words(given)
        && surname.split(' ').count() <= 3
        && given.split(' ').count() <= 2
        && address[..at].contains('@')
        && !address[..at].contains(' '))
    .then_some(i + close)
}

/// A person name starting at byte `i` (a word start): the span's end and its score.
pub(crate) fn person_at(s: &str, i: usize) -> Option<(usize, f32)> {
    let b = s.as_bytes();
    // Glued to code punctuation: an identifier, a path, a call (but `customer_name=Ana …`).
    if i > 0
        && b"._/\\=(<[{@#$`*".contains(&b[i - 1])
        && !(b[i - 1] == b'=' && name_field_before(s, i))
    {
        return None;
    }
    if let Some(end) = quoted_surname_first(s, i) {
        return Some((end, 0.85));
    }
    // A lone word (the next one is not capitalized) is a name only after an introduction:
    // decided here for ASCII words, before any lookup.
    let e = i + b[i..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic() || **c == b'\'' || **c == b'-')
        .count();
    let lone = match b.get(e) {
        None => true,
        Some(b' ') => !b
            .get(e + 1)
            .is_some_and(|c| c.is_ascii_uppercase() || *c >= 0x80),
        Some(c) => *c < 0x80,
    };
    // A value under a field that holds a person's name (`"first_name": "Maria"`,
    // `customer_name=…`, `<lastName>…`): the field is the introduction.
    let field = name_field_before(s, i) || (lone && table_name_column(s, i));
    if lone && !field && !ends_an_introduction(s, i) {
        return None;
    }
    let mut words: StackVec<(usize, usize), 4> = StackVec::default();
    let mut k = i;
    while words.len() < 4 {
        let end = s[k..]
            .char_indices()
            .find(|(_, c)| !(c.is_alphabetic() || *c == '\'' || *c == '-'))
            .map_or(s.len(), |(o, _)| k + o);
        let w = &s[k..end];
        // A middle initial (`Faina D. Yefremova`, `Ravil G Yefimov`).
        let initial = !words.is_empty() && w.len() == 1 && b[k].is_ascii_uppercase();
        if end == k || !(capitalized(w) || initial) {
            break;
        }
        let after = if initial && b.get(end) == Some(&b'.') {
            end + 1
        } else {
            end
        };
        if initial {
            // An initial must be followed by the surname.
            if b.get(after) != Some(&b' ') {
                break;
            }
        } else {
            words.push((k, end));
        }
        if b.get(after) == Some(&b' ')
            && b.get(after + 1)
                .is_some_and(|c| c.is_ascii_uppercase() || *c >= 0x80)
        {
            k = after + 1;
        } else if b.get(after) == Some(&b' ')
            && let Some(next) = after_particles(s, after + 1)
        {
            // Surname particles (`Pieter de Vries`, `Maria de la Cruz`) before a capitalized
            // word.
            k = next;
        } else {
            break;
        }
    }
    let &(_, end) = words.last()?;
    // Words that follow introductions but name no one (`Dear Customer`, `Hi Team`).
    if NOT_NAMES_SET.contains(&s[words[0].0..words[0].1]) {
        return None;
    }
    if matches!(b.get(end), Some(b'_' | b'(' | b'[' | b'=' | b'/' | b'@'))
        || (b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_alphanumeric))
    {
        return None;
    }
    // Cheap tests first. Below a first-name + surname pair, a score needs an introduction or
    // a title, and each of those ends with the word right before the run; then a word of the
    // run must be a known name, or a strong introduction come right before it. Most
    // capitalized words (sentence starts, places, brands) stop here, unallocated.
    // A name before an address in angle brackets (`From: Anthony Kortig <ak@example.com>`).
    let mail_after = s[end..].strip_prefix(" <").is_some_and(|r| {
        r.find('>')
            .is_some_and(|k| k <= 254 && r[..k].contains('@') && !r[..k].contains(' '))
    });
    let field = field || mail_after;
    let introduced = field || ends_an_introduction(s, i);
    let pair_known = words.len() >= 2
        && NAMES.first.contains(&s[words[0].0..words[0].1])
        && NAMES
            .last
            .contains(&s[words[words.len() - 1].0..words[words.len() - 1].1]);
    // A known given name and a capitalized word that could be a surname (`Anthony Kortig`):
    // a person at a lower score, unless a word of it names a place (`Jordan River`).
    // Not a street (`Vila Miguel Tavares 1160`), an organization (`Wolfram Research`) or a
    // two-word place (`El Salvador`).
    let given_and_surname = !pair_known && words.len() == 2 && {
        let (w0, w1) = (&s[words[0].0..words[0].1], &s[words[1].0..words[1].1]);
        let lower1 = w1.to_lowercase();
        NAMES.first.contains(w0)
            && w0.chars().count() >= 3
            && w1.chars().count() >= 3
            && !ORGANIZATION_WORDS_SET.contains(lower1.as_str())
            && !NOT_PERSON_AFTER_SET.contains(lower1.as_str())
            && !s[words[1].1..]
                .trim_start_matches([' ', ','])
                .starts_with(|c: char| c.is_ascii_digit())
            && !super::place::is_place_name(w0)
            && !super::place::is_place_name(w1)
            && !super::place::is_place_name(&s[words[0].0..words[1].1])
    };
    if !pair_known && !introduced && !given_and_surname {
        return None;
    }
    let known = |w: &str| NAMES.first.contains(w) || NAMES.last.contains(w);
    if !pair_known
        && !field
        && !words.iter().any(|&(a, z)| known(&s[a..z]))
        && !strong_intro_before(s, i)
    {
        return None;
    }
    // A street, place or company name: `Marina Fort Street`, `Miller Ltd`.
    let last_word = s[words[words.len() - 1].0..end].to_lowercase();
    let next_word: String = s[end..]
        .trim_start_matches([' ', '.'])
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("")
        .to_lowercase();
    if NOT_PERSON_AFTER_SET.contains(last_word.as_str())
        || NOT_PERSON_AFTER_SET.contains(next_word.as_str())
        || GROUP_WORDS_SET.contains(last_word.as_str())
    {
        return None;
    }
    let names = &*NAMES;
    let word = |k: usize| &s[words[k].0..words[k].1];
    let first_known = names.first.contains(word(0));
    let last_known = words.len() >= 2 && names.last.contains(word(words.len() - 1));
    let before = words_before(s, i, 3);
    let pair = pair_known;
    let two = |a: usize, b: usize| {
        format!(
            "{} {}",
            before.get(b).map_or("", String::as_str),
            before.get(a).map_or("", String::as_str)
        )
    };
    // The two words before, for the introductions and strong introductions of two words.
    let two_before = two(0, 1);
    let intro = before
        .first()
        .is_some_and(|w| INTRO_SET.contains(w.as_str()))
        || INTRO_SET.contains(two_before.trim())
        || INTRO_SET.contains(
            format!(
                "{} {}",
                two(1, 2).trim(),
                before.first().map_or("", String::as_str)
            )
            .trim(),
        );
    // (`Ship to: Anthony Kortig`: an introduction ending in `to` is not a place's `to`.)
    if let Some(w) = before.first()
        && ((!field && w.bytes().all(|c| c.is_ascii_digit()) && !after_a_long_number_line(s, i))
            || STREET_BEFORE_SET.contains(w.as_str())
            || (!pair && !field && !intro && NOT_PERSON_BEFORE_SET.contains(w.as_str())))
    {
        return None;
    }
    let title = before
        .first()
        .is_some_and(|w| TITLES_SET.contains(w.as_str()));
    let strong = field
        || before
            .first()
            .is_some_and(|w| STRONG_INTRO_SET.contains(w.as_str()))
        || STRONG_INTRO_SET.contains(two_before.trim());
    let score = match (words.len(), first_known, last_known) {
        (n, true, true) if n >= 2 => {
            if intro {
                0.9
            } else {
                0.75
            }
        }
        (1, true, _) if intro => 0.7,
        (1, false, _) if title && names.last.contains(word(0)) => 0.8,
        (n, false, true) if n >= 2 && (intro || title) => 0.75,
        (n, true, false) if n >= 2 && intro => 0.7,
        (2, true, false) if given_and_surname => 0.6,
        _ if strong => 0.7,
        _ => return None,
    };
    Some((end, score))
}

/// Introductions in Chinese, Japanese and Korean, which write no space before the name.
const CJK_INTROS: &[&str] = &[
    "我叫",
    "我的名字是",
    "我的名字叫",
    "本人叫",
    "私の名前は",
    "僕の名前は",
    "わたしの名前は",
    "제 이름은",
    "내 이름은",
    "저의 이름은",
];

/// Korean endings glued to a name (`김민수입니다`: "I am Kim Min-su").
const KO_ENDINGS: &[&str] = &[
    "입니다",
    "이에요",
    "이예요",
    "예요",
    "이야",
    "이고",
    "이라고",
    "라고",
    "이요",
    "요",
    "야",
];

fn han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

fn katakana(c: char) -> bool {
    matches!(c, '\u{30A0}'..='\u{30FF}')
}

fn hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}')
}

/// A name introduced at byte `i` by a Chinese, Japanese or Korean phrase (`我叫王伟`,
/// `私の名前は山田太郎です`, `제 이름은 김민수입니다`): the name's byte range. Chinese names
/// are two to four Han characters ending the run; Japanese ones up to eight Han or katakana
/// characters (a space between family and given name allowed); Korean ones two to four
/// syllables before an ending.
pub(crate) fn cjk_intro(s: &str, i: usize) -> Option<Range<usize>> {
    let rest = &s[i..];
    let intro = CJK_INTROS.iter().find(|p| rest.starts_with(*p))?;
    let mut at = i + intro.len();
    at += s[at..].len() - s[at..].trim_start_matches([' ', ':', '：', '　']).len();
    let run_end = |ok: &dyn Fn(char) -> bool, spaces: bool| {
        let mut end = at;
        let mut chars = 0;
        for (o, c) in s[at..].char_indices() {
            if ok(c) || (spaces && chars > 0 && matches!(c, ' ' | '　')) {
                chars += 1;
                end = at + o + c.len_utf8();
            } else {
                break;
            }
        }
        (end, chars)
    };
    let first = s[at..].chars().next()?;
    if hangul(first) {
        let (end, _) = run_end(&hangul, false);
        let word = &s[at..end];
        let name = KO_ENDINGS
            .iter()
            .find_map(|e| word.strip_suffix(e))
            .unwrap_or(word);
        let n = name.chars().count();
        return (2..=4).contains(&n).then(|| at..at + name.len());
    }
    if intro.contains('の') {
        let (end, n) = run_end(&|c| han(c) || katakana(c), true);
        let end = at + s[at..end].trim_end_matches([' ', '　']).len();
        return (2..=9).contains(&n).then_some(at..end);
    }
    let (end, n) = run_end(&han, false);
    (2..=4).contains(&n).then_some(at..end)
}

/// Whether `b` starts with one of [`CJK_INTROS`].
pub(crate) fn starts_cjk_intro(b: &[u8]) -> bool {
    CJK_INTROS.iter().any(|p| b.starts_with(p.as_bytes()))
}
