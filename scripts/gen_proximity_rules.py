#!/usr/bin/env python3
"""Restates provider token formats from Kingfisher's rule list as palisade secret rules.

Kingfisher (Apache-2.0, see NOTICE) writes most provider rules as "the provider's name, then
within a few bytes a key word, then a token of this shape". The format facts (name, shape,
distance, entropy floor) are restated here in palisade's rule schema (`secret.<provider>`,
keywords for the prefilter, group 1 the secret), for the providers that palisade's hand-written
rules do not cover yet.

Usage:
    python3 scripts/gen_proximity_rules.py RULE_IDS > /tmp/generated.toml

RULE_IDS lists Kingfisher rule ids (`kingfisher.vbout.1`), one per line: the rules whose
samples palisade missed (`PALISADE_SHOW_MISSES=1 cargo test --release --test secrets_data --
--nocapture`, the `MISS kingfisher` lines). The output is pasted at the end of
`src/detect/secrets/rules.toml`; `tests/secret_rules.rs` then checks every rule with a true and
a false example. Reads ../shared/data/secrets/rule_regexes.jsonl and exits with a message when
it is missing.
"""

import json
import math
import re
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared/data/secrets/rule_regexes.jsonl"


def compact(regex: str) -> str:
    """The regex without verbose-mode whitespace and comments (outside classes)."""
    flags = ""
    m = re.match(r"\(\?([a-z]+)\)", regex)
    if m:
        flags = m.group(1)
        regex = regex[m.end():]
    regex = re.sub(r"\(\?#[^)]*\)", "", regex)
    if "x" not in flags:
        return (f"(?{flags})" if flags else "") + regex
    out, i, in_class = [], 0, False
    while i < len(regex):
        c = regex[i]
        if c == "\\" and i + 1 < len(regex):
            out.append(regex[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
            out.append(c)
        elif c == "[":
            in_class = True
            out.append(c)
        elif c == "#":
            while i < len(regex) and regex[i] != "\n":
                i += 1
            continue
        elif not c.isspace():
            out.append(c)
        i += 1
    flags = flags.replace("x", "")
    return (f"(?{flags})" if flags else "") + "".join(out)


def unescape(lit: str) -> str:
    return re.sub(r"\\(.)", r"\1", lit)


LITERAL = r"(?:[A-Za-z0-9_]|\\[-.:/@_])+"


def keywords(regex: str) -> list[str]:
    """Literals one of which every match starts with (after a word boundary)."""
    body = re.sub(r"^\(\?[a-z]+\)", "", regex)
    body = re.sub(r"^(\\b)+", "", body)
    # `(?:name|other-name)` or `name`, possibly inside the secret's group.
    m = re.match(r"\(\?:((?:" + LITERAL + r")(?:\|" + LITERAL + r")*)\)", body)
    if m:
        words = [unescape(w) for w in m.group(1).split("|")]
    else:
        m = re.match(r"\(?(" + LITERAL + ")", body)
        words = [unescape(m.group(1))] if m else []
        # A literal followed by a quantifier is not wholly required.
        if m and body[m.end() : m.end() + 1] in ("?", "*", "{"):
            words = [words[0][:-1]] if len(words[0]) > 1 else []
    words = [w.lower() for w in words]
    if not words or any(len(w) < 3 for w in words):
        return []
    return sorted(set(words))


# Identifiers that are not secrets (an organization id, a username, a host), bare UUIDs (old npm
# tokens: any UUID would match), and broad "generic" shapes that palisade's own generic
# detector covers with its placeholder checks.
NOT_SECRET = re.compile(
    r"\b(ID|Org Name|Email|Host|Identifier|Recipient|Username)\b|Instance URL|Search URL"
    r"|^Generic|Weak Password|\(old format\)"
)

RULES_TOML = Path(__file__).resolve().parent.parent / "src/detect/secrets/rules.toml"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if not DATA.exists():
        sys.exit(f"{DATA} is missing: nothing to generate")
    wanted = [l.strip() for l in open(sys.argv[1]) if l.strip()]
    rules = {}
    for line in open(DATA):
        r = json.loads(line)
        if r["tool"] == "kingfisher":
            rules[r["rule"]] = r
    seen = set(re.findall(r'^id = "secret\.([a-z0-9_]+)"', RULES_TOML.read_text(), re.M))
    print("# Provider formats restated from Kingfisher's rules (scripts/gen_proximity_rules.py).")
    for rid in wanted:
        r = rules.get(rid)
        if r is None:
            continue
        regex = compact(r["regex"])
        kws = keywords(regex)
        if not kws or "(?=" in regex or "(?!" in regex or "(?<" in regex:
            print(f"# skipped {rid}: no required keyword or a look-around", file=sys.stderr)
            continue
        name = re.sub(r"[^a-z0-9]+", "_", rid.split(".", 1)[1].lower()).strip("_")
        name = re.sub(r"_1$", "", name)
        base, n = name, 2
        while name in seen:
            name = f"{base}_{n}"
            n += 1
        seen.add(name)
        desc = r.get("name") or name
        if NOT_SECRET.search(desc):
            print(f"# skipped {rid}: {desc} is not a secret", file=sys.stderr)
            continue
        groups = len(re.findall(r"(?<!\\)\((?!\?)", regex))
        if groups > 1:
            print(f"# skipped {rid}: more than one group", file=sys.stderr)
            continue
        if groups == 0:
            regex = f"({regex})"
        print()
        print("[[rule]]")
        print(f'id = "secret.{name}"')
        print(f"description = {json.dumps(desc)}")
        print(f"keywords = {json.dumps(kws)}")
        print(f"pattern = '''{regex}'''")
        e = r.get("min_entropy") or 0
        # A floor above what the shortest token can reach (log2 of its length) is lowered.
        group = regex[re.search(r"(?<!\\)\((?!\?)", regex).start() :]
        counts = [int(m) for m in re.findall(r"\{(\d+)", group)]
        if counts:
            shortest = sum(counts)
            e = min(e, round(0.75 * math.log2(max(shortest, 2)), 1))
        if e > 0:
            print(f"entropy = {e}")


if __name__ == "__main__":
    main()
