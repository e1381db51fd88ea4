#!/usr/bin/python3
"""Measures PyTorch (CPU) on mixq's text model, FP32 or dynamic INT8.

The PyTorch side of scripts/bench_peers for models/text_bert: the model is
rebuilt from its state dict (scripts/text_model.py) in eval mode under
torch.no_grad(); `dynamic_int8` is PyTorch's usual CPU recipe for BERT,
torch.quantization.quantize_dynamic on nn.Linear with qint8 weights
(activations quantized per batch at run time). Inputs are the first rows of
the test set (cycled when the batch is larger), so the timed work is the same
as mixq's and ONNX Runtime's on the exported model.

  /usr/bin/python3 scripts/torch_bench.py --state models/text_bert.pt
      [--precision fp32|dynamic_int8] [--batch 1,8] [--threads 2]
      [--warmup 3] [--iters 5] [--min-time 2] [--inputs models/text_bert.test]

Timed runs go on until both --iters runs and --min-time seconds are done.
Prints a JSON list, one object per batch size, with the keys of
scripts/ort_bench.js (images_per_second counts sequences):
  {"runtime":"pytorch","precision","version","model","batch","threads",
   "images_per_second","latency_ms_median","latency_ms_p90","iters","engine"}
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import text_model  # noqa: E402


def positive_ints(text):
    values = [int(s) for s in text.split(",")]
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of positive integers")
    return values


def percentile(sorted_values, p):
    rank = (len(sorted_values) - 1) * p
    lo, hi = int(np.floor(rank)), int(np.ceil(rank))
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (rank - lo)


def load_model(path, precision):
    saved = torch.load(path, map_location="cpu")
    model = text_model.TextBert(**saved["config"])
    model.load_state_dict(saved["state_dict"])
    model.eval()
    engine = "-"
    if precision == "dynamic_int8":
        model = text_model.dynamic_int8(model)
        engine = torch.backends.quantized.engine
    return model, engine


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True, help="state dict from train_text_model.py")
    parser.add_argument("--precision", choices=("fp32", "dynamic_int8"), default="fp32")
    parser.add_argument("--batch", type=positive_ints, default=[1])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=2.0)
    parser.add_argument("--inputs", default=None,
                        help="NPY prefix: PREFIX.input_ids.npy and PREFIX.attention_mask.npy "
                             "(default: the test set next to --state)")
    args = parser.parse_args()
    if args.threads <= 0 or args.warmup < 0 or args.iters <= 0 or args.min_time < 0:
        parser.error("--threads and --iters must be positive, --warmup and --min-time not negative")

    torch.set_num_threads(args.threads)
    model, engine = load_model(args.state, args.precision)
    prefix = args.inputs or os.path.splitext(args.state)[0] + ".test"
    ids = torch.from_numpy(np.load(prefix + ".input_ids.npy").astype(np.int64))
    mask = torch.from_numpy(np.load(prefix + ".attention_mask.npy").astype(np.int64))

    results = []
    with torch.no_grad():
        for batch in args.batch:
            rows = torch.arange(batch) % ids.shape[0]
            feeds = (ids[rows].contiguous(), mask[rows].contiguous())
            for _ in range(args.warmup):
                model(*feeds)
            times = []
            start = time.perf_counter()
            while len(times) < args.iters or time.perf_counter() - start < args.min_time:
                t0 = time.perf_counter()
                model(*feeds)
                times.append((time.perf_counter() - t0) * 1e3)
            total = time.perf_counter() - start
            times.sort()
            results.append({
                "runtime": "pytorch",
                "precision": args.precision,
                "version": torch.__version__,
                "model": os.path.splitext(os.path.basename(args.state))[0],
                "batch": batch,
                "threads": args.threads,
                "images_per_second": round(batch * len(times) / total, 2),
                "latency_ms_median": round(percentile(times, 0.5), 3),
                "latency_ms_p90": round(percentile(times, 0.9), 3),
                "iters": len(times),
                "engine": engine,
            })
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
