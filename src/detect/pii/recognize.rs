//! The structured PII recognizers: one pass over the bytes of a view, dispatching on the
//! characters that can start an identifier (digits, `+`, `@`, `:`, capitals at a word start),
//! then shape checks, check digits and context words.

use std::ops::Range;

use super::checksum;
use super::entity::Entity;
use super::person;
use super::stack::StackVec;
use super::wordset::Literals;

/// A recognized value: its entity, byte range in the view, and score.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Candidate {
    pub(crate) entity: Entity,
    pub(crate) range: Range<usize>,
    pub(crate) score: f32,
    /// For national identifiers: the index of the type in the table.
    pub(crate) detail: u16,
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn word_start(b: &[u8], i: usize) -> bool {
    i == 0 || !(is_alnum(b[i - 1]) || b[i - 1] == b'_')
}

fn word_end(b: &[u8], j: usize) -> bool {
    j >= b.len() || !(is_alnum(b[j]) || b[j] == b'_')
}

/// Bytes where a recognizer can start (or be noticed): digits, `+ ( @ : - .` and capitals.
static TRIGGER: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = true;
        c += 1;
    }
    let mut c = b'A';
    while c <= b'Z' {
        t[c as usize] = true;
        c += 1;
    }
    t[b'+' as usize] = true;
    t[b'(' as usize] = true;
    t[b'@' as usize] = true;
    t[b':' as usize] = true;
    t[b'-' as usize] = true;
    t[b'.' as usize] = true;
    // UTF-8 lead bytes: words of other scripts may be names.
    let mut c = 0xC0usize;
    while c < 0xF8 {
        t[c] = true;
        c += 1;
    }
    t
};

const NOT_PHONE_BIT: u32 = 1 << 30;

/// How close before a number a word such as `order` must stand to outweigh a phone word.
const NEAR_NOT_PHONE: usize = 24;

/// Function words that start sentences and never a person's name, a place or a street
/// (words that are also names, `Will`, `May`, `Hope`, `Nice`, romanized surnames, `An`, `Do`,
/// `He`, `Ok`, `So`, `To`, and the articles and particles of names, `The Hague`, `La Paz`,
/// `San Diego`, `Van`, are not among them).
static COMMON_CAPITALIZED: std::sync::LazyLock<super::words::WordSet> =
    std::sync::LazyLock::new(|| {
        super::words::WordSet::new([
            "a", "after", "all", "also", "am", "and", "any", "are", "as", "at", "be", "because",
            "before", "but", "by", "can", "could", "did", "does", "each", "every", "for", "from",
            "had", "has", "have", "hello", "her", "here", "hey", "hi", "his", "how", "i", "if",
            "in", "is", "it", "its", "just", "let", "me", "my", "no", "not", "now", "of", "on",
            "or", "our", "please", "she", "should", "some", "thank", "thanks", "that", "then",
            "there", "these", "they", "this", "those", "was", "we", "were", "what", "when",
            "where", "which", "who", "why", "with", "would", "yes", "you", "your",
        ])
    });

/// Every entity's context words, and the phone hints, in one case-insensitive automaton,
/// searched in the window before each candidate.
pub(crate) struct ContextWords {
    words: Literals,
    masks: Vec<u32>,
}

impl ContextWords {
    pub(crate) fn new() -> ContextWords {
        let mut words: Vec<(&'static str, u32)> = Vec::new();
        let mut add = |w: &'static str, bit: u32| match words.iter_mut().find(|(x, _)| *x == w) {
            Some((_, m)) => *m |= bit,
            None => words.push((w, bit)),
        };
        for e in Entity::ALL {
            for w in e.context_words() {
                add(w, 1 << e as u32);
            }
        }
        for w in NOT_PHONE {
            add(w, NOT_PHONE_BIT);
        }
        let list: Vec<&str> = words.iter().map(|(w, _)| *w).collect();
        ContextWords {
            words: Literals::new(&list).expect("the built-in context words fit the DFA limit"),
            masks: words.iter().map(|(_, m)| *m).collect(),
        }
    }

    /// The OR of the masks of the context words in `s[from..to]` (whole words of `s`).
    fn mask_in(&self, s: &str, from: usize, to: usize) -> u32 {
        let b = s.as_bytes();
        let mut from = from.min(to);
        while !s.is_char_boundary(from) {
            from += 1;
        }
        let mut to = to.min(s.len());
        while !s.is_char_boundary(to) {
            to -= 1;
        }
        if from >= to {
            return 0;
        }
        let mut mask = 0;
        for (start, end, word) in self.words.find_iter(b, from, to) {
            if (start == 0 || !b[start - 1].is_ascii_alphabetic())
                && b.get(end).is_none_or(|c| !c.is_ascii_alphabetic())
            {
                mask |= self.masks[word];
            }
        }
        mask
    }
}

/// The scanner's settings.
pub(crate) struct Scan<'a> {
    pub(crate) window: usize,
    pub(crate) enabled: &'a [bool; Entity::COUNT],
    pub(crate) words: &'a ContextWords,
    /// The last window asked about: (position, mask of the context words before it).
    pub(crate) cache: std::cell::Cell<(usize, u32)>,
}

impl Scan<'_> {
    fn on(&self, e: Entity) -> bool {
        self.enabled[e as usize]
    }

    /// Whether a context word of `mask` lies in the window before `at`.
    fn before(&self, s: &str, at: usize, mask: u32) -> bool {
        let (pos, m) = self.cache.get();
        let m = if pos == at && at != usize::MAX {
            m
        } else {
            let m = self.words.mask_in(s, at.saturating_sub(self.window), at);
            self.cache.set((at, m));
            m
        };
        m & mask != 0
    }

    /// Whether a word that says "phone" (`-Office`, ` fax`) starts within three bytes after
    /// `end`.
    fn phone_word_after(&self, s: &str, end: usize) -> bool {
        let b = s.as_bytes();
        (end..b.len().min(end + 4)).any(|k| {
            if !b[k].is_ascii_alphabetic() || (k > 0 && b[k - 1].is_ascii_alphabetic()) {
                return false;
            }
            let z = b[k..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            PHONE_AFTER
                .iter()
                .any(|w| w.as_bytes().eq_ignore_ascii_case(&b[k..k + z]))
        })
    }

    fn ctx(&self, s: &str, at: usize, e: Entity) -> bool {
        self.before(s, at, 1 << e as u32)
    }

    /// Every candidate in `s`, in order of start.
    pub(crate) fn run(&mut self, s: &str, out: &mut Vec<Candidate>) {
        self.cache.set((usize::MAX, 0));
        let b = s.as_bytes();
        let hex = |k: usize| b[k].is_ascii_hexdigit();
        let mut i = 0;
        let mut bytewise_until = 0;
        while i < b.len() {
            // Lowercase letters, spaces and most punctuation start nothing: skip them fast.
            if !TRIGGER[b[i] as usize] {
                i += 1;
                if i < bytewise_until {
                    continue;
                }
                // Then eight bytes at a time while none is ASCII `(`..`Z` (the range of every
                // ASCII trigger) or non-ASCII. An ASCII chunk jumps to its first byte in that
                // range; a chunk with a non-ASCII byte is read one by one.
                const ONES: u64 = 0x0101_0101_0101_0101;
                const HIGH: u64 = 0x8080_8080_8080_8080;
                bytewise_until = usize::MAX;
                while let Some(chunk) = b.get(i..i + 8) {
                    let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0x80; 8]));
                    if x & HIGH != 0 {
                        bytewise_until = i + 8;
                        break;
                    }
                    // ASCII bytes do not carry: the high bit of a byte of `x + 0x58` says it is
                    // `≥ 0x28`, that of `x + 0x25` says `≥ 0x5B`, byte by byte.
                    let m = (x + ONES * 0x58) & !(x + ONES * 0x25) & HIGH;
                    if m != 0 {
                        i += (m.trailing_zeros() / 8) as usize;
                        bytewise_until = i + 1;
                        break;
                    }
                    i += 8;
                }
                continue;
            }
            let c = b[i];
            let next = match c {
                b'0'..=b'9' | b'+' | b'(' if word_start(b, i) => self.at_number(s, i, out),
                // `bc1…`/`tb1…` wallets and lowercase IBANs: a digit after two lowercase
                // letters at a word start.
                b'0'..=b'9'
                    if i >= 2
                        && word_start(b, i - 2)
                        && b[i - 2].is_ascii_lowercase()
                        && b[i - 1].is_ascii_lowercase() =>
                {
                    self.at_word(s, i - 2, out)
                }
                // `a56319335`: one lowercase letter, then digits (licence and passport numbers).
                b'0'..=b'9' if i >= 1 && word_start(b, i - 1) && b[i - 1].is_ascii_lowercase() => {
                    self.at_word(s, i - 1, out)
                }
                b'@' => {
                    self.email(s, i, out);
                    i + 1
                }
                b':' => {
                    if i >= 2
                        && word_start(b, i - 2)
                        && hex(i - 2)
                        && hex(i - 1)
                        && self.mac(s, i - 2, out).is_some()
                    {
                        i + 15
                    } else {
                        self.at_colon(s, i, out)
                    }
                }
                b'-' if i >= 2 && word_start(b, i - 2) && hex(i - 2) && hex(i - 1) => {
                    self.mac(s, i - 2, out).unwrap_or(i + 1)
                }
                b'.' if i >= 3
                    && word_start(b, i - 3)
                    && b[i - 3..i].eq_ignore_ascii_case(b"www") =>
                {
                    self.at_word(s, i - 3, out)
                }
                b'A'..=b'Z' if word_start(b, i) => self.at_word(s, i, out),
                // A name after a Chinese, Japanese or Korean introduction (`我叫王伟`).
                0xE3..=0xED if self.on(Entity::Person) && person::starts_cjk_intro(&b[i..]) => {
                    match person::cjk_intro(s, i) {
                        Some(r) => {
                            let end = r.end;
                            self.push(out, Entity::Person, r, 0.85);
                            end
                        }
                        None => i + 3,
                    }
                }
                0xC0..
                    if (self.on(Entity::Person) || self.on(Entity::Location))
                        && (i == 0
                            || !s[..i]
                                .chars()
                                .next_back()
                                .is_some_and(char::is_alphanumeric))
                        && s[i..].chars().next().is_some_and(char::is_uppercase) =>
                {
                    if self.on(Entity::Location)
                        && let Some(r) = super::place::street_address_at(s, i)
                    {
                        let end = r.end;
                        self.push(out, Entity::Location, r, 0.85);
                        i = end;
                        continue;
                    }
                    let person = self
                        .on(Entity::Person)
                        .then(|| person::person_at(s, i))
                        .flatten();
                    let place = || {
                        self.on(Entity::Location)
                            .then(|| super::place::place_at(s, i))
                            .flatten()
                    };
                    match (person, person.is_none().then(place).flatten()) {
                        (Some((end, score)), _) => {
                            self.push(out, Entity::Person, i..end, score);
                            end
                        }
                        (None, Some((end, score))) => {
                            self.push(out, Entity::Location, i..end, score);
                            end
                        }
                        _ => i + s[i..].chars().next().map_or(1, char::len_utf8),
                    }
                }
                _ => i + 1,
            };
            i = next.max(i + 1);
        }
        out.sort_by_key(|c| (c.range.start, std::cmp::Reverse(c.range.end)));
    }

    fn push(&self, out: &mut Vec<Candidate>, entity: Entity, range: Range<usize>, score: f32) {
        if self.on(entity) && score > 0.0 {
            out.push(Candidate {
                entity,
                range,
                score: score.min(1.0),
                detail: 0,
            });
        }
    }

    /// A word starting with a letter: IBAN, UK NINO, bech32 and Ethereum-free crypto, MAC/IPv6
    /// starting with a hex letter.
    fn at_word(&self, s: &str, i: usize, out: &mut Vec<Candidate>) -> usize {
        let b = s.as_bytes();
        let mut j = i;
        while j < b.len() && is_alnum(b[j]) {
            j += 1;
        }
        let word = &b[i..j];
        if self.on(Entity::Url) && word.eq_ignore_ascii_case(b"www") && b.get(j) == Some(&b'.') {
            let end = url_end(b, j);
            if end > j + 3 {
                self.push(out, Entity::Url, i..end, 0.8);
                return end;
            }
        }
        if word.len() >= 15
            && word[0].is_ascii_lowercase()
            && word[1].is_ascii_lowercase()
            && word[2].is_ascii_digit()
            && word[3].is_ascii_digit()
            && self.ctx(s, i, Entity::Iban)
        {
            let upper = word.to_ascii_uppercase();
            if checksum::iban_length(&upper[..2]) == Some(upper.len())
                && checksum::iban_mod97(&upper)
                && checksum::bban_ok(&upper)
            {
                self.push(out, Entity::Iban, i..j, 0.9);
                return j;
            }
        }
        if word.len() >= 2 && word[0].is_ascii_uppercase() && word[1].is_ascii_uppercase() {
            if let Some(end) = self.iban(s, i, out) {
                return end;
            }
            if let Some(end) = self.nino(s, i, out) {
                return end;
            }
        }
        if (word.starts_with(b"bc1") || word.starts_with(b"tb1"))
            && word.len() >= 14
            && checksum::bech32(word)
        {
            let score = if self.ctx(s, i, Entity::CryptoWallet) {
                1.0
            } else {
                0.9
            };
            self.push(out, Entity::CryptoWallet, i..j, score);
            return j;
        }
        if word.len() >= 2
            && word[..2].iter().all(u8::is_ascii_hexdigit)
            && let Some(end) = self.mac(s, i, out)
        {
            return end;
        }
        // Identifiers that are personal data only after a word that names them.
        let before = out.len();
        let has_digit = word.iter().any(u8::is_ascii_digit);
        let bic_shape =
            (word.len() == 8 || word.len() == 11) && word[..6].iter().all(u8::is_ascii_uppercase);
        if has_digit && self.ctx(s, i, Entity::Passport) {
            self.after_keyword(s, i, Entity::Passport, out);
        }
        if out.len() == before && has_digit && self.ctx(s, i, Entity::DriversLicense) {
            self.after_keyword(s, i, Entity::DriversLicense, out);
        }
        if out.len() == before && bic_shape && self.ctx(s, i, Entity::SwiftBic) {
            self.after_keyword(s, i, Entity::SwiftBic, out);
        }
        // A month name followed by a number (`March 14`, `March 1985`) after a birth word.
        if out.len() == before
            && b[j..b.len().min(j + 4)].iter().any(u8::is_ascii_digit)
            && is_month(word)
            && self.ctx(s, i, Entity::DateOfBirth)
            && let Some(end) = month_date(s, i)
        {
            self.push(out, Entity::DateOfBirth, i..end, 0.85);
        }
        // A capitalized function word (`We`, `Could`, `Please`) starts no name, place or
        // street: one lookup spares the three searches below at most sentence starts.
        // (Only a whole word: `Anđa`, `A'isha` and `Al-Amin` go on.)
        let common = b
            .get(j)
            .is_none_or(|&c| c < 0x80 && c != b'\'' && c != b'-')
            && COMMON_CAPITALIZED.contains(word);
        if out.len() == before
            && !common
            && word[0].is_ascii_uppercase()
            && self.on(Entity::Location)
            && let Some(r) = super::place::street_address_at(s, i)
        {
            let end = r.end;
            self.push(out, Entity::Location, r, 0.85);
            return end;
        }
        if out.len() == before
            && !common
            && self.on(Entity::Person)
            && let Some((end, score)) = person::person_at(s, i)
        {
            self.push(out, Entity::Person, i..end, score);
            return end;
        }
        if out.len() == before
            && !common
            && self.on(Entity::Location)
            && let Some((end, score)) = super::place::place_at(s, i)
        {
            self.push(out, Entity::Location, i..end, score);
            return end;
        }
        match out.last() {
            Some(c) if out.len() > before => c.range.end.max(j),
            _ => j,
        }
    }

    fn iban(&self, s: &str, i: usize, out: &mut Vec<Candidate>) -> Option<usize> {
        let b = s.as_bytes();
        // The check digits right after the country code, or after one separator.
        let digits_at =
            |k: usize| k + 2 <= b.len() && b[k].is_ascii_digit() && b[k + 1].is_ascii_digit();
        if i + 4 > b.len() || !(digits_at(i + 2) || (b[i + 2] == b' ' && digits_at(i + 3))) {
            return None;
        }
        let want = checksum::iban_length(&b[i..i + 2])?;
        let mut compact: StackVec<u8, 34> = StackVec::default();
        // Strict: compact, or groups of four separated by single spaces. Loose (as people
        // and banks also write them): any single space, `.` or `-` between characters, and
        // lowercase letters.
        let mut loose = false;
        let mut j = i;
        while j < b.len() && compact.len() < want {
            let c = b[j];
            if c.is_ascii_digit() || c.is_ascii_uppercase() {
                compact.push(c);
                j += 1;
            } else if c.is_ascii_lowercase() && compact.len() >= 4 {
                compact.push(c.to_ascii_uppercase());
                loose = true;
                j += 1;
            } else if matches!(c, b' ' | b'.' | b'-')
                && j + 1 < b.len()
                && is_alnum(b[j + 1])
                && j > i
                && is_alnum(b[j - 1])
            {
                loose |= c != b' ' || !compact.len().is_multiple_of(4);
                j += 1;
            } else {
                break;
            }
        }
        if compact.len() != want
            || !word_end(b, j)
            || !checksum::iban_mod97(&compact)
            || !checksum::bban_ok(&compact)
        {
            return None;
        }
        self.push(out, Entity::Iban, i..j, if loose { 0.9 } else { 0.95 });
        Some(j)
    }

    fn nino(&self, s: &str, i: usize, out: &mut Vec<Candidate>) -> Option<usize> {
        let b = s.as_bytes();
        let mut chars: StackVec<u8, 9> = StackVec::default();
        let mut j = i;
        while j < b.len() && chars.len() < 9 {
            let c = b[j];
            if is_alnum(c) {
                chars.push(c);
                j += 1;
            } else if c == b' ' && matches!(chars.len(), 2 | 4 | 6 | 8) {
                j += 1;
            } else {
                break;
            }
        }
        let ok = chars.len() == 9
            && word_end(b, j)
            && b"ABCEGHJKLMNOPRSTWXYZ".contains(&chars[0])
            && b"ABCEGHJKLMNPRSTWXYZ".contains(&chars[1])
            && !matches!(
                &chars[..2],
                b"BG" | b"GB" | b"NK" | b"KN" | b"TN" | b"NT" | b"ZZ"
            )
            && chars[2..8].iter().all(u8::is_ascii_digit)
            && (b'A'..=b'D').contains(&chars[8]);
        if !ok {
            return None;
        }
        let score = if self.ctx(s, i, Entity::UkNino) {
            0.95
        } else {
            0.7
        };
        self.push(out, Entity::UkNino, i..j, score);
        Some(j)
    }

    fn mac(&self, s: &str, i: usize, out: &mut Vec<Candidate>) -> Option<usize> {
        let b = s.as_bytes();
        let end = i + 17;
        if end > b.len() {
            return None;
        }
        let sep = b[i + 2];
        if sep != b':' && sep != b'-' {
            return None;
        }
        for k in 0..6 {
            let p = i + k * 3;
            if !b[p].is_ascii_hexdigit() || !b[p + 1].is_ascii_hexdigit() {
                return None;
            }
            if k < 5 && b[p + 2] != sep {
                return None;
            }
        }
        if !word_end(b, end) || b.get(end) == Some(&sep) {
            return None;
        }
        self.push(out, Entity::MacAddress, i..end, 0.8);
        Some(end)
    }

    /// `:`: URL credentials (`scheme://user:pass@host`) and IPv6 addresses.
    fn at_colon(&self, s: &str, i: usize, out: &mut Vec<Candidate>) -> usize {
        let b = s.as_bytes();
        if b[i + 1..].starts_with(b"//") {
            if self.on(Entity::Url) {
                let mut a = i;
                while a > 0 && b[a - 1].is_ascii_alphabetic() && i - a < 10 {
                    a -= 1;
                }
                let scheme = s[a..i].to_ascii_lowercase();
                if matches!(scheme.as_str(), "http" | "https" | "ftp") && word_start(b, a) {
                    let end = url_end(b, i + 3);
                    if end > i + 3 {
                        self.push(out, Entity::Url, a..end, 0.85);
                    }
                }
            }
            return self.url_credentials(s, i, out).unwrap_or(i + 3);
        }
        // IPv6: hex and colons around, at least two colons.
        let near_hex = |k: usize| {
            b.get(k)
                .is_some_and(|c| c.is_ascii_hexdigit() || *c == b':')
        };
        if !(i > 0 && near_hex(i - 1) || near_hex(i + 1)) {
            return i + 1;
        }
        let mut a = i;
        while a > 0 && (b[a - 1].is_ascii_hexdigit() || b[a - 1] == b':') && i - a < 40 {
            a -= 1;
        }
        let mut z = i;
        while z < b.len()
            && (b[z].is_ascii_hexdigit() || b[z] == b':' || b[z] == b'.')
            && z - a < 46
        {
            z += 1;
        }
        while z > i && b[z - 1] == b'.' {
            z -= 1;
        }
        // Not an address: go on right after the colon, where a number may start
        // (`DOB:1985-03-14`, `Phone:4155552671`).
        if a > 0 && (is_alnum(b[a - 1]) || b[a - 1] == b'_') || !word_end(b, z) {
            return i + 1;
        }
        let cand = &s[a..z];
        if cand.matches(':').count() < 2
            || cand.parse::<std::net::Ipv6Addr>().is_err()
            || out.last().is_some_and(|c| c.range.end > a)
        {
            return i + 1;
        }
        // Not a time or a MAC address (caught before): an address with letters or `::`.
        let score = if self.ctx(s, a, Entity::IpAddress) {
            0.95
        } else {
            0.8
        };
        self.push(out, Entity::IpAddress, a..z, score);
        z.max(i + 1)
    }

    fn url_credentials(&self, s: &str, i: usize, out: &mut Vec<Candidate>) -> Option<usize> {
        let b = s.as_bytes();
        let start = i + 3;
        let mut j = start;
        let mut at = None;
        let mut colon = None;
        while j < b.len()
            && !matches!(
                b[j],
                b'/' | b'?' | b'#' | b' ' | b'\n' | b'\t' | b'"' | b'\'' | b'<' | b'>'
            )
        {
            match b[j] {
                b'@' => at = Some(j),
                b':' if at.is_none() && colon.is_none() => colon = Some(j),
                _ => {}
            }
            j += 1;
        }
        let (at, colon) = (at?, colon?);
        if colon + 1 >= at || colon == start {
            return None;
        }
        // The password (after `user:`) is the personal secret; the user name stays.
        self.push(out, Entity::UrlCredentials, colon + 1..at, 0.9);
        Some(j)
    }

    fn email(&self, s: &str, at: usize, out: &mut Vec<Candidate>) {
        let b = s.as_bytes();
        // Local part: letters of any script, digits and `._%+-'`, at most 64 bytes.
        let mut a = at;
        for (k, ch) in s[..at].char_indices().rev() {
            if (ch.is_alphanumeric() || "._%+-'".contains(ch)) && at - k <= 64 {
                a = k;
            } else {
                break;
            }
        }
        while a < at && matches!(b[a], b'.' | b'\'') {
            a += 1;
        }
        if a == at || (a > 0 && b[a - 1] == b'@') {
            return;
        }
        // Domain: labels of letters (any script), digits and `-`, dot-separated.
        let rest = &s[at + 1..];
        let mut end = 0;
        let mut dots: Vec<usize> = Vec::new();
        for (k, ch) in rest.char_indices() {
            if ch.is_alphanumeric() || ch == '-' {
                end = k + ch.len_utf8();
            } else if ch == '.' && k > 0 && end == k {
                dots.push(k);
            } else {
                break;
            }
            if k > 253 {
                break;
            }
        }
        let Some(dot) = dots.into_iter().rfind(|&d| d + 1 < end) else {
            return;
        };
        let tld = &rest[dot + 1..end];
        if tld.chars().count() < 2 || tld.chars().any(|c| c.is_ascii_digit()) {
            return;
        }
        self.push(out, Entity::Email, a..at + 1 + end, 0.95);
    }

    /// A token of digit groups: cards, SSN, SIN, NHS, phones, IPv4, dates, base58 wallets,
    /// Ethereum addresses, MACs.
    fn at_number(&self, s: &str, i: usize, out: &mut Vec<Candidate>) -> usize {
        let b = s.as_bytes();
        // Alphanumeric words that start with a digit: 0x… Ethereum, base58 wallets, MACs.
        if b[i].is_ascii_digit() {
            let mut j = i;
            while j < b.len() && is_alnum(b[j]) {
                j += 1;
            }
            let word = &b[i..j];
            if word.iter().any(u8::is_ascii_alphabetic) {
                if word.len() == 42
                    && word.starts_with(b"0x")
                    && word[2..].iter().all(u8::is_ascii_hexdigit)
                {
                    let score = if self.ctx(s, i, Entity::CryptoWallet) {
                        0.95
                    } else {
                        0.75
                    };
                    self.push(out, Entity::CryptoWallet, i..j, score);
                    return j;
                }
                if matches!(word[0], b'1' | b'3')
                    && (26..=35).contains(&word.len())
                    && checksum::base58check(word)
                {
                    self.push(out, Entity::CryptoWallet, i..j, 0.9);
                    return j;
                }
                if let Some(end) = self.mac(s, i, out) {
                    return end;
                }
                if word.len() >= 2 && b.get(i + 2) == Some(&b':') {
                    return i + 1; // maybe IPv6: the colon will be seen
                }
                return j;
            }
            if let Some(end) = self.mac(s, i, out) {
                return end;
            }
        }
        // Dates of birth written with a month name (`14 March 1985`, `march 14, 1985`) and
        // driver's-licence numbers starting with a digit, after the words that name them.
        if b[i].is_ascii_digit() && self.on(Entity::DateOfBirth) {
            // Month names of other languages and CJK dates (`14. März 1985`,
            // `14 de marzo de 1985`, `1985年3月14日`).
            if let Some(end) = foreign_date(s, i)
                && self.ctx(s, i, Entity::DateOfBirth)
            {
                self.push(out, Entity::DateOfBirth, i..end, 0.85);
                return end;
            }
            // Cheap shape first (a month word right after or right before), then context.
            let mut k = i;
            while k > 0 && b[k - 1] == b' ' {
                k -= 1;
            }
            let mut m = k;
            while m > 0 && b[m - 1].is_ascii_alphabetic() {
                m -= 1;
            }
            let month_before = m < k && is_month(&b[m..k]);
            // `D Month`: one or two digits (and a suffix such as `th`), a separator, then a
            // letter that starts a month name; only then is the date read.
            let day_first = if month_before || !day_then_month_letter(b, i) {
                None
            } else {
                month_date(s, i)
            };
            if (month_before || day_first.is_some())
                && self.ctx(s, if month_before { m } else { i }, Entity::DateOfBirth)
            {
                if let Some(end) = day_first {
                    self.push(out, Entity::DateOfBirth, i..end, 0.85);
                    return end;
                }
                if let Some(end) = month_date(s, m) {
                    self.push(out, Entity::DateOfBirth, m..end, 0.85);
                    return end;
                }
            }
        }
        if b[i].is_ascii_digit() && self.on(Entity::DriversLicense) {
            // A licence number has five or more characters (or dash-joined groups).
            let mut z = i;
            while z < b.len()
                && (is_alnum(b[z]) || (b[z] == b'-' && b.get(z + 1).is_some_and(|c| is_alnum(*c))))
            {
                z += 1;
            }
            if z - i >= 5 && self.ctx(s, i, Entity::DriversLicense) {
                let before = out.len();
                self.after_keyword(s, i, Entity::DriversLicense, out);
                if let Some(c) = out.get(before) {
                    return c.range.end;
                }
            }
        }
        // Digit groups with one- or two-character separators.
        let mut groups: StackVec<Range<usize>, 12> = StackVec::default();
        let mut j = i;
        let plus = b[j] == b'+';
        if plus || b[j] == b'(' {
            j += 1;
        }
        loop {
            let g0 = j;
            while j < b.len() && b[j].is_ascii_digit() && j - g0 < 20 {
                j += 1;
            }
            if j == g0 {
                break;
            }
            groups.push(g0..j);
            if groups.len() >= 12 {
                break;
            }
            // A separator: one of ` -./()` (at most two of them, e.g. `) ` or ` - `).
            let mut k = j;
            while k < b.len()
                && k - j < 3
                && matches!(b[k], b' ' | b'-' | b'.' | b'/' | b'(' | b')')
            {
                k += 1;
            }
            if k == j
                || k >= b.len()
                || !b[k].is_ascii_digit()
                || b[j..k].windows(2).any(|w| w[0] == w[1] && w[0] != b' ')
            {
                break;
            }
            j = k;
        }
        let Some(last) = groups.last() else {
            return i + 1;
        };
        let token_end = last.end;
        let attached_ext = b.get(token_end) == Some(&b'x') && {
            let mut d = token_end + 1;
            while d < b.len() && b[d].is_ascii_digit() {
                d += 1;
            }
            d > token_end + 1 && d - token_end <= 7 && word_end(b, d)
        };
        if !word_end(b, token_end) && !attached_ext {
            return token_end;
        }
        // Try the longest runs of groups first, left to right.
        let n = groups.len();
        // A sub-run of groups may only be cut where a space separates groups: `1.2.3.4.5` holds
        // no IP address, `555-123-4567-8901` no phone number.
        let cut_ok =
            |k: usize| k == 0 || k == n || b[groups[k - 1].end..groups[k].start].contains(&b' ');
        let mut g = 0;
        while g < n {
            let mut found = None;
            if !cut_ok(g) {
                g += 1;
                continue;
            }
            for h in (g + 1..=n).rev().filter(|&h| cut_ok(h)) {
                let first_start = if g == 0 && (plus || b[i] == b'(') {
                    i
                } else {
                    groups[g].start
                };
                let range = first_start..groups[h - 1].end;
                if (h < n || word_end(b, range.end) || attached_ext)
                    && let Some(end) = self.classify(s, &groups[g..h], range, plus && g == 0, out)
                {
                    found = Some((h, end));
                    break;
                }
            }
            match found {
                Some((h, _)) => g = h,
                None => g += 1,
            }
        }
        token_end
    }

    /// Classifies digit groups `gs` spanning `range`; pushes the candidate and returns its end.
    fn classify(
        &self,
        s: &str,
        gs: &[Range<usize>],
        range: Range<usize>,
        plus: bool,
        out: &mut Vec<Candidate>,
    ) -> Option<usize> {
        let b = s.as_bytes();
        let n: usize = gs.iter().map(|g| g.len()).sum();
        if n > 19 || gs.len() > 12 {
            return None;
        }
        // On the stack: at most 19 digits and 12 groups.
        let mut digit_buf = [0u8; 19];
        let mut k = 0;
        for g in gs {
            digit_buf[k..k + g.len()].copy_from_slice(&b[g.clone()]);
            k += g.len();
        }
        let digits = &digit_buf[..n];
        let mut len_buf = [0usize; 12];
        for (i, g) in gs.iter().enumerate() {
            len_buf[i] = g.len();
        }
        let lens = &len_buf[..gs.len()];
        let mut sep_buf: [&[u8]; 11] = [&[]; 11];
        for (i, w) in gs.windows(2).enumerate() {
            sep_buf[i] = &b[w[0].end..w[1].start];
        }
        let seps = &sep_buf[..gs.len().saturating_sub(1)];
        let uniform = seps.windows(2).all(|w| w[0] == w[1]);
        let sep_is = |c: &[u8]| seps.iter().all(|s| *s == c);
        let start = range.start;
        // IPv4: four dotted octets.
        if gs.len() == 4 && sep_is(b".") && !plus {
            let ok = gs.iter().all(|g| {
                let t = &s[g.clone()];
                t.len() <= 3
                    && t.parse::<u16>().is_ok_and(|v| v <= 255)
                    && (t.len() == 1 || !t.starts_with('0'))
            });
            if ok && b.get(range.end) != Some(&b'.') {
                // Loopback, "any", broadcast and the public DNS resolvers are nobody's address.
                if not_personal_ipv4(&s[range.clone()]) {
                    return Some(range.end);
                }
                let score = if self.ctx(s, start, Entity::IpAddress) {
                    0.95
                } else {
                    0.75
                };
                self.push(out, Entity::IpAddress, range.clone(), score);
                return Some(range.end);
            }
            return None;
        }
        // Dates: d/m/y, m/d/y, y-m-d — a date of birth only after a birth context word.
        let dateish = gs.len() == 3
            && uniform
            && matches!(seps.first().copied(), Some(b"/") | Some(b"-") | Some(b"."))
            && ((lens[0] <= 2 && lens[1] <= 2 && (lens[2] == 4 || lens[2] == 2))
                || (lens[0] == 4 && lens[1] <= 2 && lens[2] <= 2));
        if dateish {
            if self.ctx(s, start, Entity::DateOfBirth) {
                self.push(out, Entity::DateOfBirth, range.clone(), 0.85);
                return Some(range.end);
            }
            return None;
        }
        if !(7..=19).contains(&n) {
            return None;
        }
        if digits.iter().all(|&d| d == digits[0]) {
            return None;
        }
        // Cards: 12–19 digits, grouped uniformly (or not at all): Luhn and a known brand, or
        // next to a card word (Luhn-valid or not: a number someone calls their card is one).
        let card_shape = (12..=19).contains(&n)
            && !plus
            && (gs.len() == 1 || (uniform && (sep_is(b" ") || sep_is(b"-"))));
        if card_shape {
            let grouped_ok = gs.len() == 1
                || lens[..lens.len() - 1].iter().all(|&l| l == 4)
                || lens == [4, 6, 5]
                || lens == [4, 6, 4];
            let luhn = checksum::luhn(digits);
            let card_ctx = self.ctx(s, start, Entity::CreditCard);
            let score = match (luhn && n >= 13 && card_brand(digits), luhn, card_ctx) {
                (true, _, true) => 1.0,
                (true, _, false) => 0.9,
                (false, true, true) => 0.85,
                (false, false, true) => 0.6,
                _ => 0.0,
            };
            if grouped_ok && score > 0.0 {
                self.push(out, Entity::CreditCard, range.clone(), score);
                return Some(range.end);
            }
        }
        // Nine digits: US SSN (3-2-4) or Canadian SIN (3-3-3), or plain with context.
        if n == 9 && !plus {
            let ssn_shape = lens == [3, 2, 4]
                && uniform
                && (sep_is(b"-") || (sep_is(b" ") && self.ctx(s, start, Entity::UsSsn)));
            let sin_shape = lens == [3, 3, 3] && uniform && (sep_is(b"-") || sep_is(b" "));
            let plain = gs.len() == 1;
            let ssn_ctx = self.ctx(s, start, Entity::UsSsn);
            let sin_ctx = self.ctx(s, start, Entity::CaSin);
            if (ssn_shape || (plain && ssn_ctx && !sin_ctx)) && valid_ssn(digits) {
                let score = match (ssn_shape, ssn_ctx) {
                    (true, true) => 1.0,
                    (true, false) => 0.85,
                    _ => 0.8,
                };
                self.push(out, Entity::UsSsn, range.clone(), score);
                return Some(range.end);
            }
            let phone_ctx =
                self.ctx(s, start, Entity::Phone) || self.phone_word_after(s, range.end);
            if (sin_shape && (sin_ctx || !phone_ctx) || (plain && sin_ctx)) && valid_sin(digits) {
                let score = match (sin_shape, sin_ctx) {
                    (true, true) => 1.0,
                    (true, false) => 0.8,
                    _ => 0.8,
                };
                self.push(out, Entity::CaSin, range.clone(), score);
                return Some(range.end);
            }
            if plain && self.ctx(s, start, Entity::Passport) {
                self.push(out, Entity::Passport, range.clone(), 0.85);
                return Some(range.end);
            }
        }
        // Ten digits with an NHS context.
        if n == 10
            && !plus
            && (gs.len() == 1 || lens == [3, 3, 4])
            && self.ctx(s, start, Entity::UkNhs)
            && checksum::nhs(digits)
        {
            self.push(out, Entity::UkNhs, range.clone(), 0.9);
            return Some(range.end);
        }
        // Phones: the shape sets a base score, words around it decide.
        if seps.iter().any(|s| *s == b"/") || !(7..=15).contains(&n) {
            return None;
        }
        let phone_ctx = self.ctx(s, start, Entity::Phone) || self.phone_word_after(s, range.end);
        // `order`, `invoice`, `ticket`…: the number is theirs, unless a phone word names it and
        // they stand further off (`Order 48213377, call us on 020 7946 0958`).
        let negative = self.before(s, start, NOT_PHONE_BIT)
            && (!phone_ctx
                || self
                    .words
                    .mask_in(s, start.saturating_sub(NEAR_NOT_PHONE), start)
                    & NOT_PHONE_BIT
                    != 0);
        let nanp = (n == 10 || (n == 11 && digits[0] == b'1'))
            && {
                let d = if n == 11 { &digits[1..] } else { digits };
                (b'2'..=b'9').contains(&d[0]) && (b'2'..=b'9').contains(&d[3])
            }
            && (gs.len() == 1 || matches!(lens, [3, 3, 4] | [1, 3, 3, 4]));
        let base: f32 = if plus && (8..=15).contains(&n) && digits[0] != b'0' {
            0.75
        } else if nanp && gs.len() > 1 {
            0.7
        } else if gs.len() > 1 && lens.iter().all(|&l| l <= 5) {
            0.35
        } else if nanp || (10..=12).contains(&n) && digits[0] == b'0' {
            0.3
        } else {
            0.15
        };
        let mut score = base + if phone_ctx { 0.35 } else { 0.0 };
        if negative {
            score -= 0.4;
        }
        if score >= 0.3 {
            let end = extension_end(b, range.end);
            self.push(out, Entity::Phone, range.start..end, score);
            return Some(end);
        }
        None
    }

    fn after_keyword(&self, s: &str, from: usize, e: Entity, out: &mut Vec<Candidate>) {
        let b = s.as_bytes();
        // Skip up to four short filler words (`number`, `no.`, `is`, `:`, `#`).
        let mut i = from;
        let mut words = 0;
        while i < b.len() && words <= 4 {
            while i < b.len()
                && matches!(
                    b[i],
                    b' ' | b':' | b'#' | b'=' | b'\t' | b'-' | b'.' | b'\'' | b'"'
                )
            {
                i += 1;
            }
            let mut j = i;
            while j < b.len() && (is_alnum(b[j])) {
                j += 1;
            }
            if j == i {
                return;
            }
            let w = &b[i..j];
            let has_digit = w.iter().any(u8::is_ascii_digit);
            match e {
                Entity::Passport
                    if has_digit
                        && (6..=10).contains(&w.len())
                        && w.iter()
                            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) =>
                {
                    self.push(out, e, i..j, 0.85);
                    return;
                }
                Entity::DriversLicense
                    if has_digit && (w.len() >= 5 || b.get(j) == Some(&b'-')) && w.len() <= 20 =>
                {
                    // Allow `A1234-5678-9012` style: extend over dash-joined alnum groups.
                    let mut z = j;
                    while z + 1 < b.len() && b[z] == b'-' && is_alnum(b[z + 1]) {
                        z += 1;
                        while z < b.len() && is_alnum(b[z]) {
                            z += 1;
                        }
                    }
                    self.push(out, e, i..z, 0.8);
                    return;
                }
                Entity::SwiftBic
                    if (w.len() == 8 || w.len() == 11)
                        && w[..6].iter().all(u8::is_ascii_uppercase)
                        && w[6..]
                            .iter()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                        && checksum::iban_length(&w[4..6]).is_some()
                            | matches!(
                                &w[4..6],
                                b"US"
                                    | b"CA"
                                    | b"AU"
                                    | b"JP"
                                    | b"CN"
                                    | b"IN"
                                    | b"SG"
                                    | b"HK"
                                    | b"NZ"
                                    | b"ZA"
                                    | b"MX"
                            ) =>
                {
                    self.push(out, e, i..j, 0.85);
                    return;
                }
                Entity::DateOfBirth => {
                    if let Some(end) = month_date(s, i) {
                        self.push(out, e, i..end, 0.85);
                        return;
                    }
                }
                _ => {}
            }
            if has_digit {
                return;
            }
            i = j;
            words += 1;
        }
    }
}

/// The end of a URL starting at `from`: up to whitespace, quotes or brackets, without the
/// sentence punctuation that follows it.
fn url_end(b: &[u8], from: usize) -> usize {
    let mut j = from;
    while j < b.len()
        && !matches!(
            b[j],
            b' ' | b'\t'
                | b'\n'
                | b'\r'
                | b'"'
                | b'\''
                | b'<'
                | b'>'
                | b'`'
                | b'('
                | b')'
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'|'
                | b'\\'
        )
        && j - from < 2048
    {
        j += 1;
    }
    while j > from && matches!(b[j - 1], b'.' | b',' | b';' | b':' | b'!' | b'?') {
        j -= 1;
    }
    j
}

/// Words before a number that say it is not a phone number.
const NOT_PHONE: &[&str] = &[
    "order",
    "invoice",
    "tracking",
    "account",
    "isbn",
    "ref",
    "version",
    "serial",
    "ticket",
    "po",
    "sku",
    "id",
    "mrn",
    "claim",
    "booking",
    "confirmation",
    "transaction",
    "receipt",
    "reference",
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Whether `w` is a month name or its abbreviation (`Mar`, `Sept.`).
fn is_month(w: &[u8]) -> bool {
    let w = w.strip_suffix(b".").unwrap_or(w);
    (3..=9).contains(&w.len())
        && b"jfmasondJFMASOND".contains(&w[0])
        && MONTHS
            .iter()
            .any(|m| m.len() >= w.len() && m.as_bytes()[..w.len()].eq_ignore_ascii_case(w))
}

/// Month names of other languages, lowercase (Polish and Russian in the genitive a date uses).
const FOREIGN_MONTHS: &[&str] = &[
    // Spanish, Portuguese, Italian, French
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "setiembre",
    "octubre",
    "noviembre",
    "diciembre",
    "janeiro",
    "fevereiro",
    "março",
    "marco",
    "maio",
    "junho",
    "julho",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
    "gennaio",
    "febbraio",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "settembre",
    "ottobre",
    "dicembre",
    "janvier",
    "février",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "aout",
    "octobre",
    "décembre",
    "decembre",
    // German, Dutch, Swedish
    "januar",
    "jänner",
    "februar",
    "märz",
    "maerz",
    "april",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "dezember",
    "januari",
    "februari",
    "maart",
    "mei",
    "augustus",
    "december",
    "maj",
    "augusti",
    // Polish, Russian, Turkish
    "stycznia",
    "lutego",
    "marca",
    "kwietnia",
    "maja",
    "czerwca",
    "lipca",
    "sierpnia",
    "września",
    "października",
    "listopada",
    "grudnia",
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
    "ocak",
    "şubat",
    "mart",
    "nisan",
    "mayıs",
    "haziran",
    "temmuz",
    "ağustos",
    "eylül",
    "ekim",
    "kasım",
    "aralık",
];

/// A date written with a month name of another language (`14. März 1985`, `14 de marzo de
/// 1985`, `14 марта 1985`) or the Chinese, Japanese and Korean way (`1985年3月14日`,
/// `1985년 3월 14일`) starting at the digit at `i`: its end.
fn foreign_date(s: &str, i: usize) -> Option<usize> {
    let b = s.as_bytes();
    let digits = |k: usize| b[k..].iter().take_while(|c| c.is_ascii_digit()).count();
    let number = |k: usize, n: usize| {
        b[k..k + n]
            .iter()
            .fold(0u32, |v, c| v * 10 + u32::from(c - b'0'))
    };
    let n = digits(i);
    // YYYY年M月D日 / YYYY년 M월 D일.
    if n == 4 && (1900..=2100).contains(&number(i, 4)) {
        let mut k = i + 4;
        let units: [(&str, &str); 3] = [("年", "년"), ("月", "월"), ("日", "일")];
        for (u, (cjk, ko)) in units.iter().enumerate() {
            if u > 0 {
                while b.get(k) == Some(&b' ') {
                    k += 1;
                }
                let m = digits(k);
                let limit = if u == 1 { 12 } else { 31 };
                if !(1..=2).contains(&m) || !(1..=limit).contains(&number(k, m)) {
                    return None;
                }
                k += m;
            }
            let rest = &s[k..];
            k += if rest.starts_with(cjk) {
                cjk.len()
            } else if rest.starts_with(ko) {
                ko.len()
            } else {
                return None;
            };
        }
        return Some(k);
    }
    // D[.] [de] Month [,] [de|del] YYYY.
    if !(1..=2).contains(&n) || !(1..=31).contains(&number(i, n)) {
        return None;
    }
    let mut k = i + n;
    if b.get(k) == Some(&b'.') {
        k += 1;
    }
    let skip = |k: &mut usize, words: &[&str]| {
        let start = *k;
        while b.get(*k) == Some(&b' ') {
            *k += 1;
        }
        for w in words {
            if s[*k..].starts_with(w) && b.get(*k + w.len()) == Some(&b' ') {
                *k += w.len() + 1;
                break;
            }
        }
        *k > start
    };
    if !skip(&mut k, &["de", "di"]) {
        return None;
    }
    let word_end = s[k..]
        .char_indices()
        .find(|(_, c)| !c.is_alphabetic())
        .map_or(s.len(), |(o, _)| k + o);
    let month = s[k..word_end].to_lowercase();
    if !FOREIGN_MONTHS.contains(&month.as_str()) {
        return None;
    }
    k = word_end;
    if b.get(k) == Some(&b',') {
        k += 1;
    }
    if !skip(&mut k, &["del", "de"]) {
        return None;
    }
    (digits(k) == 4 && (1900..=2100).contains(&number(k, 4))).then_some(k + 4)
}

/// Whether `b[i..]` starts like `D Month`: one or two digits, letters up to a space or comma,
/// separators, then the first letter of a month name (what [`month_date`] needs when its
/// first word is a day).
fn day_then_month_letter(b: &[u8], i: usize) -> bool {
    let mut k = i;
    while k < b.len() && k - i < 3 && b[k].is_ascii_digit() {
        k += 1;
    }
    if !(1..=2).contains(&(k - i)) {
        return false;
    }
    while k < b.len() && b[k].is_ascii_alphabetic() {
        k += 1;
    }
    let sep = k;
    while k < b.len() && matches!(b[k], b' ' | b',') {
        k += 1;
    }
    k > sep && k < b.len() && b"jfmasondJFMASOND".contains(&b[k])
}

/// `Month D, YYYY`, `D Month YYYY` or `Month YYYY` starting at `i`; the end.
fn month_date(s: &str, i: usize) -> Option<usize> {
    let b = s.as_bytes();
    let stop = b.len().min(i + 40);
    let sep = |c: u8| c == b' ' || c == b',';
    let digits = |t: &[u8]| !t.is_empty() && t.iter().all(u8::is_ascii_digit);
    let is_day = |t: &[u8]| {
        let n = t.iter().take_while(|c| c.is_ascii_digit()).count();
        (1..=2).contains(&n)
            && t[n..].iter().all(u8::is_ascii_alphabetic)
            && (1..=31).contains(&t[..n].iter().fold(0u8, |d, c| d * 10 + (c - b'0')))
    };
    let is_year = |t: &[u8]| {
        t.len() == 4
            && digits(t)
            && (1900..=2100).contains(&t.iter().fold(0u16, |y, c| y * 10 + u16::from(c - b'0')))
    };
    // The words of `s[i..stop]` split at spaces and commas, read as needed.
    let word_after = |k: usize| {
        let mut a = k;
        while a < stop && sep(b[a]) {
            a += 1;
        }
        let mut z = a;
        while z < stop && !sep(b[z]) {
            z += 1;
        }
        (a, z)
    };
    let (a0, z0) = word_after(i);
    let first = &b[a0..z0];
    let month_first = is_month(first);
    if !month_first && !is_day(first) {
        return None;
    }
    let (a1, z1) = word_after(z0);
    let second = &b[a1..z1];
    if month_first && is_year(second) {
        return Some(z1);
    }
    if !(if month_first {
        is_day(second)
    } else {
        is_month(second)
    }) {
        return None;
    }
    let (a2, z2) = word_after(z1);
    is_year(&b[a2..z2]).then_some(z2)
}

/// Words right after a number that say it is a phone number (`-Office`, ` fax`).
const PHONE_AFTER: &[&str] = &[
    "office", "fax", "mobile", "cell", "home", "work", "phone", "tel", "landline",
];

fn extension_end(b: &[u8], end: usize) -> usize {
    if b.get(end) == Some(&b'x') {
        let mut d = end + 1;
        while d < b.len() && b[d].is_ascii_digit() && d - end <= 6 {
            d += 1;
        }
        if d > end + 1 && word_end(b, d) {
            return d;
        }
    }
    let rest = &b[end..b.len().min(end + 12)];
    let lower: Vec<u8> = rest.iter().map(u8::to_ascii_lowercase).collect();
    for prefix in [&b" ext. "[..], b" ext ", b" ext.", b" x", b" #"] {
        if lower.starts_with(prefix) {
            let d0 = end + prefix.len();
            let mut d = d0;
            while d < b.len() && b[d].is_ascii_digit() && d - d0 < 6 {
                d += 1;
            }
            if d > d0 && word_end(b, d) {
                return d;
            }
        }
    }
    end
}

fn card_brand(d: &[u8]) -> bool {
    let p = |k: usize| -> u32 { d[..k].iter().fold(0, |a, &c| a * 10 + u32::from(c - b'0')) };
    let n = d.len();
    match d[0] {
        b'4' => matches!(n, 13 | 16 | 19), // Visa
        b'5' => {
            (51..=55).contains(&p(2)) && n == 16
                || (50..=59).contains(&p(2)) && (12..=19).contains(&n)
        } // Mastercard, Maestro
        b'2' => (2221..=2720).contains(&p(4)) && n == 16, // Mastercard 2-series
        b'3' => {
            (matches!(p(2), 34 | 37) && n == 15)                         // Amex
            || ((3528..=3589).contains(&p(4)) && (16..=19).contains(&n))     // JCB
            || (((300..=305).contains(&p(3)) || matches!(p(2), 36 | 38 | 39)) && (14..=19).contains(&n))
        } // Diners
        b'6' => {
            p(4) == 6011
                || p(2) == 65
                || (644..=649).contains(&p(3))
                || p(2) == 62
                || (56..=69).contains(&p(2))
        } // Discover, UnionPay, Maestro
        b'1' => p(1) == 1 && n == 15,      // UATP
        _ => false,
    }
}

/// US SSN: area 001–665, 667–899; group 01–99; serial 0001–9999; not the advertising numbers.
fn valid_ssn(d: &[u8]) -> bool {
    let num = |r: Range<usize>| d[r].iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0'));
    let (area, group, serial) = (num(0..3), num(3..5), num(5..9));
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        && !matches!(
            (area, group, serial),
            (78, 5, 1120) | (219, 9, 9999) | (123, 45, 6789)
        )
}

/// IPv4 addresses that identify no one: loopback (`127.x.x.x`), `0.0.0.0`, the broadcast
/// address and the public DNS resolvers of Google, Cloudflare, Quad9 and OpenDNS.
fn not_personal_ipv4(ip: &str) -> bool {
    ip.starts_with("127.")
        || matches!(
            ip,
            "0.0.0.0"
                | "255.255.255.255"
                | "8.8.8.8"
                | "8.8.4.4"
                | "1.1.1.1"
                | "1.0.0.1"
                | "9.9.9.9"
                | "149.112.112.112"
                | "208.67.222.222"
                | "208.67.220.220"
        )
}

/// Canadian SIN: Luhn, and not starting with 0 or 8 (unassigned).
fn valid_sin(d: &[u8]) -> bool {
    d[0] != b'0' && d[0] != b'8' && checksum::luhn(d)
}
