#!/usr/bin/python3
"""Plants outlier activation channels in an ONNX model without changing its FP32 function.

Real networks lose INT8 accuracy mostly through a few activation channels
whose range is far wider than the rest: one per-tensor scale must cover the
outlier, so every other channel of that tensor is left with a few levels.
Our small reference models have no such channels (all-INT8 keeps their
top-1), so the search never meets the hard case. This script makes one.

It finds every Conv A -> Relu -> Conv B chain in which A's output feeds only
the Relu, the Relu's output feeds only B, B has group 1 and the weights (and
A's bias) are initializers, by graph structure, never by node names. ReLU is
positively homogeneous (relu(k x) = k relu(x) for k > 0), so multiplying A's
output channel c (its weights and bias) by k and B's weights on input
channel c by 1/k leaves B's output, and so the model's FP32 function,
unchanged up to float rounding (exactly, when k is a power of two), while
the Relu's output, which B quantizes with one scale, gets a channel k times
wider than it was.

Everything else (opset, inputs, outputs, the dynamic batch, the other
initializers) is kept; doc_string and metadata_props say what was planted.
Run from the repository root:

    /usr/bin/python3 scripts/make_outlier_model.py

Needs numpy and onnx (Debian: python3-numpy python3-onnx; scripts/setup --train).
"""

import argparse
import json
import random
import sys

import numpy as np
import onnx
from onnx import numpy_helper

# With minmax calibration on 300 training images, all-INT8 fm_resnet then
# loses about 2 top-1 points (models/README.md), like the example.
# The loss is steep in the factor (measured: 64 costs 1.3-1.5 points, 80 about
# 3, 128 about 30): each chain's Relu range grows about k/2 times, leaving
# the other channels about 510/k of u8's 255 levels.
DEFAULT_FACTOR = 72.0


def parse_channels(text):
    """--channels: "M" or "LO-HI" (a count drawn per block, both inclusive)."""
    lo, _, hi = text.partition("-")
    try:
        lo, hi = int(lo), int(hi or lo)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not M or LO-HI")
    if lo < 1 or hi < lo:
        raise argparse.ArgumentTypeError(f"'{text}': need 1 <= LO <= HI")
    return lo, hi


def positive_float(text):
    value = float(text)
    if not value > 0 or not np.isfinite(value):
        # A factor <= 0 breaks relu(k x) = k relu(x), so the planting would
        # change the model's function.
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive number")
    return value


def attribute(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def find_patterns(graph):
    """(A, Relu, B) node triples, in graph (topological) order, that the
    scaling cannot change the function of: each link has one consumer, so no
    other node sees the scaled channel, and the three tensors to rescale are
    float initializers used by no other node, so rescaling touches nothing
    else."""
    uses = {}  # tensor name -> [(node, input index)]
    for node in graph.node:
        for i, name in enumerate(node.input):
            uses.setdefault(name, []).append((node, i))
    outputs = {o.name for o in graph.output}
    # An initializer that is also a graph input is only a default the caller
    # may replace, so rescaling it would not stick.
    inputs = {i.name for i in graph.input}
    initializers = {t.name: t for t in graph.initializer}

    def only_use(tensor):
        use = uses.get(tensor, [])
        return use[0] if len(use) == 1 and tensor not in outputs else (None, None)

    def own_float_initializer(name):
        t = initializers.get(name)
        return (t is not None and t.data_type == onnx.TensorProto.FLOAT and
                len(uses[name]) == 1 and name not in inputs)

    patterns = []
    for a in graph.node:
        if a.op_type != "Conv" or len(a.input) < 2 or len(a.output) != 1:
            continue
        relu, _ = only_use(a.output[0])
        if relu is None or relu.op_type != "Relu" or len(relu.output) != 1:
            continue
        b, slot = only_use(relu.output[0])
        if b is None or b.op_type != "Conv" or slot != 0 or attribute(b, "group", 1) != 1:
            continue
        has_bias = len(a.input) > 2 and a.input[2] != ""
        scaled = [a.input[1], b.input[1]] + ([a.input[2]] if has_bias else [])
        if not all(own_float_initializer(name) for name in scaled):
            continue
        if initializers[a.input[1]].dims[0] != initializers[b.input[1]].dims[1]:
            continue
        patterns.append((a, relu, b))
    return patterns


def spread(patterns, blocks, rng):
    """`blocks` patterns, one drawn from each of `blocks` consecutive equal
    slices of the graph order, so they lie early, middle and late rather than
    bunched together."""
    n = len(patterns)
    return [patterns[rng.randrange(i * n // blocks, (i + 1) * n // blocks)] for i in range(blocks)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default="models/fm_resnet.onnx", help="model to read")
    parser.add_argument("--output", default="models/fm_resnet_outlier.onnx", help="model to write")
    parser.add_argument("--blocks", type=int, default=3,
                        help="Conv->Relu->Conv chains to plant in (default 3)")
    parser.add_argument("--channels", type=parse_channels, default=(1, 2),
                        help="outlier channels per chain: M or LO-HI, drawn per chain "
                        "(default 1-2)")
    parser.add_argument("--factor", type=positive_float, default=DEFAULT_FACTOR,
                        help=f"scale of an outlier channel (default {DEFAULT_FACTOR:g})")
    parser.add_argument("--seed", type=int, default=20240601,
                        help="seed of the chains' and channels' draw")
    args = parser.parse_args()
    if args.blocks < 1:
        sys.exit("make_outlier_model.py: --blocks must be at least 1")

    model = onnx.load(args.input)
    graph = model.graph
    patterns = find_patterns(graph)
    if len(patterns) < args.blocks:
        sys.exit(f"make_outlier_model.py: {args.input} has {len(patterns)} Conv->Relu->Conv "
                 f"chains that can carry an outlier, fewer than --blocks {args.blocks}")

    rng = random.Random(args.seed)
    weights = {t.name: numpy_helper.to_array(t).copy() for t in graph.initializer}
    planted = []
    touched = set()  # initializers rescaled
    for a, relu, b in spread(patterns, args.blocks, rng):
        w_a = weights[a.input[1]]
        count = rng.randint(*args.channels)
        if count > w_a.shape[0]:
            sys.exit(f"make_outlier_model.py: --channels {count} but {a.name} has "
                     f"{w_a.shape[0]} output channels")
        channels = sorted(rng.sample(range(w_a.shape[0]), count))
        # Scaled in float64 and rounded once, so a factor that is not a power
        # of two costs one rounding per weight.
        factor = np.float64(args.factor)
        w_a[channels] = (w_a[channels].astype(np.float64) * factor).astype(np.float32)
        if len(a.input) > 2 and a.input[2]:
            bias = weights[a.input[2]]
            bias[channels] = (bias[channels].astype(np.float64) * factor).astype(np.float32)
        w_b = weights[b.input[1]]
        w_b[:, channels] = (w_b[:, channels].astype(np.float64) / factor).astype(np.float32)
        touched.update(n for n in a.input[1:] + b.input[1:2] if n)
        planted.append({"conv": a.name, "relu": relu.name, "next_conv": b.name,
                        "channels": channels, "factor": args.factor})
        print(f"planted {a.name} -> {relu.name} -> {b.name}: output channels "
              f"{channels} of {w_a.shape[0]} x {args.factor:g}, {b.name}'s inputs / {args.factor:g}")

    for t in graph.initializer:
        if t.name in touched:
            t.CopyFrom(numpy_helper.from_array(weights[t.name], t.name))

    command = "/usr/bin/python3 scripts/make_outlier_model.py " + " ".join(sys.argv[1:])
    model.doc_string = (
        f"{args.input} with outlier activation channels planted by "
        f"scripts/make_outlier_model.py (same FP32 function): in {len(planted)} "
        f"Conv->Relu->Conv chains, chosen output channels of the first Conv multiplied by "
        f"{args.factor:g} and the next Conv's weights on them divided by it.")
    notes = {"mixq.outliers": json.dumps(planted), "mixq.outliers.source": args.input,
             "mixq.outliers.command": command.strip()}
    # Planting in a planted model replaces the notes rather than repeating keys.
    kept = [p for p in model.metadata_props if p.key not in notes]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in notes.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
