#!/usr/bin/env python3
"""Counts secret findings on text that holds no secrets: real source code and benign prose.

The labelled rule samples (`tests/secrets_data.rs`) measure recall well but hold few hard
negatives of the kind agents see every day: source files full of `token`, `password` and `key`
identifiers, and chat text. This script runs `palisade scan` with only the secret detector over

- real code: the Rust sources of every crate in the local cargo registry
  (`~/.cargo/registry/src/*/*/src`) and the Python standard library and site-packages of the
  running interpreter (the first 3,000 files), cut into 4 KiB pieces on line boundaries;
- JavaScript: the packages installed globally with npm (`$(npm root -g)`, skipped with a
  message when npm is missing), minified bundles included;
- documentation: every Markdown file of those crates and the package descriptions
  (`METADATA`, `*.md`) of the interpreter's site-packages, where example keys abound;
- benign prose: the `benign_*`, jailbreak and PII files of `../shared/data` (skipped with a
  message when missing).

and prints every finding with the text before it, then a summary per corpus. Most findings on
such text are false positives (a crate's test key is the rare exception: read the list).

Usage (after `cargo build --release`):
    python3 scripts/secret_false_positives.py [PATH_TO_PALISADE_BINARY]
"""

import glob
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared/data"
CONFIG = '[checks]\ninput = ["secret"]\noutput = []\ntool_result = []\n'


def code_pieces():
    files = sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*/*/src/**/*.rs"), recursive=True))
    stdlib = sysconfig.get_paths()["stdlib"]
    files += sorted(glob.glob(os.path.join(stdlib, "**/*.py"), recursive=True))[:3000]
    return pieces_of(files)


def js_pieces():
    try:
        root = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        print("SKIP: npm is missing; JavaScript not scanned", file=sys.stderr)
        return
    files = sorted(glob.glob(os.path.join(root, "**/*.js"), recursive=True))
    files += sorted(glob.glob(os.path.join(root, "**/*.ts"), recursive=True))
    yield from pieces_of(files)


def doc_pieces():
    files = sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*/*/**/*.md"), recursive=True))
    site = sysconfig.get_paths()["purelib"]
    files += sorted(glob.glob(os.path.join(site, "**/*.md"), recursive=True))
    files += sorted(glob.glob(os.path.join(site, "**/METADATA"), recursive=True))
    return pieces_of(files)


def pieces_of(files):
    """The files cut into pieces of about 4 KiB on line boundaries."""
    for f in files:
        try:
            text = open(f, errors="replace").read()
        except OSError:
            continue
        piece = ""
        for line in text.splitlines(True):
            piece += line
            if len(piece) > 4096:
                yield f, piece
                piece = ""
        if piece:
            yield f, piece


def prose_pieces():
    if not DATA.is_dir():
        print(f"SKIP: {DATA} is missing; benign prose not scanned", file=sys.stderr)
        return
    files = sorted(DATA.glob("injection/*.jsonl")) + sorted(DATA.glob("pii/*.jsonl"))
    for f in files:
        if "stdnum" in f.name:
            continue
        for line in open(f):
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if row.get("label", 0) == 1 and "injection" in str(f):
                continue  # attacks are not benign text
            text = row.get("text") or row.get("prompt") or ""
            if isinstance(text, list):
                text = " ".join(text)
            if not text and "tokens" in row:
                text = " ".join(row["tokens"])
            if text:
                yield str(f), text


def scan(binary, config, pieces):
    lines = "\n".join(json.dumps({"text": t, "id": i}) for i, (_, t) in enumerate(pieces))
    out = subprocess.run(
        [binary, "scan", "--config", config, "-"], input=lines, capture_output=True, text=True, check=True
    ).stdout
    findings = identifiers = 0
    for line in out.splitlines():
        verdict = json.loads(line)
        for f in verdict.get("findings", []):
            if f["detector"].startswith("identifier."):
                identifiers += 1
            elif f["detector"].startswith("secret."):
                findings += 1
            else:
                continue
            path, text = pieces[verdict["id"]]
            start, end = f["char_start"], f["char_end"]
            print(f"{f['detector']}: {text[start:end]!r:.60} after {text[max(0, start - 50):start]!r} ({Path(path).name})")
    return findings, identifiers


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target/release/palisade")
    if not os.path.exists(binary):
        sys.exit(f"{binary} is missing: run `cargo build --release` first")
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as cfg:
        cfg.write(CONFIG)
    summary = []
    corpora = [
        ("real code", list(code_pieces())),
        ("JavaScript", list(js_pieces())),
        ("documentation", list(doc_pieces())),
        ("benign prose", list(prose_pieces())),
    ]
    for name, pieces in corpora:
        found, identifiers = scan(binary, cfg.name, pieces)
        mb = sum(len(t.encode()) for _, t in pieces) / 1e6
        summary.append(
            f"{name}: {len(pieces)} pieces, {mb:.1f} MB, {found} secret findings,"
            f" {identifiers} identifiers (action allow)"
        )
    os.unlink(cfg.name)
    print("\n".join(summary))


if __name__ == "__main__":
    main()
