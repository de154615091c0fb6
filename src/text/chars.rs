//! Character classes that normalization removes and the unicode validators report.
//!
//! One table serves both: what the normalizer drops from the views is exactly what
//! [`crate::detect::unicode`] looks at.

use serde::Serialize;

/// Why a character is invisible or directional, and so removed from the normalized views.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hidden {
    /// Zero-width space, word joiner, BOM, soft hyphen, invisible operators, Hangul fillers, ...
    ZeroWidth,
    /// Zero-width joiner (U+200D): legitimate inside emoji sequences and Indic scripts.
    Zwj,
    /// Zero-width non-joiner (U+200C): legitimate in Persian and Indic scripts.
    Zwnj,
    /// Bidirectional embedding, override and isolate controls (the Trojan-Source class).
    BidiControl,
    /// Left-to-right / right-to-left marks (U+200E, U+200F, U+061C): common in RTL text.
    BidiMark,
    /// Unicode tag characters U+E0000–E007F ("ASCII smuggling"); also used by flag emoji.
    Tag,
    /// Variation selectors U+FE00–FE0F and U+E0100–E01EF (can smuggle bytes after a base char).
    VariationSelector,
}

/// Bitmaps of the BMP: alphabetic, and alphabetic or numeric (one bit per code point).
struct Classes {
    alphabetic: Vec<u64>,
    alphanumeric: Vec<u64>,
}

fn classes() -> &'static Classes {
    static CLASSES: std::sync::OnceLock<Classes> = std::sync::OnceLock::new();
    CLASSES.get_or_init(|| {
        let mut alphabetic = vec![0u64; 1024];
        let mut alphanumeric = vec![0u64; 1024];
        for u in 0..0x10000u32 {
            if let Some(c) = char::from_u32(u) {
                let bit = 1u64 << (u % 64);
                if c.is_alphabetic() {
                    alphabetic[(u / 64) as usize] |= bit;
                }
                if c.is_alphanumeric() {
                    alphanumeric[(u / 64) as usize] |= bit;
                }
            }
        }
        Classes {
            alphabetic,
            alphanumeric,
        }
    })
}

/// Prepares the class bitmaps ahead of the first check.
pub(crate) fn warm_up() {
    classes();
}

/// [`char::is_alphabetic`], by table lookup for the BMP (the standard library searches).
#[inline]
pub(crate) fn is_alphabetic(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        c.is_ascii_alphabetic()
    } else if u < 0x10000 {
        classes().alphabetic[(u / 64) as usize] & (1 << (u % 64)) != 0
    } else {
        c.is_alphabetic()
    }
}

/// [`char::is_alphanumeric`], by table lookup for the BMP.
#[inline]
pub(crate) fn is_alphanumeric(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        c.is_ascii_alphanumeric()
    } else if u < 0x10000 {
        classes().alphanumeric[(u / 64) as usize] & (1 << (u % 64)) != 0
    } else {
        c.is_alphanumeric()
    }
}

/// Classifies `c` as a hidden character, or `None` for an ordinary one.
#[inline]
pub fn hidden(c: char) -> Option<Hidden> {
    let u = c as u32;
    if u < 0xAD {
        return None;
    }
    Some(match u {
        0xAD
        | 0x34F
        | 0x115F
        | 0x1160
        | 0x17B4
        | 0x17B5
        | 0x180B..=0x180F
        | 0x200B
        | 0x2060..=0x2064
        | 0x206A..=0x206F
        | 0x3164
        | 0xFEFF
        | 0xFFA0
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A => Hidden::ZeroWidth,
        0x200C => Hidden::Zwnj,
        0x200D => Hidden::Zwj,
        0x200E | 0x200F | 0x061C => Hidden::BidiMark,
        0x202A..=0x202E | 0x2066..=0x2069 => Hidden::BidiControl,
        0xE0000..=0xE007F => Hidden::Tag,
        0xFE00..=0xFE0F | 0xE0100..=0xE01EF => Hidden::VariationSelector,
        _ => return None,
    })
}

/// The ASCII character a tag character stands for (U+E0020–E007E → ' '–'~').
#[inline]
pub fn tag_ascii(c: char) -> Option<char> {
    let u = c as u32;
    if (0xE0020..=0xE007E).contains(&u) {
        char::from_u32(u - 0xE0000)
    } else {
        None
    }
}

/// The byte a variation selector encodes in the "emoji smuggling" scheme
/// (U+FE00–FE0F → 0–15, U+E0100–E01EF → 16–255).
#[inline]
pub fn variation_selector_byte(c: char) -> Option<u8> {
    let u = c as u32;
    match u {
        0xFE00..=0xFE0F => Some((u - 0xFE00) as u8),
        0xE0100..=0xE01EF => Some((u - 0xE0100 + 16) as u8),
        _ => None,
    }
}

/// Whether `c` is an emoji-like pictograph (a base for ZWJ sequences and presentation selectors).
#[inline]
pub fn is_pictographic(c: char) -> bool {
    let u = c as u32;
    matches!(u,
        0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139 | 0x2194..=0x21AA | 0x231A..=0x23FF
        | 0x24C2 | 0x25AA..=0x25FE | 0x2600..=0x27BF | 0x2934 | 0x2935 | 0x2B05..=0x2B55
        | 0x3030 | 0x303D | 0x3297 | 0x3299 | 0x1F000..=0x1FAFF)
        || (0x1F3FB..=0x1F3FF).contains(&u)
}

/// Whether `c` belongs to a script in which ZWJ/ZWNJ are part of ordinary spelling
/// (Arabic, Persian, Syriac, Thaana, N'Ko, the Indic scripts, Sinhala, Thai, Lao, Tibetan,
/// Myanmar, Khmer, Mongolian).
#[inline]
pub fn joins_in_script(c: char) -> bool {
    let u = c as u32;
    matches!(u,
        0x0600..=0x08FF | 0x0900..=0x0DFF | 0x0E00..=0x0FFF | 0x1000..=0x109F | 0x1780..=0x18AF
        | 0xA8E0..=0xA8FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF | 0x11000..=0x111FF)
}
