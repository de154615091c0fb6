//! Every secret and identifier rule with a true and a false example. The true example is sampled from the
//! rule's own regex (deterministically seeded) and placed in a line of code; the false example
//! is the same line with the secret replaced by a placeholder of the same shape.

use palisade::detect::secrets::{
    BUILTIN_IDENTIFIER_RULES, BUILTIN_RULES, RuleDef, parse_identifier_rules, parse_rules,
};
use palisade::{Context, Guard, Pipeline};
use regex_syntax::hir::{Class, Hir, HirKind};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Appends a random string matching `hir` (look-arounds ignored; classes sampled in ASCII).
fn sample(hir: &Hir, rng: &mut Rng, out: &mut String) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(l) => out.push_str(&String::from_utf8_lossy(&l.0)),
        HirKind::Class(Class::Unicode(c)) => {
            let ascii: Vec<char> = c
                .ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .filter(|ch| ch.is_ascii_graphic() || *ch == ' ')
                .take(256)
                .collect();
            match ascii.is_empty() {
                false => out.push(ascii[rng.below(ascii.len())]),
                true => out.push(c.ranges()[0].start()),
            }
        }
        HirKind::Class(Class::Bytes(c)) => {
            let bytes: Vec<u8> = c
                .ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .filter(|b| b.is_ascii_graphic())
                .collect();
            if !bytes.is_empty() {
                out.push(bytes[rng.below(bytes.len())] as char);
            }
        }
        HirKind::Repetition(r) => {
            let max = r.max.unwrap_or(r.min + 8).min(r.min + 8);
            let n = r.min as usize + rng.below((max - r.min) as usize + 1);
            for _ in 0..n {
                sample(&r.sub, rng, out);
            }
        }
        HirKind::Capture(c) => sample(&c.sub, rng, out),
        HirKind::Concat(parts) => parts.iter().for_each(|p| sample(p, rng, out)),
        HirKind::Alternation(alts) => sample(&alts[rng.below(alts.len())], rng, out),
    }
}

fn hir(pattern: &str) -> Hir {
    regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .unwrap_or_else(|e| panic!("{pattern}: {e}"))
}

/// A line of code holding a sampled secret for `rule`, and the sampled secret.
fn example(rule: &RuleDef, rng: &mut Rng) -> (String, String) {
    let mut secret = String::new();
    match (&rule.pattern, &rule.token) {
        (Some(p), _) => {
            sample(&hir(p), rng, &mut secret);
            // The rule runs where one of its keywords occurs.
            (format!("{} config = {secret}\n", rule.keywords[0]), secret)
        }
        (_, Some(t)) => {
            sample(&hir(t), rng, &mut secret);
            let name = rule.keywords[0].to_ascii_uppercase();
            (format!("{name}_KEY = \"{secret}\"\n"), secret)
        }
        _ => unreachable!(),
    }
}

fn guard() -> Pipeline {
    Pipeline::from_toml("[checks]\ninput = [\"secret\"]\noutput = []\ntool_result = []\n")
        .expect("secret-only pipeline")
}

#[test]
fn there_are_at_least_200_rules() {
    let rules = parse_rules(BUILTIN_RULES, "rules.toml").unwrap();
    assert!(rules.len() >= 200, "{} rules", rules.len());
}

#[test]
fn every_rule_finds_a_sampled_secret_and_ignores_a_placeholder() {
    let mut rules = parse_rules(BUILTIN_RULES, "rules.toml").unwrap();
    let secret_rules = rules.len();
    rules.extend(parse_identifier_rules(BUILTIN_IDENTIFIER_RULES, "identifiers.toml").unwrap());
    assert!(rules.len() >= secret_rules + 30, "identifier rules");
    let g = guard();
    let ctx = Context::new();
    let mut missed = Vec::new();
    let mut false_alarm = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1));
        // True example: some sample (of 40) is found, as a secret overlapping it.
        let found = (0..40).find_map(|_| {
            let (line, secret) = example(rule, &mut rng);
            let v = g.check_input(&ctx, &line);
            let at = line.find(&secret)?;
            v.findings()
                .iter()
                .any(|f| {
                    (f.detector.starts_with("secret.") || f.detector.starts_with("identifier."))
                        && f.span.start < at + secret.len()
                        && at < f.span.end
                })
                .then_some((line, secret))
        });
        let Some((line, secret)) = found else {
            missed.push(rule.id.clone());
            continue;
        };
        // False example: the same line with the secret's variable part as a placeholder.
        // (Counted in characters: a sampled label may be Korean or Japanese.)
        let keep = secret
            .char_indices()
            .nth(4)
            .map_or(secret.len(), |(i, _)| i);
        let placeholder: String =
            secret[..keep].to_string() + &"x".repeat(secret[keep..].chars().count());
        let fake = line.replacen(&secret, &placeholder, 1);
        let v = g.check_input(&ctx, &fake);
        if v.findings().iter().any(|f| f.detector == rule.id.as_str()) {
            false_alarm.push(format!("{}: {fake:?}", rule.id));
        }
    }
    assert!(
        missed.is_empty(),
        "rules that found none of their samples: {missed:?}"
    );
    assert!(
        false_alarm.is_empty(),
        "rules that fired on a placeholder: {false_alarm:?}"
    );
}
