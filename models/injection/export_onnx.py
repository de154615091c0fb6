#!/usr/bin/env python3
"""Write the trained classifier as ONNX: `model.onnx` (fp32 compute, for tract and ONNX Runtime) and
`model.int8.onnx` (dynamic int8 matmuls, for ONNX Runtime), then the manifest's hashes.

    python3 export_onnx.py --base BASE.safetensors --finetuned work/run/finetuned.safetensors --out .

The graph is written by hand with the `onnx` package (no torch exporter: its BERT graphs use ops
tract cannot load). It computes exactly train.py's Classifier in eval mode. Inputs are those of a
Hugging Face sequence classifier (`input_ids`, `attention_mask`, `token_type_ids`, int64 [batch, seq]);
the output is `logits` [batch, 2] (benign, injection). To keep the files small the word-embedding table
is stored as int8 per row with a scale (its value during training too) and, in model.onnx, the other
weights as fp16 cast to fp32 when the graph loads; arithmetic is fp32 throughout.
"""

import argparse
import hashlib
import os
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arch import FF, H, HEADS, checkpoint_layers, quantize_rows  # noqa: E402

OPSET = 20


class G:
    def __init__(self, fp16):
        self.nodes, self.inits, self.n, self.fp16 = [], [], 0, fp16

    def name(self, p):
        self.n += 1
        return f"{p}_{self.n}"

    def const(self, arr, name=None, weight=False):
        name = name or self.name("c")
        if weight and self.fp16 and arr.dtype == np.float32:
            raw = name + "_f16"
            self.inits.append(numpy_helper.from_array(arr.astype(np.float16), raw))
            self.nodes.append(helper.make_node("Cast", [raw], [name], to=TensorProto.FLOAT))
        else:
            self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op, inputs, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def linear(self, x, w, b):
        # torch Linear: y = x W^T + b
        return self.op("Add", [self.op("MatMul", [x, self.const(np.ascontiguousarray(w.T), weight=True)]), self.const(b, weight=True)])

    def layernorm(self, x, g, b, eps=1e-12):
        return self.op("LayerNormalization", [x, self.const(g, weight=True), self.const(b, weight=True)], axis=-1, epsilon=eps)


def build(base, ft, fp16, fused=False):
    g = G(fp16)
    q, scale = quantize_rows(base["embeddings.word_embeddings.weight"].astype(np.float32))
    f = {k: v.astype(np.float32) for k, v in ft.items()}
    ids, mask, types = "input_ids", "attention_mask", "token_type_ids"
    # Embeddings: int8 row * scale (gathered), + position, + token type, LayerNorm.
    word = g.op("Mul", [g.op("Cast", [g.op("Gather", [g.const(q, "word_q8"), ids], axis=0)], to=TensorProto.FLOAT),
                        g.op("Gather", [g.const(scale, "word_scale"), ids], axis=0)])
    seq = g.op("Slice", [g.op("Shape", [ids]), g.const(np.array([1], np.int64)), g.const(np.array([2], np.int64))])
    pos = g.op("Slice", [g.const(f["pos"], weight=True), g.const(np.array([0], np.int64)), seq, g.const(np.array([0], np.int64))])
    typ = g.op("Gather", [g.const(f["typ"], weight=True), types], axis=0)
    x = g.layernorm(g.op("Add", [g.op("Add", [word, pos]), typ]), f["ln.weight"], f["ln.bias"])
    # Attention bias from the mask: 0 where attended, -10000 where padded.
    mf = g.op("Cast", [mask], to=TensorProto.FLOAT)
    bias = g.op("Mul", [g.op("Sub", [g.const(np.array(1.0, np.float32)), mf]), g.const(np.array(-10000.0, np.float32))])
    bias = g.op("Unsqueeze", [bias, g.const(np.array([1, 2], np.int64))])
    dh = H // HEADS
    heads_shape = g.const(np.array([0, 0, HEADS, dh], np.int64))
    merge_shape = g.const(np.array([0, 0, H], np.int64))
    inv = g.const(np.array(1.0 / np.sqrt(dh), np.float32))
    mask_i32 = g.op("Cast", [mask], to=TensorProto.INT32)
    for i in range(checkpoint_layers(ft)):
        p = f"layers.{i}."
        if fused:
            # ONNX Runtime's contrib Attention (packed QKV), which its quantizer turns into QAttention.
            wqkv = np.concatenate([f[p + n + ".weight"].T for n in "qkv"], axis=1)
            bqkv = np.concatenate([f[p + n + ".bias"] for n in "qkv"])
            ctx = g.op("Attention", [x, g.const(np.ascontiguousarray(wqkv)), g.const(bqkv), mask_i32], domain="com.microsoft", num_heads=HEADS)
        else:
            qh = g.op("Transpose", [g.op("Reshape", [g.linear(x, f[p + "q.weight"], f[p + "q.bias"]), heads_shape])], perm=[0, 2, 1, 3])
            kh = g.op("Transpose", [g.op("Reshape", [g.linear(x, f[p + "k.weight"], f[p + "k.bias"]), heads_shape])], perm=[0, 2, 3, 1])
            vh = g.op("Transpose", [g.op("Reshape", [g.linear(x, f[p + "v.weight"], f[p + "v.bias"]), heads_shape])], perm=[0, 2, 1, 3])
            att = g.op("Softmax", [g.op("Add", [g.op("Mul", [g.op("MatMul", [qh, kh]), inv]), bias])], axis=-1)
            ctx = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [att, vh])], perm=[0, 2, 1, 3]), merge_shape])
        x = g.layernorm(g.op("Add", [x, g.linear(ctx, f[p + "o.weight"], f[p + "o.bias"])]), f[p + "ln1.weight"], f[p + "ln1.bias"])
        hmid = g.linear(x, f[p + "ff1.weight"], f[p + "ff1.bias"])
        gelu = g.op("Gelu", [hmid])
        x = g.layernorm(g.op("Add", [x, g.linear(gelu, f[p + "ff2.weight"], f[p + "ff2.bias"])]), f[p + "ln2.weight"], f[p + "ln2.bias"])
    # Masked mean pooling, then the head.
    m3 = g.op("Unsqueeze", [mf, g.const(np.array([2], np.int64))])
    axis1 = g.const(np.array([1], np.int64))
    summed = g.op("ReduceSum", [g.op("Mul", [x, m3]), axis1], keepdims=0)
    count = g.op("Max", [g.op("ReduceSum", [m3, axis1], keepdims=0), g.const(np.array(1e-9, np.float32))])
    pooled = g.op("Div", [summed, count])
    logits = g.linear(pooled, f["head.weight"], f["head.bias"])
    g.nodes.append(helper.make_node("Identity", [logits], ["logits"]))
    dyn = lambda n: helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
    graph = helper.make_graph(g.nodes, "palisade_injection", [dyn(ids), dyn(mask), dyn(types)],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])], g.inits)
    opsets = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid("com.microsoft", 1)] if fused else [])
    model = helper.make_model(graph, opset_imports=opsets, producer_name="palisade/models/injection/export_onnx.py")
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--finetuned", required=True)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--name", default="model", help="file stem: model (the classifier) or screen (the distilled screen)")
    a = ap.parse_args()
    base, ft = load_file(a.base), load_file(a.finetuned)
    fp32_path = os.path.join(a.out, "work", f"{a.name}.fp32.onnx")
    os.makedirs(os.path.dirname(fp32_path), exist_ok=True)
    onnx.save(build(base, ft, fp16=True), os.path.join(a.out, f"{a.name}.onnx"))
    # The int8 model is for ONNX Runtime alone: its contrib Attention, then its transformer fusions
    # (SkipLayerNormalization, BiasGelu), then dynamic int8 quantization (QAttention, MatMulInteger).
    onnx.save(build(base, ft, fp16=False, fused=True), fp32_path)
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    fused_path = fp32_path.replace(".onnx", ".fused.onnx")
    optimizer.optimize_model(fp32_path, model_type="bert", num_heads=HEADS, hidden_size=H, opt_level=1).save_model_to_file(fused_path)
    quantize_dynamic(fused_path, os.path.join(a.out, f"{a.name}.int8.onnx"), weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": TensorProto.FLOAT})
    manifest = os.path.join(a.out, "manifest.toml")
    text = open(manifest, encoding="utf-8").read() if os.path.exists(manifest) else None
    for n in (f"{a.name}.onnx", f"{a.name}.int8.onnx", "tokenizer.json"):
        p = os.path.join(a.out, n)
        if os.path.exists(p):
            digest = sha256(p)
            print(f"{n}\t{os.path.getsize(p)} bytes\tsha256 {digest}")
            if text is not None:
                # The sha256 that follows `file = "<n>"` in the manifest.
                text = re.sub(r'(file = "' + re.escape(n) + r'"[^\n]*?(?:\n)?\s*sha256 = ")[0-9a-f]*(")', r"\g<1>" + digest + r"\g<2>", text)
    if text is not None:
        open(manifest, "w", encoding="utf-8").write(text)
        print(f"updated the hashes in {manifest}")


if __name__ == "__main__":
    main()
