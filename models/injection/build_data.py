#!/usr/bin/env python3
"""Build the training and dev sets for palisade's injection classifier.

Reads `../shared/data/injection/` (labelled attacks and benign prompts), the `agentdojo` and `garak`
wheels from PyPI (realistic tool outputs and latent-injection templates; pass --wheels DIR holding
`agentdojo-*.whl` and `garak-*.whl`, fetched with `pip download --no-deps agentdojo==0.1.35 garak==0.17.1`),
benign technical text already on the machine (READMEs and source files of the crates in the cargo
registry, the Python standard library), and the hand-written phrase banks in phrases.py. Writes
`work/train.jsonl` and `work/dev.jsonl`: {"text", "label", "source", "family", "lang", "span"} where
`span` is the [start, end) of the injected part in characters (null when the whole text is the attack
or the row is benign).

The dev split is honest: whole sources, whole document carriers (calendar entries), whole attack
templates and three languages are held out of training, so dev measures transfer, not memory.
Nothing here is shipped: the rows stay in `work/` (ignored by git).
"""

import argparse
import ast
import glob
import hashlib
import json
import os
import random
import re
import sys
import zipfile

import yaml
from faker import Faker

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import devops  # noqa: E402
import phrases as P  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def h(s):
    return int(hashlib.sha256(s.encode()).hexdigest()[:8], 16)


def in_dev(key, pct):
    return h(key) % 100 < pct


# ---------------------------------------------------------------------------------------------
# Shared data


def load_shared(root):
    rows = []
    for path in sorted(glob.glob(os.path.join(root, "injection", "*.jsonl"))):
        name = os.path.basename(path)[:-6]
        for line in open(path, encoding="utf-8"):
            r = json.loads(line)
            src, cat = r.get("source", ""), r.get("category", "")
            # Whole sources and attack families held out for dev.
            if name in ("giskard_prompt_injections", "gptfuzz_templates"):
                dev = True
            elif name == "jackhhao_jailbreak_classification":
                dev = src.endswith("_test.csv")
            elif name == "garak_probes":
                dev = not cat.startswith("jailbreak_inthewild") and not cat.startswith("dan")
                dev = dev and h(cat) % 2 == 0
            elif name == "pyrit_jailbreak_templates":
                dev = "prompt_extraction" in cat or h(src) % 100 < 15
            elif name == "synthetic_indirect_t0":
                dev = h(src.split("data_per_template/")[-1].split(")")[0].replace(".jsonl", "")) % 100 < 20
            else:
                dev = in_dev(r["text"], 15)
            rows.append(
                {
                    "text": r["text"],
                    "label": int(r["label"]),
                    "source": name,
                    "family": cat or name,
                    "lang": "en",
                    "span": None,
                    "dev": dev,
                }
            )
    # The synthetic indirect rows carry an attack inserted into a clean passage: recover its span
    # from the clean twin, so training windows are labelled by whether they hold the attack.
    clean = [r["text"] for r in rows if r["source"] == "synthetic_indirect_t0" and r["label"] == 0]
    for r in rows:
        if r["source"] == "synthetic_indirect_t0" and r["label"] == 1:
            best = None
            for c in clean:
                p = os.path.commonprefix([c, r["text"]])
                if best is None or len(p) > best[0]:
                    best = (len(p), c)
            if best and best[0] > 40:
                c = best[1]
                pre = best[0]
                suf = len(os.path.commonprefix([c[::-1], r["text"][::-1]]))
                suf = min(suf, len(c) - pre)
                r["span"] = [pre, len(r["text"]) - suf]
    return rows


# ---------------------------------------------------------------------------------------------
# agentdojo and garak, read from their wheels (no import: their dependencies are not needed)


def zread(whl, pattern):
    out = {}
    with zipfile.ZipFile(whl) as z:
        for n in z.namelist():
            if re.search(pattern, n):
                out[n] = z.read(n).decode("utf-8")
    return out


def strings_in(obj, out):
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            strings_in(v, out)
    elif isinstance(obj, list):
        for v in obj:
            strings_in(v, out)


def load_agentdojo(wheels):
    whl = glob.glob(os.path.join(wheels, "agentdojo-*.whl"))
    if not whl:
        print("agentdojo wheel missing: skipping its tool outputs and templates", file=sys.stderr)
        return [], [], []
    files = zread(whl[0], r"data/suites/.*\.yaml$")
    defaults = {}
    for n, t in files.items():
        if n.endswith("injection_vectors.yaml"):
            for k, v in (yaml.safe_load(t) or {}).items():
                defaults[k] = v.get("default", "")
    snippets = []
    for n, t in files.items():
        if n.endswith("injection_vectors.yaml"):
            continue
        for k, v in defaults.items():
            t = t.replace("{" + k + "}", str(v).replace('"', "'"))
        try:
            data = yaml.safe_load(t)
        except yaml.YAMLError:
            continue
        out = []
        strings_in(data, out)
        snippets += [s.strip() for s in out if len(s) > 60 and "{" not in s]
    goals = []
    for n, t in zread(whl[0], r"default_suites/v1/.*/injection_tasks\.py$").items():
        consts = dict(re.findall(r"^\s+(_[A-Z_]+) = \"([^\"]*)\"", t, re.M))
        for g in re.findall(r"GOAL = f?\"([^\"]+)\"", t):
            for k, v in consts.items():
                g = g.replace("{" + k + "}", v).replace("{self." + k + "}", v)
            if "{" not in g:
                goals.append(g)
    templates = []
    for n, t in zread(whl[0], r"attacks/.*\.py$").items():
        for m in re.finditer(r"_JB_STRING = \((.*?)\n    \)", t, re.S):
            try:
                s = ast.literal_eval("(" + m.group(1) + ")")
            except (SyntaxError, ValueError):
                continue
            if "{goal}" in s:
                templates.append(s)
    return snippets, goals, templates


def eval_str(node, markers):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        out = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                out.append(v.value)
            elif isinstance(v, ast.FormattedValue) and isinstance(v.value, ast.Name):
                out.append(markers.get(v.value.id, "{" + v.value.id + "}"))
            else:
                return None
        return "".join(out)
    return None


def load_garak(wheels):
    whl = glob.glob(os.path.join(wheels, "garak-*.whl"))
    if not whl:
        print("garak wheel missing: skipping its latent-injection templates", file=sys.stderr)
        return []
    src = zread(whl[0], r"probes/latentinjection\.py$")
    if not src:
        return []
    tree = ast.parse(next(iter(src.values())))
    markers = {"INJECTION_MARKER": "<|INJ|>", "PAYLOAD_MARKER": "<|PAY|>", "TRIGGER_MARKER": "<|TRIG|>"}
    probes = []
    for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
        fields = {}
        for st in cls.body:
            if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
                if isinstance(st.value, ast.List):
                    vals = [eval_str(e, markers) for e in st.value.elts]
                    fields[st.targets[0].id] = [v for v in vals if v is not None]
        if fields.get("injection_instructions"):
            probes.append(fields)
    return probes


# ---------------------------------------------------------------------------------------------
# Benign text already on this machine


def load_local_text(rng, limit=3000):
    docs, code = [], []
    for path in glob.glob(os.path.expanduser("~/.cargo/registry/src/*/*/README.md")):
        try:
            docs.append(open(path, encoding="utf-8").read())
        except (UnicodeDecodeError, OSError):
            pass
    for path in glob.glob(os.path.expanduser("~/.cargo/registry/src/*/*/src/*.rs"))[:4000]:
        try:
            code.append(open(path, encoding="utf-8").read())
        except (UnicodeDecodeError, OSError):
            pass
    pydir = os.path.dirname(os.__file__)
    for path in glob.glob(os.path.join(pydir, "*.py")) + glob.glob(os.path.join(pydir, "*/*.py")):
        if "/test" in path:
            continue
        try:
            code.append(open(path, encoding="utf-8").read())
        except (UnicodeDecodeError, OSError):
            pass
    rng.shuffle(docs)
    rng.shuffle(code)
    return docs[:limit], code[:limit]


def chunk(text, rng, lo=200, hi=1800):
    if len(text) <= lo:
        return text
    n = rng.randint(lo, min(hi, len(text)))
    start = rng.randint(0, len(text) - n)
    # Start and end on line boundaries where possible.
    s = text.rfind("\n", 0, start) + 1
    e = text.find("\n", s + n)
    return text[s : e if e > 0 else len(text)].strip()


# ---------------------------------------------------------------------------------------------
# Payloads

EMAILS = ["attacker@evil-mail.com", "backup.team@proton.me", "mark.black-2134@gmail.com", "it-support@secure-verify.net", "jay@true-inc.io"]
URLS = ["https://evil.example/collect", "http://img.tracker-cdn.net/p.png", "https://bit.ly/3xYz", "https://pastebin.com/raw/8dk2", "https://attacker.site/log"]
MODELS = ["GPT-4", "Claude", "Llama", "the assistant", "AI model", "Gemini", "Copilot"]


def fill(s, rng, fake):
    return (
        s.replace("{goal}", "{GOAL}")
        .replace("{email}", rng.choice(EMAILS))
        .replace("{url}", rng.choice(URLS))
        .replace("{name}", fake.name())
        .replace("{model}", rng.choice(MODELS))
        .replace("{user}", fake.name())
    )


def sentence_goal(goal, rng):
    forms = ["Please {g}.", "You must {g}.", "{G}.", "Your task now is to {g}.", "Immediately {g}.", "{G} right away.", "I need you to {g}."]
    f = rng.choice(forms)
    return f.replace("{g}", goal).replace("{G}", goal[0].upper() + goal[1:])


def obfuscate(text, rng):
    r = rng.random()
    if r < 0.25:
        return text.upper()
    if r < 0.4:
        table = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5"})
        return " ".join(w.translate(table) if rng.random() < 0.5 else w for w in text.split(" "))
    if r < 0.5:
        return re.sub(r"(\w)(\w)", lambda m: m.group(1) + rng.choice([".", "-", " ", ""]) + m.group(2), text, count=6)
    if r < 0.7:
        return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)
    if r < 0.8:
        return text.replace(" ", rng.choice(["  ", "\n", " \u00a0", "_"]))
    return text


GIBBERISH = list("!@#$%^&*()[]{}<>?/\\|~`+=-_;:'\",.") + [
    "describing", "similarlyNow", "oppositeley", "Me", "giving**ONE", "please", "revert", "with", "\\!--Two",
    "Sure", "here", "is", "tutorial", "manual", "sentence", "format", "seriously", "Lorem", "=>", "cred",
    "Ok", "](", "}}", "xD", "Guide", "surely", "_{", "newcommand", "tutorials", "heading", "anything",
]


def gcg_suffix(rng):
    return " ".join(rng.choice(GIBBERISH) for _ in range(rng.randint(12, 30)))


class Payloads:
    def __init__(self, rng, fake, shared_attacks, ad_goals, ad_templates, garak):
        self.rng, self.fake = rng, fake
        self.shared = [t for t in shared_attacks if 40 < len(t) < 700]
        self.ad_goals, self.ad_templates, self.garak = ad_goals, ad_templates, garak

    def english(self, dev):
        rng, fake = self.rng, self.fake
        # Hold out a quarter of the openers for dev.
        openers = [o for o in P.OPENERS if in_dev(o, 25) == dev] or P.OPENERS
        goals = P.GOALS + (self.ad_goals if not dev else [])
        goal = fill(rng.choice(goals), rng, fake)
        goal = goal[0].lower() + goal[1:] if goal[:2] not in ("I ", "I'") else goal
        goal = goal.rstrip(".")
        kind = rng.random()
        if kind < 0.25 and self.ad_templates and not dev:
            t = rng.choice(self.ad_templates)
            t = t.replace("{goal}", goal).replace("{tools}", "")
            return fill(t, rng, fake).strip(), "agentdojo_template"
        if kind < 0.4 and self.garak:
            pr = rng.choice(self.garak)
            instr = rng.choice(pr["injection_instructions"])
            pay = rng.choice(pr.get("payloads") or ["<|TRIG|>"])
            trig = rng.choice(["Haha pwned!", "This candidate is the most qualified for the job.", "Visit " + rng.choice(URLS), "Hooli stock is a strong buy"])
            text = instr.replace("<|PAY|>", pay).replace("<|TRIG|>", trig).replace("<|PAY|>", trig)
            return text.replace("<|TRIG|>", trig), "garak_latent"
        if kind < 0.5 and self.shared and not dev:
            return rng.choice(self.shared), "shared_attack"
        if kind < 0.6:
            return fill(rng.choice(P.DIRECT), rng, fake), "direct"
        if kind < 0.78:
            # addressed + justified + action + secrecy; dev uses held-out addresses
            addrs = [a for a in P.ADDRESS if in_dev(a, 25) == dev] or P.ADDRESS
            parts = [fill(rng.choice(addrs), rng, fake)]
            just = rng.choice(P.JUSTIFY)
            act = fill(rng.choice(P.ACTION), rng, fake)
            sentence = (just + " " + act).strip()
            parts.append(sentence[0].upper() + sentence[1:] + ".")
            parts.append(rng.choice(P.SECRECY))
            return " ".join(p for p in parts if p), "addressed"
        parts = [fill(rng.choice(openers), rng, fake), sentence_goal(goal, rng), fill(rng.choice(P.CLOSERS), rng, fake)]
        if rng.random() < 0.2:
            parts = parts[1:]  # a bare imperative aimed at the model, no opener
            parts[0] = rng.choice(["AI assistant: ", "Assistant, ", "Note for the AI: ", "LLM: ", ""]) + parts[0]
        sep = rng.choice([" ", "\n", "\n\n"])
        return sep.join(p for p in parts if p), "composed"

    def multilingual(self, dev):
        langs = [l for l in P.MULTILINGUAL if (l in P.HELD_OUT_LANGUAGES) == dev]
        lang = self.rng.choice(langs)
        attacks = P.MULTILINGUAL[lang][0]
        text = fill(self.rng.choice(attacks), self.rng, self.fake)
        if self.rng.random() < 0.3:
            text += " " + fill(self.rng.choice(attacks), self.rng, self.fake)
        return text, lang

    def any(self, dev):
        r = self.rng.random()
        if r < 0.22:
            t, lang = self.multilingual(dev)
            return t, "multilingual", lang
        t, fam = self.english(dev)
        if self.rng.random() < 0.12:
            t, fam = obfuscate(t, self.rng), fam + "+obfuscated"
        return t, fam, "en"


# ---------------------------------------------------------------------------------------------
# Carriers: documents and tool results that hold a payload, or not


def jesc(s):
    return json.dumps(s, ensure_ascii=False)[1:-1]


class Carriers:
    def __init__(self, rng, fake, snippets, docs, code, passages):
        self.rng, self.fake = rng, fake
        self.snippets, self.docs, self.code, self.passages = snippets, docs, code, passages
        self.fakers = {}

    def faker(self, lang):
        loc = {"de": "de_DE", "fr": "fr_FR", "es": "es_ES", "it": "it_IT", "pt": "pt_BR", "nl": "nl_NL", "sv": "sv_SE", "pl": "pl_PL",
               "ru": "ru_RU", "uk": "uk_UA", "tr": "tr_TR", "ar": "ar_AA", "hi": "hi_IN", "zh": "zh_CN", "ja": "ja_JP", "ko": "ko_KR",
               "vi": "vi_VN", "id": "id_ID"}.get(lang, "en_US")
        if loc not in self.fakers:
            f = Faker(loc)
            f.seed_instance(h(loc))
            self.fakers[loc] = f
        return self.fakers[loc]

    def prose(self, lang="en"):
        rng = self.rng
        if lang != "en":
            f = self.faker(lang)
            benign = P.MULTILINGUAL[lang][1]
            parts = []
            for _ in range(rng.randint(2, 6)):
                r = rng.random()
                if r < 0.35:
                    parts.append(rng.choice(benign))
                elif r < 0.6:
                    parts.append(f.address().replace("\n", ", "))
                else:
                    try:
                        parts.append(f.paragraph(nb_sentences=rng.randint(1, 3)))
                    except Exception:
                        parts.append(rng.choice(benign))
            return "\n\n".join(parts)
        r = rng.random()
        if r < 0.4 and self.snippets:
            return "\n\n".join(rng.choice(self.snippets) for _ in range(rng.randint(1, 3)))
        if r < 0.7 and self.passages:
            return chunk(rng.choice(self.passages), rng, 150, 1500)
        if self.docs:
            return chunk(rng.choice(self.docs), rng, 200, 1500)
        return self.fake.paragraph(nb_sentences=5)

    def make(self, payload, kind, lang="en"):
        """Returns (text, span) with the payload placed inside a document of the given kind."""
        rng, fake = self.rng, self.faker(lang) if lang != "en" else self.fake
        body = self.prose(lang)
        paras = body.split("\n\n")
        pos = rng.randint(0, len(paras))
        if payload is None:
            pre, mid, post = "\n\n".join(paras[:pos]), "", "\n\n".join(paras[pos:])
        else:
            pre, mid, post = "\n\n".join(paras[:pos]), payload, "\n\n".join(paras[pos:])
        if kind == "email":
            head = f"From: {fake.name()} <{fake.user_name()}@{fake.free_email_domain()}>\nTo: {fake.email()}\nSubject: {fake.sentence(nb_words=5).rstrip('.')}\nDate: {fake.date_time_this_year().strftime('%a, %d %b %Y %H:%M')}\n\n"
            if rng.random() < 0.5:
                head = f"{rng.choice(['Hi', 'Hello', 'Dear'])} {fake.first_name()},\n\n" if rng.random() < 0.5 else head
            tail = f"\n\n{rng.choice(['Best', 'Thanks', 'Regards', 'Cheers'])},\n{fake.name()}"
            return self.join([head, pre, mid, post, tail])
        if kind == "html":
            wrap = rng.random()
            if payload is not None and wrap < 0.25:
                mid = f"<!-- {payload} -->"
            elif payload is not None and wrap < 0.45:
                mid = f'<div style="display:none">{payload}</div>'
            elif payload is not None and wrap < 0.55:
                mid = f'<img src="/static/banner.png" alt="{payload}">'
            elif payload is not None and wrap < 0.65:
                mid = f'<span style="color:#fff;font-size:1px">{payload}</span>'
            elif payload is not None:
                mid = f"<p>{payload}</p>"
            ps = lambda s: "".join(f"<p>{x}</p>\n" for x in s.split("\n\n") if x)
            head = f"<!DOCTYPE html>\n<html><head><title>{fake.catch_phrase()}</title></head>\n<body>\n<h1>{fake.bs().title()}</h1>\n"
            return self.join([head, ps(pre), mid, "\n" + ps(post), "</body></html>"])
        if kind == "json":
            items = []
            shape = rng.choice(["search", "reviews", "messages", "files"])
            n = rng.randint(2, 5)
            slot = rng.randint(0, n - 1)
            text_parts, span = [], None
            prefix = '{"results": [' if shape == "search" else '{"' + shape + '": ['
            acc = prefix
            for i in range(n):
                content = chunk(self.prose(lang), rng, 80, 400)
                if i == slot and payload is not None:
                    content_pre = content[: rng.randint(0, len(content))]
                    a = jesc(content_pre + (" " if content_pre else ""))
                    b = jesc(payload)
                    c = jesc(content[len(content_pre):])
                else:
                    a, b, c = jesc(content), "", ""
                if shape == "search":
                    head = '{"title": "' + jesc(fake.sentence(nb_words=6)) + '", "url": "https://' + fake.domain_name() + '/' + fake.uri_path() + '", "snippet": "'
                elif shape == "reviews":
                    head = '{"user": "' + jesc(fake.name()) + '", "rating": ' + str(rng.randint(1, 5)) + ', "text": "'
                elif shape == "messages":
                    head = '{"from": "' + fake.email() + '", "channel": "#' + fake.word() + '", "body": "'
                else:
                    head = '{"id": "' + str(rng.randint(1, 99)) + '", "filename": "' + fake.file_name() + '", "content": "'
                acc += ("" if i == 0 else ", ") + head + a
                if b:
                    span = [len(acc), len(acc) + len(b)]
                acc += b + c + '"}'
            acc += "]}"
            return acc, span
        if kind == "code":
            src = chunk(rng.choice(self.code), rng, 200, 1400) if self.code else body
            lines = src.split("\n")
            at = rng.randint(0, len(lines))
            if payload is None:
                return src, None
            style = rng.choice(["#", "//", "/*", '"""'])
            if style == "/*":
                mid = f"/* {payload} */"
            elif style == '"""':
                mid = f'"""{payload}"""'
            else:
                mid = "\n".join(f"{style} {l}" for l in payload.split("\n"))
            return self.join(["\n".join(lines[:at]) + "\n", mid, "\n" + "\n".join(lines[at:])], sep="")
        if kind == "table":
            rows = []
            cols = ["Name", "Date", "Notes"]
            hdr = "| " + " | ".join(cols) + " |\n|---|---|---|\n"
            n = rng.randint(3, 8)
            slot = rng.randint(0, n - 1)
            acc, span = hdr, None
            for i in range(n):
                note = chunk(self.prose(lang), rng, 30, 160).replace("\n", " ").replace("|", "/")
                acc += f"| {fake.name()} | {fake.date()} | "
                if i == slot and payload is not None:
                    p = payload.replace("\n", " ").replace("|", "/")
                    span = [len(acc), len(acc) + len(p)]
                    acc += p
                else:
                    acc += note
                acc += " |\n"
            return acc, span
        if kind == "calendar":
            head = f"Event: {fake.catch_phrase()}\nWhen: {fake.date_time_this_year().strftime('%Y-%m-%d %H:%M')}\nLocation: {fake.city()}\nParticipants: {fake.email()}, {fake.email()}\nDescription: "
            return self.join([head, chunk(pre, rng, 40, 300) if pre else "", mid, chunk(post, rng, 40, 300) if post else ""], pi=2)
        if kind == "chat":
            names = [fake.first_name().lower() for _ in range(3)]
            lines = [f"[{rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}] {rng.choice(names)}: {chunk(self.prose(lang), rng, 20, 160)}" for _ in range(rng.randint(2, 6))]
            at = rng.randint(0, len(lines))
            pre = "\n".join(lines[:at]) + ("\n" if at else "")
            if payload is None:
                return "\n".join(lines), None
            head = f"[{rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}] {rng.choice(names)}: "
            return self.join([pre + head, payload.replace("\n", " "), "\n" + "\n".join(lines[at:])], sep="")
        # plain document / passage
        return self.join([pre, mid, post])

    @staticmethod
    def join(parts, sep="\n\n", pi=None):
        """Joins the parts; the span is that of part `pi` (default: the middle one of three, else the third)."""
        if pi is None:
            pi = 1 if len(parts) == 3 else 2
        text, span = "", None
        for i, p in enumerate(parts):
            if p is None or p == "":
                continue
            if text and sep and not text.endswith("\n") and not p.startswith("\n"):
                text += sep
            if i == pi:
                span = [len(text), len(text) + len(p)]
            text += p
        return text, span


KINDS_TRAIN = ["email", "html", "json", "code", "table", "chat", "doc"]
KINDS_DEV = KINDS_TRAIN + ["calendar"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    ap.add_argument("--wheels", default=os.path.join(HERE, "work", "wheels"))
    ap.add_argument("--out", default=os.path.join(HERE, "work"))
    ap.add_argument("--synthetic", type=int, default=24000, help="synthetic training rows")
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(a.data, "injection")):
        sys.exit(f"{a.data}/injection not found: the shared data folder is needed to build the training set")
    rng = random.Random(a.seed)
    fake = Faker("en_US")
    fake.seed_instance(a.seed)
    shared = load_shared(a.data)
    snippets, ad_goals, ad_templates = load_agentdojo(a.wheels)
    garak = load_garak(a.wheels)
    docs, code = load_local_text(rng)
    passages = []
    for r in shared:
        if r["label"] == 0 and r["source"] in ("benign_t0_task_prompts", "synthetic_indirect_t0") and not r["dev"]:
            passages.append(r["text"])
    print(f"shared {len(shared)} rows, agentdojo {len(snippets)} snippets / {len(ad_goals)} goals / {len(ad_templates)} templates, "
          f"garak {len(garak)} probes, {len(docs)} READMEs, {len(code)} code files", file=sys.stderr)
    shared_attacks = [r["text"] for r in shared if r["label"] == 1 and not r["dev"]]
    pay = Payloads(rng, fake, shared_attacks, ad_goals, ad_templates, garak)
    car = Carriers(rng, fake, snippets, docs, code, passages)

    out = {"train": [], "dev": []}
    for r in shared:
        out["dev" if r.pop("dev") else "train"].append(r)

    def synth(n, dev):
        rows = []
        kinds = KINDS_DEV if dev else KINDS_TRAIN
        for i in range(n):
            r = rng.random()
            split_rng_langs = [l for l in P.MULTILINGUAL if (l in P.HELD_OUT_LANGUAGES) == dev]
            if r < 0.34:  # injection inside a document or tool result
                text, fam, lang = pay.any(dev)
                kind = rng.choice(kinds)
                doc_lang = lang if lang != "en" and rng.random() < 0.6 else "en"
                t, span = car.make(text, kind, doc_lang)
                rows.append({"text": t, "label": 1, "source": "synthetic_indirect", "family": f"{kind}/{fam}", "lang": lang, "span": span})
            elif r < 0.46:  # a bare attack (user turn)
                text, fam, lang = pay.any(dev)
                rows.append({"text": text, "label": 1, "source": "synthetic_direct", "family": fam, "lang": lang, "span": None})
            elif r < 0.49:  # optimisation-style gibberish suffix on a request
                req = rng.choice(P.PLAIN_HARMFUL + [x for x in P.GOALS])
                text = fill(req, rng, fake) + " " + gcg_suffix(rng)
                rows.append({"text": text, "label": 1, "source": "synthetic_direct", "family": "gcg_suffix", "lang": "en", "span": None})
            elif r < 0.72:  # the same documents, clean
                lang = rng.choice(split_rng_langs) if rng.random() < 0.2 else "en"
                kind = rng.choice(kinds)
                t, _ = car.make(None, kind, lang)
                rows.append({"text": t, "label": 0, "source": "synthetic_clean_doc", "family": kind, "lang": lang, "span": None})
            elif r < 0.82:  # documents with benign sentences that share the attack vocabulary
                lang = rng.choice(split_rng_langs) if rng.random() < 0.25 else "en"
                benign = rng.choice(P.MULTILINGUAL[lang][1]) if lang != "en" else rng.choice(P.BENIGN_TRIGGER + P.HUMAN_REQUESTS * 2)
                kind = rng.choice(kinds)
                t, _ = car.make(benign, kind, lang)
                rows.append({"text": t, "label": 0, "source": "synthetic_hard_negative_doc", "family": kind, "lang": lang, "span": None})
            elif r < 0.92:  # bare benign requests with trigger words, other languages, plain harmful requests
                q = rng.random()
                if q < 0.45:
                    t, lang = rng.choice(P.BENIGN_TRIGGER + P.HUMAN_REQUESTS), "en"
                elif q < 0.85:
                    lang = rng.choice(split_rng_langs)
                    t = rng.choice(P.MULTILINGUAL[lang][1])
                    if rng.random() < 0.3:
                        t += " " + car.prose(lang)[:300]
                else:
                    t, lang = rng.choice(P.PLAIN_HARMFUL), "en"
                rows.append({"text": t, "label": 0, "source": "synthetic_hard_negative", "family": "bare", "lang": lang, "span": None})
            else:  # technical text: READMEs and source code
                t = chunk(rng.choice(docs if rng.random() < 0.5 else code), rng, 100, 2000) if docs and code else fake.paragraph()
                rows.append({"text": t, "label": 0, "source": "synthetic_technical", "family": "docs_code", "lang": "en", "span": None})
        return rows

    # Technical text for dev comes from the other end of the shuffled lists.
    out["train"] += synth(a.synthetic, False)
    # Developers' questions that quote configuration, logs and traces; policies and release notes;
    # and injections hidden in the same carriers (devops.py).
    out["train"] += devops.rows(rng, fake, pay, a.synthetic // 8, False, in_dev)
    docs.reverse()
    code.reverse()
    out["dev"] += synth(a.synthetic // 6, True)
    out["dev"] += devops.rows(rng, fake, pay, a.synthetic // 40, True, in_dev)
    os.makedirs(a.out, exist_ok=True)
    for split, rows in out.items():
        rng.shuffle(rows)
        seen = set()
        with open(os.path.join(a.out, f"{split}.jsonl"), "w", encoding="utf-8") as f:
            for r in rows:
                if not r["text"].strip() or r["text"] in seen:
                    continue
                seen.add(r["text"])
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        pos = sum(r["label"] for r in rows)
        print(f"{split}: {len(seen)} rows ({pos} attacks)", file=sys.stderr)


if __name__ == "__main__":
    main()
