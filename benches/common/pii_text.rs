// The PII benchmark's texts, shared by `benches/pii.rs` and `examples/pii_throughput.rs`
// (included with `include!`).

/// Mixed English text: an email, phone, IBAN, IP or card every ~180 bytes.
const PARAGRAPHS: [&str; 4] = [
    "Thanks for getting back to me so quickly. The order arrived on Tuesday, but two of the \
     items were damaged in transit and the box had clearly been dropped at some point. ",
    "You can reach me at maria.lopez@example.com or on 416-555-0199 after six; my card ending \
     in the number I gave you earlier should be refunded, not the gift card. ",
    "The meeting moved to 3 pm on March 4th, room 12B, and version 2.4.1 of the tool will be \
     installed before then, so please bring the 2023 figures and the draft budget. ",
    "For the wire, use IBAN GB82 WEST 1234 5698 7654 32 and reference invoice 88231; the server \
     at 10.0.4.17 will send the receipt to the same address. ",
];

fn mixed(len: usize) -> String {
    let mut s = String::with_capacity(len + 256);
    let mut i = 0;
    while s.len() < len {
        s.push_str(PARAGRAPHS[i % PARAGRAPHS.len()]);
        i += 1;
    }
    let mut end = len;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s
}

/// Random digits with separators: every position starts a candidate, few validate.
fn digits(len: usize) -> String {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut s = String::with_capacity(len);
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let c = match x % 16 {
            0..=9 => (b'0' + (x % 10) as u8) as char,
            10 | 11 => ' ',
            12 => '-',
            13 => '.',
            14 => '/',
            _ => '(',
        };
        s.push(c);
    }
    s
}
