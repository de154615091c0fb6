#!/usr/bin/env python3
"""False positives on the negatives of the secret samples, judged by each source's own rules.

The negatives of `../shared/data/secrets` are negatives of one rule: many hold what another rule
of the same source finds (a New Relic license key among the negatives of the New Relic admin-key
rule, an S3 host among the negatives of the path-style bucket rule). `tests/secrets_data.rs`
counts every finding on them as a false positive. This script also reports the rate on the
negatives that no rule of their source matches, using the source's own regexes from
`rule_regexes.jsonl` (compiled with Python's `re`; the few that use syntax it lacks are skipped
and counted), and lists each finding it counts.

Usage (after `cargo build --release`):
    python3 scripts/secret_negatives.py [PATH_TO_PALISADE_BINARY]
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "secrets"
SOURCES = [
    ("gitleaks", "gitleaks_rule_samples.jsonl"),
    ("noseyparker", "noseyparker_rule_examples.jsonl"),
    ("kingfisher", "kingfisher_rule_examples.jsonl"),
]
CONFIG = '[checks]\ninput = ["secret"]\noutput = []\ntool_result = []\n'


def source_regexes(tool):
    compiled, skipped = [], 0
    with open(DATA / "rule_regexes.jsonl") as f:
        for line in f:
            r = json.loads(line)
            if r["tool"] != tool:
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    compiled.append((r["rule"], re.compile(r["regex"])))
            except (re.error, OverflowError, TypeError):
                skipped += 1
    return compiled, skipped


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target/release/palisade")
    if not os.path.exists(binary):
        sys.exit(f"{binary} is missing: run `cargo build --release` first")
    if not DATA.is_dir():
        print(f"SKIP: {DATA} is missing")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as cfg:
        cfg.write(CONFIG)
    summary = []
    for tool, file in SOURCES:
        rows = [json.loads(line) for line in open(DATA / file)]
        positives = {r["text"] for r in rows if r["label"] == 1}
        negatives = [r for r in rows if r["label"] == 0 and r["text"] not in positives]
        lines = "".join(json.dumps({"text": r["text"], "id": i}) + "\n" for i, r in enumerate(negatives))
        out = subprocess.run(
            [binary, "scan", "--config", cfg.name, "-"], input=lines, capture_output=True, text=True, check=True
        ).stdout
        found = {}
        for line in out.splitlines():
            v = json.loads(line)
            found[v["id"]] = [f["detector"] for f in v.get("findings", [])]
        regexes, skipped = source_regexes(tool)
        clean = secrets = identifiers = 0
        for i, r in enumerate(negatives):
            if any(rx.search(r["text"]) for _, rx in regexes):
                continue
            clean += 1
            ids = found.get(i, [])
            if any(d.startswith("secret.") for d in ids):
                secrets += 1
            elif any(d.startswith("identifier.") for d in ids):
                identifiers += 1
            else:
                continue
            print(f"{tool} {r['rule']}: {ids} <- {r['text'][:120]!r}")
        summary.append(
            f"{tool}: {len(negatives)} negatives, {clean} that no rule of the source matches"
            f" ({skipped} of its regexes skipped): {secrets} with a secret finding"
            f" ({100 * secrets / max(clean, 1):.1f}%), {identifiers} more with an identifier"
        )
    os.unlink(cfg.name)
    print("\n".join(summary))


if __name__ == "__main__":
    main()
