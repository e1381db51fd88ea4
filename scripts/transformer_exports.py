#!/usr/bin/python3
"""Transformer encoders as torch exports them: the models behind mixq's import checks.

Two families of BERT-style encoders, with seeded random weights (every
all-zero parameter, such as attention biases, gets small random values and
LayerNorm scales are perturbed, so that no comparison is vacuous):

  encoder  token + position embeddings (`torch.arange` positions: Range),
           torch's nn.TransformerEncoder (batch_first True or False,
           norm_first True or False, relu or gelu) with a padding mask
           (src_key_padding_mask from attention_mask == 0), a float causal
           attention mask (-inf above the diagonal), both, or none
  bert     a hand-written BERT: token + position + token-type embeddings,
           Q/K/V as separate Linears reshaped and transposed to heads,
           scores / sqrt(d) + (1 - mask) * -10000, Softmax, GELU (F.gelu
           exact or tanh, or written out), LayerNorm as nn.LayerNorm or
           written out as mean / var / sqrt, a tanh pooler and a classifier

Inputs are token ids and attention masks (int64 or int32, dynamic batch and
sequence); two or three graph inputs (token_type_ids). Outputs are
`logits` [N, classes] and `hidden` [N, S, d].

  /usr/bin/python3 scripts/transformer_exports.py sweep [--out /tmp/tx] [--opsets 13,14,15,16,17]
        [--only a,b] [--mixq build/bin/mixq] [--max-isa avx2]
      exports every variant at every opset and compares `mixq infer` with
      ONNX Runtime (scripts/ort_infer.js) and torch at two sequence lengths
      (dynamic shapes) and at --input-shape NAME:1x128 (fixed); prints a
      Markdown table, exits 1 if any comparison is over 1e-3 relative
  /usr/bin/python3 scripts/transformer_exports.py testdata [--out tests/data/transformer]
      writes the tiny exports, inputs and torch outputs that
      tests/engine/transformer_exports_test.cc runs (tests/README.md)

scripts/model_zoo imports build() and make_inputs() for its transformer
family. Needs torch (Debian: scripts/setup --train) to export; the sweep
also needs onnxruntime-node (scripts/setup --peers).
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> variant. Sizes: "small" (d 64, 4 heads, 2 layers) for the sweep,
# "tiny" (d 32, 2 heads) for tests/data, "zoo" (d 256, 4 heads, 4 layers) for
# scripts/model_zoo.
VARIANTS = {
    # nn.TransformerEncoder
    "enc_pad_relu": dict(kind="encoder", batch_first=True, norm_first=False, activation="relu",
                         mask="padding"),
    "enc_prenorm_pad_gelu": dict(kind="encoder", batch_first=True, norm_first=True,
                                 activation="gelu", mask="padding"),
    "enc_seqfirst_nomask_gelu": dict(kind="encoder", batch_first=False, norm_first=False,
                                     activation="gelu", mask="none"),
    "enc_seqfirst_prenorm_causal_relu": dict(kind="encoder", batch_first=False, norm_first=True,
                                             activation="relu", mask="causal"),
    "enc_causal_pad_gelu_i32": dict(kind="encoder", batch_first=True, norm_first=False,
                                    activation="gelu", mask="causal+padding", dtype="int32"),
    # hand-written BERT
    "bert_erf_layernorm": dict(kind="bert", gelu="erf", layer_norm="module", token_types=False),
    "bert_tanh_written_decomposed": dict(kind="bert", gelu="tanh_written", layer_norm="written",
                                         token_types=True),
    "bert_erf_written_decomposed_i32": dict(kind="bert", gelu="erf_written", layer_norm="written",
                                            token_types=True, dtype="int32"),
    "bert_tanh_layernorm_i32": dict(kind="bert", gelu="tanh", layer_norm="module",
                                    token_types=False, dtype="int32"),
    # as newer BERT code writes it: position ids sliced from a buffer, the
    # mask as finfo.min or masked_fill, LayerNorm with rsqrt, the "fast"
    # tanh GELU, the last token pooled
    "bert_buffer_finfo_rsqrt_fast": dict(kind="bert", gelu="tanh_fast", layer_norm="rsqrt",
                                         token_types=True, positions="buffer", mask_add="finfo",
                                         pool="last"),
    "bert_masked_fill_var": dict(kind="bert", gelu="erf", layer_norm="var", token_types=False,
                                 mask_add="masked_fill"),
}

SIZES = {
    "small": dict(vocab=1000, d=64, heads=4, layers=2, ff=128, max_seq=128, classes=3),
    "tiny": dict(vocab=50, d=32, heads=2, layers=1, ff=64, max_seq=16, classes=3),
    # scripts/model_zoo: BERT-mini-like, so that its timings mean something
    "zoo": dict(vocab=8000, d=256, heads=4, layers=4, ff=1024, max_seq=128, classes=3),
}

# The committed test exports: name -> (variant, opset, layers, batch, seq).
TESTDATA = {
    "encoder_pad_o13": ("enc_prenorm_pad_gelu", 13, 2, 2, 12),
    "bert_decomposed_o13": ("bert_tanh_written_decomposed", 13, 1, 2, 10),
    "bert_layernorm_o17": ("bert_erf_layernorm", 17, 2, 2, 16),
}


def log(message):
    print(message, file=sys.stderr, flush=True)


def input_names(variant):
    if variant["kind"] == "encoder":
        return ["input_ids"] + (["attention_mask"] if "padding" in variant["mask"] else [])
    return ["input_ids", "attention_mask"] + (["token_type_ids"] if variant["token_types"] else [])


def build(name, size="small", seed=0, layers=None):
    """The torch module of variant `name`, eval mode, seeded weights."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    variant = VARIANTS[name]
    dims = dict(SIZES[size])
    if layers is not None:
        dims["layers"] = layers
    torch.manual_seed(seed)
    d, heads = dims["d"], dims["heads"]

    def layer_norm():
        if variant.get("layer_norm", "module") == "module":
            return nn.LayerNorm(d, eps=1e-12 if variant["kind"] == "bert" else 1e-5)
        return WrittenLayerNorm(d)

    class WrittenLayerNorm(nn.Module):
        """LayerNorm as older BERT code writes it (mean, variance, sqrt)."""

        def __init__(self, width, eps=1e-12):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(width))
            self.bias = nn.Parameter(torch.zeros(width))
            self.eps = eps

        def forward(self, x):
            u = x.mean(-1, keepdim=True)
            if variant["layer_norm"] == "var":
                s = x.var(-1, keepdim=True, unbiased=False)
            else:
                s = (x - u).pow(2).mean(-1, keepdim=True)
            if variant["layer_norm"] == "rsqrt":
                x = (x - u) * torch.rsqrt(s + self.eps)
            else:
                x = (x - u) / torch.sqrt(s + self.eps)
            return self.weight * x + self.bias

    def gelu(x):
        form = variant["gelu"]
        if form == "erf":
            return F.gelu(x)
        if form == "tanh":
            return F.gelu(x, approximate="tanh")
        if form == "erf_written":
            return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
        if form == "tanh_fast":
            return 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
            self.o = nn.Linear(d, d)
            self.ln1, self.ln2 = layer_norm(), layer_norm()
            self.f1, self.f2 = nn.Linear(d, dims["ff"]), nn.Linear(dims["ff"], d)

        def heads(self, t):
            n, s = t.size(0), t.size(1)
            return t.view(n, s, heads, d // heads).transpose(1, 2)

        def forward(self, x, mask_add):
            q, k, v = self.heads(self.q(x)), self.heads(self.k(x)), self.heads(self.v(x))
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d // heads)
            if mask_add.dtype == torch.bool:
                scores = scores.masked_fill(mask_add, float("-inf"))
            else:
                scores = scores + mask_add
            ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
            ctx = ctx.transpose(1, 2).contiguous().view(x.size(0), x.size(1), d)
            x = self.ln1(x + self.o(ctx))
            return self.ln2(x + self.f2(gelu(self.f1(x))))

    class Bert(nn.Module):
        def __init__(self):
            super().__init__()
            self.word = nn.Embedding(dims["vocab"], d)
            self.position = nn.Embedding(dims["max_seq"], d)
            self.token_type = nn.Embedding(2, d) if variant["token_types"] else None
            self.emb_ln = layer_norm()
            self.blocks = nn.ModuleList([Block() for _ in range(dims["layers"])])
            self.pool = nn.Linear(d, d)
            self.cls = nn.Linear(d, dims["classes"])
            self.register_buffer("position_ids", torch.arange(dims["max_seq"]).unsqueeze(0))

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            if variant.get("positions") == "buffer":
                positions = self.position_ids[:, :input_ids.size(1)]
            else:
                positions = torch.arange(input_ids.size(1), dtype=torch.long).unsqueeze(0)
            x = self.word(input_ids) + self.position(positions.expand(input_ids.size(0), -1))
            if self.token_type is not None:
                x = x + self.token_type(token_type_ids)
            x = self.emb_ln(x)
            mask = attention_mask[:, None, None, :]
            style = variant.get("mask_add", "scaled")
            if style == "masked_fill":
                mask_add = mask == 0
            elif style == "finfo":
                mask_add = (1.0 - mask.to(torch.float32)) * torch.finfo(torch.float32).min
            else:
                mask_add = (1.0 - mask.to(torch.float32)) * -10000.0
            for block in self.blocks:
                x = block(x, mask_add)
            pooled = x[:, -1] if variant.get("pool") == "last" else x[:, 0]
            return self.cls(torch.tanh(self.pool(pooled))), x

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.word = nn.Embedding(dims["vocab"], d)
            self.position = nn.Embedding(dims["max_seq"], d)
            layer = nn.TransformerEncoderLayer(d, heads, dims["ff"], dropout=0.0,
                                               activation=variant["activation"],
                                               batch_first=variant["batch_first"],
                                               norm_first=variant["norm_first"])
            final = nn.LayerNorm(d) if variant["norm_first"] else None
            self.encoder = nn.TransformerEncoder(layer, dims["layers"], norm=final,
                                                 enable_nested_tensor=False)
            self.cls = nn.Linear(d, dims["classes"])

        def forward(self, input_ids, attention_mask=None):
            s = input_ids.size(1)
            positions = torch.arange(s)
            x = self.word(input_ids) + self.position(positions).unsqueeze(0)
            kwargs = {}
            if "causal" in variant["mask"]:
                upper = positions.unsqueeze(0) > positions.unsqueeze(1)
                kwargs["mask"] = torch.zeros(s, s).masked_fill(upper, float("-inf"))
            if "padding" in variant["mask"]:
                kwargs["src_key_padding_mask"] = attention_mask == 0
            if not variant["batch_first"]:
                x = x.transpose(0, 1)
            x = self.encoder(x, **kwargs)
            if not variant["batch_first"]:
                x = x.transpose(0, 1)
            return self.cls(x.mean(1)), x

    net = Bert() if variant["kind"] == "bert" else Encoder()
    with torch.no_grad():
        for p in net.parameters():
            if not torch.any(p):
                p.normal_(0.0, 0.05)
            elif torch.all(p == 1):
                p.add_(torch.randn_like(p) * 0.1)
    return net.eval()


def make_inputs(name, batch, seq, seed=0, size="small"):
    """name -> array for variant `name`'s inputs: random token ids, masks
    that pad the tail of every row but the first (at least one token kept),
    token types 0 then 1."""
    variant = VARIANTS[name]
    dtype = np.int32 if variant.get("dtype") == "int32" else np.int64
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, SIZES[size]["vocab"], (batch, seq))
    mask = np.ones((batch, seq))
    for row in range(1, batch):
        mask[row, max(1, seq - (row * seq) // (batch + 1)):] = 0
    types = np.zeros((batch, seq))
    types[:, seq // 2:] = 1
    values = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {n: values[n].astype(dtype) for n in input_names(variant)}


def export(net, name, path, opset, batch=2, seq=16, size="small"):
    """Exports with dynamic batch and sequence; returns the example inputs."""
    import torch

    inputs = make_inputs(name, batch, seq, size=size)
    names = list(inputs)
    dynamic = {n: {0: "batch", 1: "sequence"} for n in names}
    dynamic["logits"] = {0: "batch"}
    dynamic["hidden"] = {0: "batch", 1: "sequence"}
    # Exported with gradients on: torch's fused attention fast path (not
    # exportable) only runs without them.
    torch.onnx.export(net, tuple(torch.from_numpy(inputs[n]) for n in names), path,
                      input_names=names, output_names=["logits", "hidden"],
                      dynamic_axes=dynamic, opset_version=opset, do_constant_folding=True)
    return inputs


def torch_outputs(net, inputs):
    import torch

    with torch.no_grad():
        out = net(*[torch.from_numpy(v) for v in inputs.values()])
    return [o.numpy() for o in out]


def relative_error(got, want):
    if got.shape != want.shape:
        return float("inf")
    scale = float(np.max(np.abs(want)))
    diff = float(np.max(np.abs(got.astype(np.float64) - want)))
    return diff / scale if scale > 0 else diff


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    return proc.returncode == 0, proc.stdout, (lines[-1] if lines else f"exit {proc.returncode}")


def read_outputs(listing):
    return [np.load(o["file"]) for o in json.loads(listing)["outputs"]]


def compare(args, model, inputs, reference, work, tag, extra=()):
    """Max relative error of ORT and `mixq infer` against `reference` (torch's
    outputs) and of mixq against ORT, or an error string."""
    files = []
    for n, v in inputs.items():
        files += ["--input", f"{n}={os.path.join(work, tag + '.' + n + '.npy')}"]
        np.save(os.path.join(work, tag + "." + n + ".npy"), v)
    ok, out, err = run(["node", os.path.join(ROOT, "scripts", "ort_infer.js"), "--model", model,
                        "-o", os.path.join(work, tag + ".ort")] + files)
    if not ok:
        return {"error": "ORT: " + err}
    ort = read_outputs(out)
    isa = ["--max-isa", args.max_isa] if args.max_isa else []
    ok, out, err = run([args.mixq, "infer", "--model", model, "-o", os.path.join(work, tag + ".mixq"),
                        "--json"] + files + list(extra) + isa)
    if not ok:
        return {"error": "mixq: " + err}
    mixq = read_outputs(out)
    return {"mixq_vs_ort": max(relative_error(g, w) for g, w in zip(mixq, ort)),
            "mixq_vs_torch": max(relative_error(g, w) for g, w in zip(mixq, reference)),
            "ort_vs_torch": max(relative_error(g, w) for g, w in zip(ort, reference))}


def sweep(args):
    import onnx

    names = [n for n in args.only.split(",") if n] or list(VARIANTS)
    opsets = [int(o) for o in args.opsets.split(",")]
    os.makedirs(args.out, exist_ok=True)
    rows, failures = [], 0
    print("| variant | opset | inputs | graph ops of note | seq 128, batch 2: vs ORT | vs torch "
          "| seq 41, batch 3: vs ORT | vs torch | fixed 1x128: vs ORT | result |")
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name in names:
        net = build(name)
        for opset in opsets:
            model = os.path.join(args.out, f"{name}.o{opset}.onnx")
            export(net, name, model, opset)
            ops = sorted({n.op_type for n in onnx.load(model).graph.node})
            notable = [o for o in ("Range", "Gather", "Erf", "Tanh", "Pow", "ReduceMean",
                                   "LayerNormalization", "Where", "Softmax") if o in ops]
            work = tempfile.mkdtemp(prefix="tx-")
            try:
                results = {}
                for tag, batch, seq in (("s128", 2, 128), ("s41", 3, 41), ("fixed", 1, 128)):
                    inputs = make_inputs(name, batch, seq, seed=opset + seq)
                    reference = torch_outputs(net, inputs)
                    extra = []
                    if tag == "fixed":
                        for n in inputs:
                            extra += ["--input-shape", f"{n}:1x128"]
                    results[tag] = compare(args, model, inputs, reference, work, tag, extra)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            cells, passed = [], True
            for tag in ("s128", "s41", "fixed"):
                r = results[tag]
                if "error" in r:
                    passed = False
                    cells += ["error"] if tag == "fixed" else ["error", "error"]
                    continue
                # ORT is the reference; where it is itself off torch, torch is.
                good = r["mixq_vs_ort"] <= 1e-3 or (r["ort_vs_torch"] > 1e-3 and
                                                    r["mixq_vs_torch"] <= 1e-3)
                passed = passed and good
                cells.append(f"{r['mixq_vs_ort']:.1e}")
                if tag != "fixed":
                    cells.append(f"{r['mixq_vs_torch']:.1e}")
            errors = "; ".join(f"{t}: {r['error']}" for t, r in results.items() if "error" in r)
            failures += 0 if passed else 1
            dtype = VARIANTS[name].get("dtype", "int64")
            print(f"| {name} | {opset} | {len(input_names(VARIANTS[name]))} x {dtype} | "
                  f"{', '.join(notable)} | {' | '.join(cells)} | "
                  f"{'ok' if passed else 'FAIL'}{': ' + errors if errors else ''} |", flush=True)
            rows.append((name, opset, results))
    print(f"\n{len(rows) - failures} of {len(rows)} exports pass")
    return 1 if failures else 0


def testdata(args):
    os.makedirs(args.out, exist_ok=True)
    manifest = []
    for case, (name, opset, layers, batch, seq) in TESTDATA.items():
        net = build(name, size="tiny", seed=1, layers=layers)
        model = os.path.join(args.out, case + ".onnx")
        export(net, name, model, opset, batch=batch, seq=seq, size="tiny")
        inputs = make_inputs(name, batch, seq, seed=7, size="tiny")
        for n, v in inputs.items():
            np.save(os.path.join(args.out, f"{case}.{n}.npy"), v)
        for n, v in zip(("logits", "hidden"), torch_outputs(net, inputs)):
            np.save(os.path.join(args.out, f"{case}.{n}.npy"), v.astype(np.float32))
        manifest.append(f"{case} {name} opset {opset}, {layers} layer(s), inputs "
                        f"{', '.join(inputs)} [{batch}, {seq}]: {os.path.getsize(model)} bytes")
        log(manifest[-1])
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sweep")
    p.add_argument("--out", default="/tmp/transformer_exports")
    p.add_argument("--opsets", default="13,14,15,16,17")
    p.add_argument("--only", default="")
    p.add_argument("--mixq", default=os.path.join(ROOT, "build", "bin", "mixq"))
    p.add_argument("--max-isa", default="")
    p = sub.add_parser("testdata")
    p.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "transformer"))
    args = parser.parse_args()
    return sweep(args) if args.command == "sweep" else testdata(args)


if __name__ == "__main__":
    sys.exit(main())
