//! Check digits of the identifiers the PII recognizers validate.

use sha2::{Digest, Sha256};

/// Luhn (ISO/IEC 7812) over ASCII digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// ISO 7064 mod 97-10 of an IBAN-like string (country + check digits moved to the end,
/// letters as 10..35): the remainder must be 1.
pub(crate) fn iban_mod97(compact: &[u8]) -> bool {
    if compact.len() < 5 {
        return false;
    }
    let rotated = compact[4..].iter().chain(&compact[..4]);
    // Reduced only when large: below 2^50 before each step, so no step overflows.
    let mut rem = 0u64;
    for &c in rotated {
        let v = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'A'..=b'Z' => u64::from(c - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 { rem * 100 + v } else { rem * 10 + v };
        if rem >= 1 << 50 {
            rem %= 97;
        }
    }
    rem % 97 == 1
}

/// The BBAN structure per country (SWIFT IBAN registry): runs of `<count>!<class>`, class `n`
/// digits, `a` uppercase letters, `c` letters or digits.
const BBAN: &[(&[u8; 2], &str)] = &[
    (b"AD", "4!n4!n12!c"),
    (b"AE", "3!n16!n"),
    (b"AL", "8!n16!c"),
    (b"AT", "5!n11!n"),
    (b"AZ", "4!a20!c"),
    (b"BA", "3!n3!n8!n2!n"),
    (b"BE", "3!n7!n2!n"),
    (b"BG", "4!a4!n2!n8!c"),
    (b"BH", "4!a14!c"),
    (b"BI", "5!n5!n11!n2!n"),
    (b"BR", "8!n5!n10!n1!a1!c"),
    (b"BY", "4!c4!n16!c"),
    (b"CH", "5!n12!c"),
    (b"CR", "4!n14!n"),
    (b"CY", "3!n5!n16!c"),
    (b"CZ", "4!n16!n"),
    (b"DE", "8!n10!n"),
    (b"DJ", "5!n5!n11!n2!n"),
    (b"DK", "4!n9!n1!n"),
    (b"DO", "4!c20!n"),
    (b"EE", "2!n14!n"),
    (b"EG", "4!n4!n17!n"),
    (b"ES", "4!n4!n1!n1!n10!n"),
    (b"FI", "3!n11!n"),
    (b"FK", "2!a12!n"),
    (b"FO", "4!n9!n1!n"),
    (b"FR", "5!n5!n11!c2!n"),
    (b"GB", "4!a6!n8!n"),
    (b"GE", "2!a16!n"),
    (b"GI", "4!a15!c"),
    (b"GL", "4!n9!n1!n"),
    (b"GR", "3!n4!n16!c"),
    (b"GT", "4!c20!c"),
    (b"HN", "4!a20!n"),
    (b"HR", "7!n10!n"),
    (b"HU", "3!n4!n1!n15!n1!n"),
    (b"IE", "4!a6!n8!n"),
    (b"IL", "3!n3!n13!n"),
    (b"IQ", "4!a3!n12!n"),
    (b"IS", "4!n2!n6!n10!n"),
    (b"IT", "1!a5!n5!n12!c"),
    (b"JO", "4!a4!n18!c"),
    (b"KW", "4!a22!c"),
    (b"KZ", "3!n13!c"),
    (b"LB", "4!n20!c"),
    (b"LC", "4!a24!c"),
    (b"LI", "5!n12!c"),
    (b"LT", "5!n11!n"),
    (b"LU", "3!n13!c"),
    (b"LV", "4!a13!c"),
    (b"LY", "3!n3!n15!n"),
    (b"MC", "5!n5!n11!c2!n"),
    (b"MD", "2!c18!c"),
    (b"ME", "3!n13!n2!n"),
    (b"MK", "3!n10!c2!n"),
    (b"MN", "4!n12!n"),
    (b"MR", "5!n5!n11!n2!n"),
    (b"MT", "4!a5!n18!c"),
    (b"MU", "4!a2!n2!n12!n3!n3!a"),
    (b"NI", "4!a20!n"),
    (b"NL", "4!a10!n"),
    (b"NO", "4!n6!n1!n"),
    (b"OM", "3!n16!c"),
    (b"PK", "4!a16!c"),
    (b"PL", "8!n16!n"),
    (b"PS", "4!a21!c"),
    (b"PT", "4!n4!n11!n2!n"),
    (b"QA", "4!a21!c"),
    (b"RO", "4!a16!c"),
    (b"RS", "3!n13!n2!n"),
    (b"RU", "9!n5!n15!c"),
    (b"SA", "2!n18!c"),
    (b"SC", "4!a2!n2!n16!n3!a"),
    (b"SD", "2!n12!n"),
    (b"SE", "3!n16!n1!n"),
    (b"SI", "5!n8!n2!n"),
    (b"SK", "4!n6!n10!n"),
    (b"SM", "1!a5!n5!n12!c"),
    (b"SO", "4!n3!n12!n"),
    (b"ST", "4!n4!n11!n2!n"),
    (b"SV", "4!a20!n"),
    (b"TL", "3!n14!n2!n"),
    (b"TN", "2!n3!n13!n2!n"),
    (b"TR", "5!n1!n16!c"),
    (b"UA", "6!n19!c"),
    (b"VA", "3!n15!n"),
    (b"VG", "4!a16!n"),
    (b"XK", "4!n10!n2!n"),
    (b"YE", "4!a4!n18!c"),
];

fn bban_structure(country: &[u8]) -> Option<&'static str> {
    // The table is sorted by country code.
    let key = u16::from_be_bytes(country.try_into().ok()?);
    BBAN.binary_search_by(|(c, _)| u16::from_be_bytes(**c).cmp(&key))
        .ok()
        .map(|i| BBAN[i].1)
}

/// The runs of a BBAN structure: (count, class).
fn runs(structure: &'static str) -> impl Iterator<Item = (usize, u8)> {
    let mut b = structure.as_bytes();
    std::iter::from_fn(move || {
        let mut n = 0;
        while let [c @ b'0'..=b'9', rest @ ..] = b {
            n = n * 10 + usize::from(c - b'0');
            b = rest;
        }
        // `!` then the class letter.
        let [b'!', class, rest @ ..] = b else {
            return None;
        };
        b = rest;
        Some((n, *class))
    })
}

/// IBAN length per country (SWIFT IBAN registry).
pub(crate) fn iban_length(country: &[u8]) -> Option<usize> {
    Some(
        4 + runs(bban_structure(country)?)
            .map(|(n, _)| n)
            .sum::<usize>(),
    )
}

/// Whether the BBAN (the IBAN after its first four characters) has its country's structure.
pub(crate) fn bban_ok(iban: &[u8]) -> bool {
    let Some(s) = iban.get(..2).and_then(bban_structure) else {
        return false;
    };
    let mut rest = &iban[4.min(iban.len())..];
    for (n, class) in runs(s) {
        if rest.len() < n {
            return false;
        }
        let ok = |c: &u8| match class {
            b'n' => c.is_ascii_digit(),
            b'a' => c.is_ascii_uppercase(),
            _ => c.is_ascii_alphanumeric(),
        };
        if !rest[..n].iter().all(ok) {
            return false;
        }
        rest = &rest[n..];
    }
    rest.is_empty()
}

/// UK NHS number: weights 10..2 over the first nine digits, mod 11.
pub(crate) fn nhs(d: &[u8]) -> bool {
    if d.len() != 10 {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, &c)| u32::from(c - b'0') * (10 - i as u32))
        .sum();
    let check = (11 - sum % 11) % 11;
    check != 10 && check == u32::from(d[9] - b'0')
}

/// Verhoeff's dihedral-group check over ASCII digits (the check digit last): India's Aadhaar.
pub(crate) fn verhoeff(digits: &[u8]) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let c = digits.iter().rev().enumerate().fold(0u8, |c, (i, &d)| {
        D[usize::from(c)][usize::from(P[i % 8][usize::from(d - b'0')])]
    });
    c == 0
}

/// ISO 7064 MOD 11,10 over digit values (the check digit last): Germany's tax id (IdNr),
/// Croatia's OIB.
pub(crate) fn iso7064_mod11_10(digits: &[u8]) -> bool {
    let Some((&check, body)) = digits.split_last() else {
        return false;
    };
    let p = body.iter().fold(10u32, |p, &d| {
        let s = (p + u32::from(d)) % 10;
        (if s == 0 { 10 } else { s }) * 2 % 11
    });
    (11 - p) % 10 == u32::from(check)
}

/// ISO 7064 MOD 97 key: the last two digits are 97 minus the rest modulo 97 (France's NIR).
pub(crate) fn mod97_key(digits: &[u8]) -> bool {
    if digits.len() < 3 || digits.iter().any(|&d| d > 9) {
        return false;
    }
    let (body, key) = digits.split_at(digits.len() - 2);
    let r = body.iter().fold(0u32, |r, &d| (r * 10 + u32::from(d)) % 97);
    97 - r == u32::from(key[0]) * 10 + u32::from(key[1])
}

/// Italy's codice fiscale: sixteen characters, the last a letter from the values of the first
/// fifteen (odd positions through their own table).
pub(crate) fn it_codice_fiscale(s: &[u8]) -> bool {
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    if s.len() != 16
        || !s
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return false;
    }
    let sum: u32 = s[..15]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            // Digits count as the letters of the same rank (0 as A, 1 as B, ...).
            let v = usize::from(if c.is_ascii_digit() {
                c - b'0'
            } else {
                c - b'A'
            });
            if i % 2 == 0 { ODD[v] } else { v as u32 }
        })
        .sum();
    s[15] == b'A' + (sum % 26) as u8
}

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Bitcoin base58check: decodes, and the last four bytes are the double SHA-256 prefix.
pub(crate) fn base58check(s: &[u8]) -> bool {
    if s.len() < 26 || s.len() > 35 {
        return false;
    }
    let mut bytes: Vec<u8> = Vec::with_capacity(32);
    for &c in s {
        let Some(mut carry) = BASE58.iter().position(|&b| b == c).map(|v| v as u32) else {
            return false;
        };
        for b in bytes.iter_mut().rev() {
            carry += u32::from(*b) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.iter().take_while(|&&c| c == b'1').count();
    let mut full = vec![0u8; zeros];
    full.extend_from_slice(&bytes);
    if full.len() != 25 {
        return false;
    }
    let h = Sha256::digest(Sha256::digest(&full[..21]));
    h[..4] == full[21..]
}

/// Bech32 / bech32m (BIP-173/350) checksum of a lowercase `hrp1data` string.
pub(crate) fn bech32(s: &[u8]) -> bool {
    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let Some(sep) = s.iter().rposition(|&c| c == b'1') else {
        return false;
    };
    if sep == 0 || sep + 7 > s.len() || s.len() > 90 {
        return false;
    }
    let (hrp, data) = (&s[..sep], &s[sep + 1..]);
    let mut values = Vec::with_capacity(hrp.len() * 2 + 1 + data.len());
    values.extend(hrp.iter().map(|c| c >> 5));
    values.push(0);
    values.extend(hrp.iter().map(|c| c & 31));
    for &c in data {
        match CHARSET.iter().position(|&x| x == c) {
            Some(v) => values.push(v as u8),
            None => return false,
        }
    }
    let mut chk: u32 = 1;
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x1ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk == 1 || chk == 0x2bc8_30a3
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bban_structure` looks countries up by binary search.
    #[test]
    fn the_bban_table_is_sorted_by_country() {
        assert!(BBAN.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(iban_length(b"GB"), Some(22));
        assert_eq!(iban_length(b"DE"), Some(22));
        assert_eq!(iban_length(b"NO"), Some(15));
        assert_eq!(iban_length(b"ZZ"), None);
    }

    /// Every structure string parses to the end: printing its runs gives it back.
    #[test]
    fn every_bban_structure_parses_whole() {
        for (country, structure) in BBAN {
            let printed: String = runs(structure)
                .map(|(n, class)| format!("{n}!{}", class as char))
                .collect();
            assert_eq!(&printed, structure, "{}", String::from_utf8_lossy(*country));
        }
    }

    /// A long IBAN-like string (the running remainder is reduced lazily) agrees with the
    /// digit-by-digit definition.
    #[test]
    fn mod97_matches_the_definition_on_long_inputs() {
        let slow = |c: &[u8]| {
            let mut r = 0u32;
            for &x in c[4..].iter().chain(&c[..4]) {
                let v = if x.is_ascii_digit() {
                    u32::from(x - b'0')
                } else {
                    u32::from(x - b'A') + 10
                };
                r = if v >= 10 {
                    (r * 100 + v) % 97
                } else {
                    (r * 10 + v) % 97
                };
            }
            r == 1
        };
        for s in [
            "GB82WEST12345698765432",
            "LC55HEMM000100010012001200023015",
            "GB82WEST12345698765433",
            "MT84MALT011000012345MTLCAST001S",
            "ZZ99ZZZZ99999999999999999999999999",
        ] {
            assert_eq!(iban_mod97(s.as_bytes()), slow(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn check_digits() {
        assert!(luhn(b"4111111111111111"));
        assert!(!luhn(b"4111111111111112"));
        assert!(luhn(b"046454286")); // a valid SIN shape
        assert!(iban_mod97(b"GB82WEST12345698765432"));
        assert!(!iban_mod97(b"GB82WEST12345698765433"));
        assert_eq!(iban_length(b"DE"), Some(22));
        assert!(nhs(b"9434765919"));
        assert!(!nhs(b"9434765918"));
        assert!(base58check(b"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
        assert!(!base58check(b"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"));
        assert!(bech32(b"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"));
        assert!(!bech32(b"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr"));
    }
}
