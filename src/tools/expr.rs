//! Conditions on arguments (`amount > 100 and currency == 'USD'`), used to ask for approval.
//!
//! Grammar: `or` of `and` of `not`/comparisons; operands are argument paths (`amount`,
//! `payee.country`), `len(path)` (characters of a string, items of an array or object), or
//! literals (numbers, `'text'`/`"text"`, `true`, `false`, `null`). A bare path is true when the
//! argument is present and not `false`, `0`, `""`, `[]` or `null`.
//!
//! Evaluation is three-valued: comparing a missing argument or values of different types is
//! *unknown*, and an unknown condition counts as true, so a call that cannot be judged asks for
//! approval rather than slipping past it.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Truthy(Operand),
    Cmp(Operand, Op, Operand),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operand {
    Path(Vec<String>),
    Len(Vec<String>),
    Lit(Value),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tri {
    T,
    F,
    U,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Num(f64),
    Str(String),
    Op(Op),
    LParen,
    RParen,
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push(Tok::LParen);
                i += 1
            }
            b')' => {
                out.push(Tok::RParen);
                i += 1
            }
            b'=' | b'!' | b'<' | b'>' => {
                let two = b.get(i + 1) == Some(&b'=');
                let op = match (c, two) {
                    (b'=', true) => Op::Eq,
                    (b'!', true) => Op::Ne,
                    (b'<', true) => Op::Le,
                    (b'>', true) => Op::Ge,
                    (b'<', false) => Op::Lt,
                    (b'>', false) => Op::Gt,
                    _ => return Err(format!("at {i}: expected `==` or `!=`")),
                };
                out.push(Tok::Op(op));
                i += if two { 2 } else { 1 };
            }
            b'\'' | b'"' => {
                let end = src[i + 1..]
                    .find(c as char)
                    .ok_or_else(|| format!("at {i}: unterminated string"))?;
                out.push(Tok::Str(src[i + 1..i + 1 + end].to_owned()));
                i += end + 2;
            }
            b'0'..=b'9' | b'-' => {
                let start = i;
                i += 1;
                while i < b.len()
                    && (b[i].is_ascii_digit() || matches!(b[i], b'.' | b'e' | b'E' | b'_'))
                {
                    i += 1;
                }
                let text = src[start..i].replace('_', "");
                let n: f64 = text
                    .parse()
                    .map_err(|_| format!("at {start}: bad number {:?}", &src[start..i]))?;
                if !n.is_finite() {
                    return Err(format!("at {start}: number out of range"));
                }
                out.push(Tok::Num(n));
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.' | b'-'))
                {
                    i += 1;
                }
                out.push(Tok::Ident(src[start..i].to_owned()));
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(format!("at {i}: unexpected {ch:?}"));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(s)) if s == kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.and()?];
        while self.keyword("or") {
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut items = vec![self.unary()?];
        while self.keyword("and") {
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > 32 {
            return Err("nested too deeply (32 levels at most)".into());
        }
        let e = if self.keyword("not") {
            Expr::Not(Box::new(self.unary()?))
        } else if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            if self.peek() != Some(&Tok::RParen) {
                return Err("expected `)`".into());
            }
            self.pos += 1;
            e
        } else {
            let lhs = self.operand()?;
            match self.peek() {
                Some(Tok::Op(op)) => {
                    let op = *op;
                    self.pos += 1;
                    let rhs = self.operand()?;
                    Expr::Cmp(lhs, op, rhs)
                }
                _ => match lhs {
                    Operand::Lit(_) => return Err("a literal alone is not a condition".into()),
                    other => Expr::Truthy(other),
                },
            }
        };
        self.depth -= 1;
        Ok(e)
    }

    fn operand(&mut self) -> Result<Operand, String> {
        let tok = self.peek().cloned().ok_or("unexpected end of condition")?;
        self.pos += 1;
        Ok(match tok {
            Tok::Num(n) => {
                Operand::Lit(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
            }
            Tok::Str(s) => Operand::Lit(Value::String(s)),
            Tok::Ident(s) => match s.as_str() {
                "true" => Operand::Lit(Value::Bool(true)),
                "false" => Operand::Lit(Value::Bool(false)),
                "null" => Operand::Lit(Value::Null),
                "and" | "or" | "not" => return Err(format!("unexpected `{s}`")),
                "len" if self.peek() == Some(&Tok::LParen) => {
                    self.pos += 1;
                    let path = match self.peek().cloned() {
                        Some(Tok::Ident(p)) => path(&p)?,
                        _ => return Err("len() takes an argument path".into()),
                    };
                    self.pos += 1;
                    if self.peek() != Some(&Tok::RParen) {
                        return Err("expected `)` after len(path".into());
                    }
                    self.pos += 1;
                    Operand::Len(path)
                }
                _ => Operand::Path(path(&s)?),
            },
            other => return Err(format!("unexpected {other:?}")),
        })
    }
}

fn path(s: &str) -> Result<Vec<String>, String> {
    let parts: Vec<String> = s.split('.').map(str::to_owned).collect();
    if parts.iter().any(String::is_empty) {
        return Err(format!("bad argument path {s:?}"));
    }
    Ok(parts)
}

impl Expr {
    /// Parses a condition.
    pub(crate) fn parse(src: &str) -> Result<Expr, String> {
        if src.len() > 4096 {
            return Err("longer than 4096 bytes".into());
        }
        let mut p = Parser {
            toks: lex(src)?,
            pos: 0,
            depth: 0,
        };
        if p.toks.is_empty() {
            return Err("empty condition".into());
        }
        let e = p.or()?;
        if p.pos != p.toks.len() {
            return Err(format!(
                "unexpected {:?} after the condition",
                p.toks[p.pos]
            ));
        }
        Ok(e)
    }

    /// The first segment of every argument path the condition reads.
    pub(crate) fn roots(&self, out: &mut Vec<String>) {
        let op = |o: &Operand, out: &mut Vec<String>| match o {
            Operand::Path(p) | Operand::Len(p) => out.push(p[0].clone()),
            Operand::Lit(_) => {}
        };
        match self {
            Expr::Or(v) | Expr::And(v) => v.iter().for_each(|e| e.roots(out)),
            Expr::Not(e) => e.roots(out),
            Expr::Truthy(o) => op(o, out),
            Expr::Cmp(a, _, b) => {
                op(a, out);
                op(b, out);
            }
        }
    }

    /// Whether the condition holds for `args`; unknown counts as true.
    pub(crate) fn holds(&self, args: &Value) -> bool {
        self.eval(args) != Tri::F
    }

    fn eval(&self, args: &Value) -> Tri {
        match self {
            Expr::Or(v) => {
                let mut r = Tri::F;
                for e in v {
                    match e.eval(args) {
                        Tri::T => return Tri::T,
                        Tri::U => r = Tri::U,
                        Tri::F => {}
                    }
                }
                r
            }
            Expr::And(v) => {
                let mut r = Tri::T;
                for e in v {
                    match e.eval(args) {
                        Tri::F => return Tri::F,
                        Tri::U => r = Tri::U,
                        Tri::T => {}
                    }
                }
                r
            }
            Expr::Not(e) => match e.eval(args) {
                Tri::T => Tri::F,
                Tri::F => Tri::T,
                Tri::U => Tri::U,
            },
            Expr::Truthy(o) => match resolve(o, args) {
                None | Some(Value::Null) | Some(Value::Bool(false)) => Tri::F,
                Some(Value::Number(n)) if n.as_f64() == Some(0.0) => Tri::F,
                Some(Value::String(s)) if s.is_empty() => Tri::F,
                Some(Value::Array(a)) if a.is_empty() => Tri::F,
                Some(_) => Tri::T,
            },
            Expr::Cmp(a, op, b) => {
                let (Some(a), Some(b)) = (resolve(a, args), resolve(b, args)) else {
                    return Tri::U;
                };
                compare(&a, *op, &b)
            }
        }
    }
}

fn lookup<'a>(args: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut v = args;
    for seg in path {
        v = match v {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

fn resolve(o: &Operand, args: &Value) -> Option<Value> {
    match o {
        Operand::Lit(v) => Some(v.clone()),
        Operand::Path(p) => lookup(args, p).cloned(),
        Operand::Len(p) => {
            let n = match lookup(args, p)? {
                Value::String(s) => s.chars().count(),
                Value::Array(a) => a.len(),
                Value::Object(m) => m.len(),
                _ => return None,
            };
            Some(Value::from(n))
        }
    }
}

fn compare(a: &Value, op: Op, b: &Value) -> Tri {
    let ord = match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => None,
        },
        (Value::String(x), Value::String(y)) => {
            if matches!(op, Op::Eq | Op::Ne) {
                Some(x.cmp(y))
            } else {
                None
            }
        }
        (Value::Bool(x), Value::Bool(y)) if matches!(op, Op::Eq | Op::Ne) => Some(x.cmp(y)),
        (Value::Null, Value::Null) if matches!(op, Op::Eq | Op::Ne) => {
            Some(std::cmp::Ordering::Equal)
        }
        _ => None,
    };
    let Some(ord) = ord else { return Tri::U };
    use std::cmp::Ordering::*;
    let r = match op {
        Op::Eq => ord == Equal,
        Op::Ne => ord != Equal,
        Op::Gt => ord == Greater,
        Op::Ge => ord != Less,
        Op::Lt => ord == Less,
        Op::Le => ord != Greater,
    };
    if r { Tri::T } else { Tri::F }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(src: &str, args: Value) -> bool {
        Expr::parse(src).unwrap().holds(&args)
    }

    #[test]
    fn comparisons_and_logic() {
        assert!(holds("amount > 100", json!({"amount": 150})));
        assert!(!holds("amount > 100", json!({"amount": 100})));
        assert!(holds("amount >= 100", json!({"amount": 100.0})));
        assert!(holds(
            "currency == 'USD' and amount > 1_000",
            json!({"currency": "USD", "amount": 5000})
        ));
        assert!(!holds(
            "currency == \"USD\" and amount > 1000",
            json!({"currency": "CAD", "amount": 5000})
        ));
        assert!(holds(
            "not (to.domain == 'corp.example')",
            json!({"to": {"domain": "x.example"}})
        ));
        assert!(holds(
            "len(recipients) > 2 or urgent",
            json!({"recipients": [1], "urgent": true})
        ));
        assert!(!holds(
            "len(recipients) > 2 or urgent",
            json!({"recipients": [1], "urgent": false})
        ));
    }

    #[test]
    fn unknown_values_ask_for_approval() {
        // A missing amount or one smuggled as a string cannot be judged: the condition holds.
        assert!(holds("amount > 100", json!({})));
        assert!(holds("amount > 100", json!({"amount": "5000"})));
        assert!(holds("not (amount <= 100)", json!({"amount": "5000"})));
        // But a known false branch of an `and` settles it.
        assert!(!holds(
            "amount > 100 and currency == 'USD'",
            json!({"amount": 5, "currency": "USD"})
        ));
    }

    #[test]
    fn malformed_conditions_are_rejected() {
        for bad in [
            "",
            "amount >",
            "amount = 3",
            "(a > 1",
            "a > 1 b",
            "'x'",
            "a > 'x",
            "a.. > 1",
        ] {
            assert!(Expr::parse(bad).is_err(), "{bad:?} parsed");
        }
        let deep = format!("{}a{}", "(".repeat(40), ")".repeat(40));
        assert!(Expr::parse(&deep).is_err());
        let mut roots = Vec::new();
        Expr::parse("a.b > 1 or len(c) == 2")
            .unwrap()
            .roots(&mut roots);
        assert_eq!(roots, ["a", "c"]);
    }
}
