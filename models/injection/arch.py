"""The classifier's shapes and the torch-free helpers shared by train.py and export_onnx.py (so the
export runs with numpy, safetensors and onnx alone)."""

import numpy as np

WINDOW, STRIDE = 128, 96
H, HEADS, LAYERS, FF = 384, 12, 6, 1536


def quantize_rows(table):
    """Symmetric int8 per row: what the shipped graph stores for the word embeddings."""
    scale = np.abs(table).max(axis=1, keepdims=True) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.round(table / scale), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def checkpoint_layers(w):
    return 1 + max(int(k.split(".")[1]) for k in w if k.startswith("layers."))


def pack_base(w, q, scale, out):
    """Writes the base weights in 34 MB instead of 90: the int8 word table (its shipped value) and
    fp16 for the rest, for sending to a training machine; fine-tuning starts from the fp16-rounded
    weights."""
    from safetensors.numpy import save_file

    packed = {k: v.astype(np.float16) for k, v in w.items() if v.dtype == np.float32 and "word_embeddings" not in k}
    packed["embeddings.word_embeddings.q8"], packed["embeddings.word_embeddings.scale"] = q, scale
    save_file(packed, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    # python3 arch.py BASE.safetensors OUT.safetensors: pack the base without torch.
    import sys

    from safetensors.numpy import load_file

    base = load_file(sys.argv[1])
    pack_base(base, *quantize_rows(base["embeddings.word_embeddings.weight"].astype(np.float32)), sys.argv[2])
