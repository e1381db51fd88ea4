#!/usr/bin/python3
"""Trains mixq's small BERT-style text classifier and exports it with its data.

The model and the task are in scripts/text_model.py: which of 8 letters
occurs most often in a sequence of 16 to 126 letters, often by a single
occurrence. Training, calibration and test samples come from one
seeded generator in that order, so the three sets are disjoint draws of the
same distribution, and the run is deterministic on a fixed thread count: the
same command gives the same files on the same torch build.

Writes into --out (default models/):
  text_bert.onnx                   opset 14, inputs input_ids and attention_mask
                                   (int64 [batch,128]), output logits [batch,8]
  text_bert.pt                     the state dict (and the model's config)
  text_bert.{test,calib}.input_ids.npy       int32 [N,128]
  text_bert.{test,calib}.attention_mask.npy  int32 [N,128], 0 on padding
  text_bert.{test,calib}.labels.npy          int64 [N], the most frequent letter
  text_bert.expected.json          accuracies (FP32 and PyTorch dynamic INT8),
                                   sizes, timings, the command
  text_bert.logits8.json           PyTorch FP32 logits of test samples 0..7
and the text_bert section of models/README.md (between its markers).

Needs torch and numpy (Debian: scripts/setup --train).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import text_model  # noqa: E402

NAME = "text_bert"
README_BEGIN = "<!-- text_bert: written by scripts/train_text_model.py -->"
README_END = "<!-- end text_bert -->"


def batches(rng, lengths, batch, group=32):
    """Index batches of similar lengths (so each can be cut to its longest
    sample), in a seeded random order: shuffle, sort within groups of
    `group` batches, shuffle the batches."""
    order = rng.permutation(len(lengths))
    out = []
    span = batch * group
    for g in range(0, len(order) - batch + 1, span):
        chunk = order[g : g + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        out += [chunk[i : i + batch] for i in range(0, len(chunk) - batch + 1, batch)]
    return [out[i] for i in rng.permutation(len(out))]


def predict(model, ids, mask, batch=250):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(ids[i : i + batch], mask[i : i + batch]).argmax(1)
                          for i in range(0, ids.shape[0], batch)])


def evaluate(model, ids, mask, labels):
    return int((predict(model, ids, mask) == labels).sum())


def accuracies(model, ids, mask, labels):
    """Test accuracies of the FP32 model and of PyTorch's dynamic INT8 recipe,
    over all samples and over those whose winner leads by one."""
    close = torch.from_numpy(text_model.margins(ids.numpy()) == 1)
    out = {"samples": ids.shape[0], "margin1_samples": int(close.sum()),
           "margin1_share": 100 * int(close.sum()) / len(close)}
    for key, m in (("", model), ("_dynamic_int8", text_model.dynamic_int8(model))):
        right = predict(m, ids, mask) == labels
        out["correct1" + key] = int(right.sum())
        out["top1" + key] = int(right.sum()) / len(right)
        out["top1" + key + "_margin1"] = int(right[close].sum()) / int(close.sum())
    out["int8_engine"] = torch.backends.quantized.engine
    return out


def train(model, ids, mask, labels, args, rng, log, check):
    lengths = mask.sum(1).numpy()
    steps_per_epoch = len(lengths) // args.batch
    total = args.epochs * steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total,
                                                pct_start=0.1)
    step = 0
    for epoch in range(args.epochs):
        model.train()
        start, loss_sum, correct, seen = time.time(), 0.0, 0, 0
        for idx in batches(rng, lengths, args.batch):
            step += 1
            idx = torch.from_numpy(idx)
            width = int(lengths[idx].max())
            logits = model(ids[idx, :width], mask[idx, :width])
            loss = F.cross_entropy(logits, labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            loss_sum += float(loss) * len(idx)
            correct += int((logits.argmax(1) == labels[idx]).sum())
            seen += len(idx)
            if args.log_every and step % args.log_every == 0:
                log(f"  step {step}/{total}: loss {loss_sum / seen:.4f}, train accuracy "
                    f"{100 * correct / seen:.2f} %, calibration-set accuracy {check():.2f} % "
                    f"({time.time() - start:.0f} s)")
                model.train()
        log(f"  epoch {epoch + 1}/{args.epochs}: loss {loss_sum / seen:.4f}, "
            f"train accuracy {100 * correct / seen:.2f} % ({time.time() - start:.0f} s)")


def export_onnx(model, path):
    model.eval()
    ids = torch.ones(2, text_model.SEQ_LEN, dtype=torch.int64)
    mask = torch.ones(2, text_model.SEQ_LEN, dtype=torch.int64)
    torch.onnx.export(
        model,
        (ids, mask),
        path,
        opset_version=14,
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch"}, "attention_mask": {0: "batch"},
                      "logits": {0: "batch"}},
        do_constant_folding=True,
    )


def onnx_op_types(path):
    import onnx

    ops = []
    for node in onnx.load(path).graph.node:
        if node.op_type not in ops:
            ops.append(node.op_type)
    return ops


def readme_section(r):
    c = r["config"]
    return "\n".join([
        README_BEGIN,
        "## text_bert",
        "",
        "A BERT-style encoder that tells which of 8 letters occurs most often in a sequence,",
        "made by `scripts/train_text_model.py` (model and task in `scripts/text_model.py`).",
        "Inputs `input_ids` and `attention_mask`, int64 `[batch, 128]`; output `logits`",
        "`[batch, 8]` (class k = letter k). ONNX opset 14, symbolic batch.",
        "",
        "**Task.** A `[CLS]` token (id 1), then 16 to 126 letters (ids 2 to 9, letter k = id",
        "k + 2), padded with id 0 to 128; `attention_mask` is 1 on `[CLS]` and the letters and",
        "0 on padding. Each sequence draws its letters from its own distribution (Dirichlet,",
        f"concentration {r['alpha']}), so races are often close: in {r['margin1_share']:.0f} % of the test",
        "sequences the winner leads by one occurrence (ties are drawn again). The label",
        "depends on every position and the model has no path between positions but",
        "self-attention, so the `[CLS]` position must gather the counts through attention over a",
        "variable number of tokens, to one token in up to 126: the close races are what",
        "rounding (INT8) can flip. (A bracket-balance task was tried first; at this size it",
        "did not learn within the training budget on this machine.)",
        "",
        f"**Model.** Token and position embeddings (dim {c['dim']}) and a LayerNorm;",
        f"{c['layers']} post-norm encoder blocks, each multi-head self-attention ({c['heads']} heads of",
        f"{c['dim'] // c['heads']}; separate query, key, value and output Linears; the padding mask",
        "as -10000 added to the scores before Softmax) and a feed-forward",
        f"Linear({c['dim']}->{c['hidden']}), exact GELU, Linear({c['hidden']}->{c['dim']}), each with a residual Add",
        f"and a LayerNorm; a tanh pooler Linear({c['dim']}->{c['dim']}) on position 0; "
        f"Linear({c['dim']}->{c['classes']}).",
        f"{r['params']:,} parameters; ONNX {r['onnx_kib']:.0f} KiB.",
        "",
        "ONNX ops: " + ", ".join(r["ops"]) + ".",
        "",
        f"**Training.** {r['train_samples']:,} generated samples, {r['epochs']} epoch(s) of AdamW",
        f"(batch {r['batch']}, one-cycle learning rate up to {r['lr']}, weight decay 0.01, gradient",
        "norm clipped at 1), batches of similar lengths cut to their longest sample, the",
        "Linears computed as 1x1 convolutions (the same product; Debian's torch runs nn.Linear",
        "on the netlib BLAS, several times slower); cross-entropy loss;",
        f"{r['threads']} thread(s), deterministic algorithms, seed {r['seed']}:",
        f"{r['train_seconds'] / 60:.1f} min wall, {r['cpu_seconds'] / 60:.1f} min CPU on a shared 2-core machine.",
        "",
        f"**Sets.** Test: {r['test_samples']:,} samples (`text_bert.test.*.npy`); calibration:",
        f"{r['calib_samples']:,} (`text_bert.calib.*.npy`), drawn like the training samples and",
        "after them; ids and masks int32 `[N, 128]`, labels int64 `[N]`. Datasets:",
        "`configs/datasets/text_bert_test.yaml`, `configs/datasets/text_bert_calib.yaml`.",
        "",
        "| model | test samples | top-1 | top-1, lead of one |",
        "| --- | ---: | ---: | ---: |",
        f"| PyTorch FP32 | {r['test_samples']:,} | {100 * r['top1']:.2f} % "
        f"| {100 * r['top1_margin1']:.2f} % |",
        f"| PyTorch dynamic INT8 (`quantize_dynamic` on nn.Linear, {r['int8_engine']}) "
        f"| {r['test_samples']:,} | {100 * r['top1_dynamic_int8']:.2f} % "
        f"| {100 * r['top1_dynamic_int8_margin1']:.2f} % |",
        "",
        "`text_bert.expected.json` holds these numbers; `text_bert.logits8.json` the PyTorch",
        f"FP32 logits of test samples 0..7. Made with torch {r['torch']}:",
        "",
        "```",
        r["command"],
        "```",
        README_END,
    ])


def write_readme(out_dir, result):
    """Replaces (or appends) the text_bert section of <out>/README.md."""
    path = os.path.join(out_dir, "README.md")
    text = open(path).read() if os.path.exists(path) else "# Reference models\n"
    section = readme_section(result)
    if README_BEGIN in text and README_END in text:
        head, rest = text.split(README_BEGIN, 1)
        tail = rest.split(README_END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)


def save_set(out_dir, split, ids, mask, labels):
    for name, array in (("input_ids", ids), ("attention_mask", mask), ("labels", labels)):
        np.save(os.path.join(out_dir, f"{NAME}.{split}.{name}.npy"), array)


def reevaluate(out_dir, threads):
    torch.set_num_threads(threads)
    saved = torch.load(os.path.join(out_dir, NAME + ".pt"))
    model = text_model.TextBert(**saved["config"])
    model.load_state_dict(saved["state_dict"])
    test = [torch.from_numpy(np.load(os.path.join(out_dir, f"{NAME}.test.{k}.npy")).astype(np.int64))
            for k in ("input_ids", "attention_mask", "labels")]
    path = os.path.join(out_dir, NAME + ".expected.json")
    with open(path) as f:
        result = json.load(f)
    result.update(accuracies(model, *test), alpha=text_model.ALPHA)
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    write_readme(out_dir, result)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="models", help="output folder (default models/)")
    parser.add_argument("--train-samples", type=int, default=128000)
    parser.add_argument("--test-samples", type=int, default=2000)
    parser.add_argument("--calib-samples", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--log-every", type=int, default=250,
                        help="steps between progress lines (0: per epoch only)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--evaluate-only", action="store_true",
                        help="recompute the accuracies of the saved model on the saved test set "
                             "and rewrite text_bert.expected.json and the README section")
    args = parser.parse_args()
    if args.evaluate_only:
        reevaluate(args.out, args.threads)
        return

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    log = lambda msg: print(msg, flush=True)

    cpu_start = time.process_time()
    start = time.time()
    rng = np.random.default_rng(args.seed)
    sets = {}
    for split, count in (("train", args.train_samples), ("calib", args.calib_samples),
                         ("test", args.test_samples)):
        sets[split] = text_model.make_set(rng, count)
    log(f"data: {', '.join(f'{k} {v[0].shape[0]}' for k, v in sets.items())} "
        f"({time.time() - start:.0f} s)")
    tensors = {k: tuple(torch.from_numpy(a.astype(np.int64)) for a in v) for k, v in sets.items()}

    torch.manual_seed(args.seed)
    model = text_model.TextBert(dim=args.dim, heads=args.heads, layers=args.layers,
                                hidden=args.hidden)
    params = sum(p.numel() for p in model.parameters())
    log(f"{NAME}: {params} parameters, {args.epochs} epochs")
    calib = tensors["calib"]
    check = lambda: 100 * evaluate(model, *calib) / calib[0].shape[0]
    train(model, *tensors["train"], args, rng, log, check)
    train_s = time.time() - start

    n = args.test_samples
    acc = accuracies(model, *tensors["test"])
    log(f"{NAME}: test accuracy FP32 {100 * acc['top1']:.2f} %, PyTorch dynamic INT8 "
        f"{100 * acc['top1_dynamic_int8']:.2f} % ({acc['int8_engine']}) "
        f"(trained in {train_s / 60:.1f} min)")

    path = os.path.join(args.out, NAME + ".onnx")
    export_onnx(model, path)
    torch.save({"config": model.config, "state_dict": model.state_dict()},
               os.path.join(args.out, NAME + ".pt"))
    for split in ("test", "calib"):
        save_set(args.out, split, *sets[split])
    with torch.no_grad():
        logits8 = model(tensors["test"][0][:8], tensors["test"][1][:8]).tolist()
    with open(os.path.join(args.out, NAME + ".logits8.json"), "w") as f:
        json.dump(logits8, f)
        f.write("\n")
    ops = onnx_op_types(path)
    log(f"{NAME}: ONNX ops {ops}")
    command = ("/usr/bin/python3 scripts/train_text_model.py " + " ".join(sys.argv[1:])).strip()
    result = dict(acc, params=params, alpha=text_model.ALPHA)
    result.update({"config": model.config, "epochs": args.epochs,
              "batch": args.batch, "lr": args.lr, "seed": args.seed, "threads": args.threads,
              "train_samples": args.train_samples, "test_samples": n,
              "calib_samples": args.calib_samples, "train_seconds": round(train_s, 1),
              "cpu_seconds": round(time.process_time() - cpu_start, 1),
              "onnx_kib": os.path.getsize(path) / 1024, "torch": torch.__version__,
              "ops": ops, "command": command})
    with open(os.path.join(args.out, NAME + ".expected.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    write_readme(args.out, result)


if __name__ == "__main__":
    main()
