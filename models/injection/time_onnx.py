#!/usr/bin/env python3
"""Median latency of the shipped ONNX files under ONNX Runtime (Python), one thread, one input of
16 and 128 tokens: a quick check of a machine's CPU against the Rust benchmark
(`cargo bench --bench classifier`), which is the reference.

    python3 time_onnx.py [MODEL_DIR]
"""

import os
import platform
import sys
import time

import numpy as np
import onnxruntime as ort

d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
cpu = "?"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    flags = open("/proc/cpuinfo").read()
    isa = [f for f in ("avx512_vnni", "avx_vnni", "avx512f", "amx_int8", "avx2") if f in flags]
except OSError:
    isa = []
print(f"{platform.machine()} {cpu}; {' '.join(isa)}; onnxruntime {ort.__version__}")
so = ort.SessionOptions()
so.intra_op_num_threads = 1
so.inter_op_num_threads = 1
for name in ("model.int8.onnx", "model.onnx"):
    s = ort.InferenceSession(os.path.join(d, name), so, providers=["CPUExecutionProvider"])
    for n in (16, 128):
        ids = np.full((1, n), 7592, dtype=np.int64)
        ids[0, 0], ids[0, -1] = 101, 102
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        for _ in range(10):
            s.run(None, feed)
        t = []
        for _ in range(100):
            t0 = time.perf_counter()
            s.run(None, feed)
            t.append(time.perf_counter() - t0)
        print(f"{name} {n} tokens: median {np.median(t) * 1000:.2f} ms")
