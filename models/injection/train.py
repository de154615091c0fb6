#!/usr/bin/env python3
"""Fine-tune MiniLM-L6 (all-MiniLM-L6-v2) into palisade's injection classifier.

    python3 train.py --base BASE.safetensors --tokenizer tokenizer.json --train work/train.jsonl \
        --dev work/dev.jsonl --out work/run [--device cuda|cpu] [--epochs 3] [--max-steps N]

The encoder is a plain PyTorch BERT written here (no transformers import), so the graph written by
export_onnx.py computes exactly what was trained: token + position embeddings, 6 post-LayerNorm
layers, masked mean pooling, a linear head with two logits (benign, injection). The word-embedding
table is frozen at its int8-per-row quantized value, the value that ships; everything else is trained.

Documents are cut into windows of 128 tokens (stride 96), the unit the runtime scores. A window of
a document with an injected span is labelled an attack only when it holds most of the span, benign
when it holds none of it, and left out otherwise. On dev a document's score is the max over its
windows, as at run time. Writes `finetuned.safetensors` (fp16, all weights but the word embeddings)
and `metrics.json` (dev AUC, recall at 1% FPR, per source/family/language).
"""

import argparse
import json
import math
import os
import random
import re
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.numpy import load_file
from safetensors.torch import save_file
from tokenizers import Tokenizer

from arch import FF, H, HEADS, LAYERS, STRIDE, WINDOW, checkpoint_layers, pack_base, quantize_rows  # noqa: E402,F401


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(H, H) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(H, eps=1e-12), nn.LayerNorm(H, eps=1e-12)
        self.ff1, self.ff2 = nn.Linear(H, FF), nn.Linear(FF, H)
        self.drop = nn.Dropout(0.1)

    def forward(self, x, bias):
        b, n, _ = x.shape
        split = lambda t: t.view(b, n, HEADS, H // HEADS).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(H // HEADS) + bias
        att = self.drop(att.softmax(-1))
        ctx = (att @ v).transpose(1, 2).reshape(b, n, H)
        x = self.ln1(x + self.drop(self.o(ctx)))
        return self.ln2(x + self.drop(self.ff2(F.gelu(self.ff1(x)))))


class Classifier(nn.Module):
    def __init__(self, word, layers=LAYERS):
        super().__init__()
        self.register_buffer("word", torch.tensor(word))  # frozen
        self.pos = nn.Parameter(torch.zeros(512, H))
        self.typ = nn.Parameter(torch.zeros(2, H))
        self.ln = nn.LayerNorm(H, eps=1e-12)
        self.layers = nn.ModuleList(Layer() for _ in range(layers))
        self.head = nn.Linear(H, 2)
        self.drop = nn.Dropout(0.1)

    def forward(self, ids, mask):
        n = ids.shape[1]
        x = self.ln(self.word[ids] + self.pos[:n] + self.typ[0])
        bias = (1.0 - mask[:, None, None, :].float()) * -10000.0
        x = self.drop(x)
        for layer in self.layers:
            x = layer(x, bias)
        m = mask[:, :, None].float()
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return self.head(self.drop(pooled))


def load_base(model, w):
    sd = {"pos": w["embeddings.position_embeddings.weight"], "typ": w["embeddings.token_type_embeddings.weight"],
          "ln.weight": w["embeddings.LayerNorm.weight"], "ln.bias": w["embeddings.LayerNorm.bias"]}
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value", "o": "attention.output.dense",
             "ln1": "attention.output.LayerNorm", "ff1": "intermediate.dense", "ff2": "output.dense", "ln2": "output.LayerNorm"}
    for i in range(LAYERS):
        for ours, theirs in names.items():
            for p in ("weight", "bias"):
                sd[f"layers.{i}.{ours}.{p}"] = w[f"encoder.layer.{i}.{theirs}.{p}"]
    own = model.state_dict()
    for k, v in sd.items():
        own[k].copy_(torch.tensor(v.astype(np.float32)))


def pick_layers(teacher_layers, n):
    """Which teacher layers initialise an n-layer student: evenly spaced, the last one always."""
    return sorted({round(i * (teacher_layers - 1) / max(1, n - 1)) for i in range(n)} if n > 1 else {teacher_layers - 1})


def load_finetuned(model, w, pick=None):
    """Copies a fine-tuned checkpoint (finetuned.safetensors) into model, its layers `pick` into the
    student's layers 0.. (all of them when pick is None)."""
    own = model.state_dict()
    for k, v in w.items():
        m = re.match(r"layers\.(\d+)\.(.*)", k)
        if m:
            i = int(m.group(1))
            if pick is not None:
                if i not in pick:
                    continue
                i = pick.index(i)
            k = f"layers.{i}.{m.group(2)}"
        if k in own:
            own[k].copy_(torch.tensor(v.astype(np.float32)))


def windows(enc_ids, enc_offsets, cls, sep):
    """[(ids, char_start, char_end)] of 128-token windows with stride 96."""
    n = len(enc_ids)
    body = WINDOW - 2
    out, s = [], 0
    while True:
        e = min(s + body, n)
        ids = [cls] + enc_ids[s:e] + [sep]
        cs = enc_offsets[s][0] if s < n else 0
        ce = enc_offsets[e - 1][1] if e > s else 0
        out.append((ids, cs, ce))
        if e >= n:
            return out
        s += STRIDE


def encode_rows(tok, rows, cls, sep):
    encs = tok.encode_batch([r["text"] for r in rows], add_special_tokens=False)
    return [windows(e.ids, e.offsets, cls, sep) for e in encs]


def label_windows(row, wins, rng, cap_neg=4, cap_pos=3):
    out = []
    if row["label"] == 0:
        picks = wins if len(wins) <= cap_neg else rng.sample(wins, cap_neg)
        return [(w[0], 0) for w in picks]
    span = row.get("span")
    if not span:
        picks = wins[:cap_pos] + (rng.sample(wins[cap_pos:], 1) if len(wins) > cap_pos else [])
        return [(w[0], 1) for w in picks]
    a, b = span
    plen = max(1, b - a)
    negs = []
    for ids, cs, ce in wins:
        ov = max(0, min(b, ce) - max(a, cs))
        if ov >= 0.6 * plen or ov >= 300:
            out.append((ids, 1))
        elif ov == 0:
            negs.append((ids, 0))
    if negs:
        out += rng.sample(negs, min(len(negs), 2))
    return out


def batches(items, size, pad):
    for i in range(0, len(items), size):
        chunk = items[i : i + size]
        n = max(len(x[0]) for x in chunk)
        ids = torch.full((len(chunk), n), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), n), dtype=torch.long)
        for j, (x, _) in enumerate(chunk):
            ids[j, : len(x)] = torch.tensor(x)
            mask[j, : len(x)] = 1
        yield ids, mask, torch.tensor([y for _, y in chunk])


def auc(pos, neg):
    s = np.concatenate([pos, neg])
    r = s.argsort().argsort().astype(np.float64) + 1
    # ties: average ranks
    order = np.argsort(s)
    ranks = np.empty(len(s))
    i = 0
    ss = s[order]
    while i < len(s):
        j = i
        while j + 1 < len(s) and ss[j + 1] == ss[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    del r
    return (ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


@torch.no_grad()
def score_docs(model, wins_per_doc, device, pad, bs=256):
    flat = [(w[0], i) for i, ws in enumerate(wins_per_doc) for w in ws]
    flat.sort(key=lambda x: len(x[0]))
    scores = np.full(len(wins_per_doc), -1.0)
    model.eval()
    for i in range(0, len(flat), bs):
        chunk = flat[i : i + bs]
        ids, mask, _ = next(batches([(x, 0) for x, _ in chunk], bs, pad))
        p = model(ids.to(device), mask.to(device)).float().softmax(-1)[:, 1].cpu().numpy()
        for (x, d), s in zip(chunk, p):
            scores[d] = max(scores[d], s)
    return scores


def metrics(rows, scores):
    lab = np.array([r["label"] for r in rows])
    pos, neg = scores[lab == 1], scores[lab == 0]
    thr = float(np.quantile(neg, 0.99))
    thr01 = float(np.quantile(neg, 0.999))
    m = {"rows": len(rows), "attacks": int(lab.sum()), "auc": float(auc(pos, neg)),
         "threshold_at_1pct_fpr": thr, "recall_at_1pct_fpr": float((pos > thr).mean()),
         "recall_at_0.1pct_fpr": float((pos > thr01).mean()), "recall_at_0.5": float((pos > 0.5).mean()),
         "fpr_at_0.5": float((neg > 0.5).mean())}
    for key in ("source", "family", "lang"):
        groups = {}
        for r, s in zip(rows, scores):
            g = r[key] if key != "family" else r["family"].split("/")[0] + ("+obf" if "obfuscated" in r["family"] else "")
            groups.setdefault(g, []).append((r["label"], s))
        m["by_" + key] = {g: {"n": len(v), "label": "attack" if v[0][0] else "benign",
                              ("recall" if v[0][0] else "fpr"): float(np.mean([s > thr for _, s in v]))}
                          for g, v in sorted(groups.items()) if len({l for l, _ in v}) == 1}
        for g, v in sorted(groups.items()):
            if len({l for l, _ in v}) > 1:
                a = [s for l, s in v if l == 1]
                b = [s for l, s in v if l == 0]
                m["by_" + key][g] = {"n": len(v), "recall": float(np.mean([s > thr for s in a])), "fpr": float(np.mean([s > thr for s in b]))}
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="all-MiniLM-L6-v2 model.safetensors")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--train")
    ap.add_argument("--dev")
    ap.add_argument("--out")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--epochs", type=float, default=3.0)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (CPU budget)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--layers", type=int, default=LAYERS, help="encoder layers (fewer: a distilled screen model)")
    ap.add_argument("--init", help="start from this fine-tuned checkpoint (its evenly spaced layers when --layers is smaller)")
    ap.add_argument("--teacher", help="distil from this fine-tuned checkpoint: soft targets at temperature --temperature")
    ap.add_argument("--temperature", type=float, default=2.0)
    ap.add_argument("--alpha", type=float, default=0.7, help="weight of the distillation loss (the rest: the labels)")
    ap.add_argument("--pack", help="write the base weights packed (int8 word table, fp16 rest) here and exit")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    tok = Tokenizer.from_file(a.tokenizer)
    tok.no_truncation()
    tok.no_padding()
    cls, sep, pad = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]"), tok.token_to_id("[PAD]")
    w = load_file(a.base)
    if "embeddings.word_embeddings.q8" in w:  # packed by --pack
        q, scale = w.pop("embeddings.word_embeddings.q8"), w.pop("embeddings.word_embeddings.scale")
    else:
        q, scale = quantize_rows(w["embeddings.word_embeddings.weight"].astype(np.float32))
    if a.pack:
        pack_base(w, q, scale, a.pack)
        return
    os.makedirs(a.out, exist_ok=True)
    word = q.astype(np.float32) * scale
    model = Classifier(word, a.layers)
    if a.init:
        init = load_file(a.init)
        pick = pick_layers(checkpoint_layers(init), a.layers)
        print(f"student of {a.layers} layers from layers {pick} of {a.init}", flush=True)
        load_finetuned(model, init, pick)
    else:
        load_base(model, w)
    model.to(a.device)
    teacher = None
    if a.teacher:
        tw = load_file(a.teacher)
        teacher = Classifier(word, checkpoint_layers(tw))
        load_finetuned(teacher, tw)
        teacher.to(a.device).eval()
    load = lambda p: [json.loads(l) for l in open(p, encoding="utf-8")]
    train_rows, dev_rows = load(a.train), load(a.dev)
    t0 = time.time()
    items = []
    for row, wins in zip(train_rows, encode_rows(tok, train_rows, cls, sep)):
        items += label_windows(row, wins, rng)
    dev_wins = encode_rows(tok, dev_rows, cls, sep)
    npos = sum(y for _, y in items)
    print(f"{len(items)} training windows ({npos} attack) from {len(train_rows)} rows; tokenized in {time.time() - t0:.0f} s", flush=True)
    steps_per_epoch = math.ceil(len(items) / a.batch)
    total = int(steps_per_epoch * a.epochs)
    if a.max_steps:
        total = min(total, a.max_steps)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": [p for n, p in model.named_parameters() if not n.startswith("head")], "lr": a.lr},
                             {"params": model.head.parameters(), "lr": a.lr * 20}], weight_decay=0.01)
    warm = max(1, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)))
    # Class weights balance attacks and benign windows.
    cw = torch.tensor([len(items) / (2 * (len(items) - npos)), len(items) / (2 * npos)], device=a.device)
    step, t0 = 0, time.time()
    use_amp = a.device.startswith("cuda")
    while step < total:
        rng.shuffle(items)
        # Similar lengths per batch: sort within buckets of 50 batches.
        buckets = [sorted(items[i : i + a.batch * 50], key=lambda x: len(x[0])) for i in range(0, len(items), a.batch * 50)]
        bl = [list(batches(b, a.batch, pad)) for b in buckets]
        flat = [x for b in bl for x in b]
        rng.shuffle(flat)
        model.train()
        for ids, mask, y in flat:
            if step >= total:
                break
            ids, mask = ids.to(a.device), mask.to(a.device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                logits = model(ids, mask)
            loss = F.cross_entropy(logits.float(), y.to(a.device), weight=cw, label_smoothing=0.05)
            if teacher is not None:
                with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                    soft = (teacher(ids, mask).float() / a.temperature).softmax(-1)
                kd = F.kl_div((logits.float() / a.temperature).log_softmax(-1), soft, reduction="batchmean") * a.temperature**2
                loss = a.alpha * kd + (1 - a.alpha) * loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            if step % 100 == 0 or step == total:
                print(f"step {step}/{total} loss {loss.item():.4f} {time.time() - t0:.0f} s", flush=True)
    train_s = time.time() - t0
    # Round trainable weights to fp16, as shipped, before measuring.
    sd = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model.state_dict().items() if k != "word"}
    save_file(sd, os.path.join(a.out, "finetuned.safetensors"))
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if k != "word":
                v.copy_(sd[k].float())
    scores = score_docs(model, dev_wins, a.device, pad)
    m = metrics(dev_rows, scores)
    m.update({"train_windows": len(items), "steps": step, "batch": a.batch, "train_seconds": round(train_s), "device": a.device,
              "epochs": round(step / steps_per_epoch, 2)})
    json.dump(m, open(os.path.join(a.out, "metrics.json"), "w"), indent=1)
    np.save(os.path.join(a.out, "dev_scores.npy"), scores)
    if teacher is not None:
        np.save(os.path.join(a.out, "teacher_dev_scores.npy"), score_docs(teacher, dev_wins, a.device, pad))
    print(json.dumps({k: v for k, v in m.items() if not k.startswith("by_")}, indent=1))
    print(json.dumps(m["by_source"], indent=1))
    print(json.dumps(m["by_lang"]))
    print(json.dumps(m["by_family"]))


if __name__ == "__main__":
    main()
