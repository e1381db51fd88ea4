#!/usr/bin/python3
"""Trains mixq's shapes detector and segmenter and exports them to ONNX.

Task models with boxes and masks to get wrong, so that INT8 has something
to lose the way it does on real detectors and segmenters: a YOLO-style
detector that decodes its boxes in the graph and a U-Net-style segmenter,
Conv+BatchNorm+SiLU (--act relu for ReLU). Both train on the
synthetic shapes set of scripts/make_shapes_dataset (made into --data with
the same seed when it is not there) and are defined, with their
preprocessing, decoding and metrics, in scripts/shapes_tasks.py. The run is
deterministic on a fixed thread count: the same command gives the same
weights on the same torch build.

Writes into --out (default models/):
  shapes_detector.onnx     opset 13, input "images" [N,3,128,128], output
                           "detections" [N,256,11] (cx, cy, w, h in pixels,
                           objectness, 6 class probabilities per cell)
  shapes_segmenter.onnx    opset 13, input "images" [N,3,128,128], output
                           "logits" [N,7,128,128] (0 = background)
  <name>.pt                the state dict (for PyTorch comparisons:
                           scripts/check_task_models.py)
  <name>.expected.json     PyTorch FP32 val metrics, sizes, timings, the command
and the shapes section of models/README.md (between its markers).

Needs torch, numpy and PIL (Debian: scripts/setup --train).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes_tasks as st  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README_BEGIN = "<!-- shapes: written by scripts/train_task_models.py -->"
README_END = "<!-- end shapes -->"
MODELS = ("shapes_detector", "shapes_segmenter")


# ---------------------------------------------------------------- augmentation


def augment(images, masks, boxes, generator):
    """Per sample: one of the 8 flips/transposes of the square (every class is
    closed under them) and a random permutation of the colour channels.
    images uint8 [B,H,W,3], masks uint8 [B,H,W], boxes per sample [M,5]."""
    out_images, out_masks, out_boxes = torch.empty_like(images), torch.empty_like(masks), []
    size = images.shape[1]
    ops = torch.randint(0, 8, (images.shape[0],), generator=generator).tolist()
    perms = torch.randint(0, 6, (images.shape[0],), generator=generator).tolist()
    orders = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))
    for i, (op, perm) in enumerate(zip(ops, perms)):
        x, m, b = images[i], masks[i], boxes[i].copy()
        if op & 4:  # transpose
            x, m = x.transpose(0, 1), m.transpose(0, 1)
            b = b[:, [0, 2, 1, 4, 3]]
        if op & 1:  # horizontal flip
            x, m = x.flip(1), m.flip(1)
            b[:, 1] = size - b[:, 1] - b[:, 3]
        if op & 2:  # vertical flip
            x, m = x.flip(0), m.flip(0)
            b[:, 2] = size - b[:, 2] - b[:, 4]
        out_images[i] = x[:, :, list(orders[perm])]
        out_masks[i] = m
        out_boxes.append(b)
    return out_images, out_masks, out_boxes


def random_crops(images, masks, crop, generator):
    """A random crop x crop window of each sample (images [B,H,W,3], masks [B,H,W])."""
    size = images.shape[1]
    offsets = torch.randint(0, size - crop + 1, (images.shape[0], 2), generator=generator).tolist()
    xs = torch.stack([im[y : y + crop, x : x + crop] for im, (y, x) in zip(images, offsets)])
    ms = torch.stack([m[y : y + crop, x : x + crop] for m, (y, x) in zip(masks, offsets)])
    return xs, ms


# ---------------------------------------------------------------- evaluation


def predict(model, x_val, batch=100, detector=False):
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, x_val.shape[0], batch):
            x = st.preprocess(x_val[i : i + batch])
            outs.append(model.decode(model(x)) if detector else model(x).argmax(1).to(torch.uint8))
    return torch.cat(outs).numpy()


def evaluate_detector(model, x_val, b_val):
    det = predict(model, x_val, detector=True)
    map50, map5095, per_class = st.mean_average_precision(st.postprocess(det), b_val)
    return {"map50": map50, "map50_95": map5095, "ap50_per_class": per_class}


def evaluate_segmenter(model, x_val, m_val):
    pred = predict(model, x_val)
    miou, miou_shapes, per_class = st.iou_from_confusion(st.confusion(pred, m_val))
    return {"miou": miou, "miou_shapes": miou_shapes,
            "iou_per_class": dict(zip(("background",) + st.CLASSES, per_class)),
            "pixel_accuracy": float((pred == m_val).mean())}


# ---------------------------------------------------------------- training


def train(name, model, data, args, log):
    x_train, m_train, b_train, x_val, m_val, b_val = data
    detector = name == "shapes_detector"
    generator = torch.Generator().manual_seed(args.seed)
    epochs = args.epochs[name]
    steps_per_epoch = x_train.shape[0] // args.batch
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.15)
    xt, mt = torch.from_numpy(x_train), torch.from_numpy(m_train)
    class_weights = torch.tensor([args.seg_bg_weight] + [1.0] * st.K)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(x_train.shape[0], generator=generator)
        start, sums, seen = time.time(), np.zeros(4), 0
        for s in range(steps_per_epoch):
            idx = order[s * args.batch : (s + 1) * args.batch]
            xb, mb, bb = augment(xt[idx], mt[idx], [b_train[i] for i in idx.tolist()], generator)
            if not detector and args.seg_crop < xb.shape[1]:
                xb, mb = random_crops(xb, mb, args.seg_crop, generator)
            out = model(st.preprocess(xb))
            if detector:
                loss, parts = st.detector_loss(model, out, st.build_targets(bb))
                sums += [float(loss)] + [float(p) for p in parts]
            else:
                loss = F.cross_entropy(out, mb.long(), weight=class_weights)
                sums[0] += float(loss)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            seen += 1
        msg = f"  epoch {epoch + 1}/{epochs}: loss {sums[0] / seen:.4f}"
        if detector:
            msg += f" (box {sums[1] / seen:.4f}, obj {sums[2] / seen:.4f}, cls {sums[3] / seen:.4f})"
        if args.eval_every and ((epoch + 1) % args.eval_every == 0) and epoch + 1 < epochs:
            r = (evaluate_detector(model, x_val, b_val) if detector
                 else evaluate_segmenter(model, x_val, m_val))
            msg += (f", val mAP50 {100 * r['map50']:.1f} mAP50-95 {100 * r['map50_95']:.1f}"
                    if detector else f", val mIoU {100 * r['miou']:.1f}")
        log(msg + f" ({time.time() - start:.0f} s)")


def export_onnx(name, model, path):
    model.eval()
    net = st.DetectorExport(model) if name == "shapes_detector" else model
    output = "detections" if name == "shapes_detector" else "logits"
    torch.onnx.export(
        net, torch.zeros(1, 3, st.SIZE, st.SIZE), path, opset_version=13,
        input_names=["images"], output_names=[output],
        dynamic_axes={"images": {0: "batch"}, output: {0: "batch"}},
        do_constant_folding=True,
    )
    if name == "shapes_detector":
        # The exporter leaves the decoded output's dims 1 and 2 symbolic
        # ("Adddetections_dim_1"): state them.
        import onnx

        m = onnx.load(path)
        dims = m.graph.output[0].type.tensor_type.shape.dim
        dims[1].dim_value, dims[2].dim_value = st.CELLS, 5 + st.K
        onnx.checker.check_model(m)
        onnx.save(m, path)


def onnx_op_types(path):
    import onnx

    ops = []
    for node in onnx.load(path).graph.node:
        if node.op_type not in ops:
            ops.append(node.op_type)
    return ops


# ---------------------------------------------------------------- README


ACT_TEXT = {"relu": ("ReLU", "Relu"), "silu": ("SiLU", "Sigmoid and Mul")}


def readme_section(results):
    d, s = results.get("shapes_detector"), results.get("shapes_segmenter")
    lines = [
        README_BEGIN,
        "## shapes_detector, shapes_segmenter",
        "",
        "A small detector and a small segmenter trained on synthetic shapes by",
        "`scripts/train_task_models.py` (models, preprocessing, decoding and metrics in",
        "`scripts/shapes_tasks.py`), so that mixq has task models whose boxes and",
        "masks INT8 can spoil. Both take `images` `[N, 3, 128, 128]` float32: RGB,",
        f"pixel / 255, then (x - mean) / std per channel with mean {list(st.MEAN)} and std",
        f"{list(st.STD)} (ImageNet's); NCHW. ONNX opset 13, dynamic batch; BatchNorm is",
        "folded into the convolutions by the export.",
        "",
        "**Data.** `scripts/make_shapes_dataset --out DIR` (numpy and PIL; seeded, the same",
        "bytes for the same arguments; 2,000 train and 500 val images in about 10 s)",
        "draws 128x128 images of 1 to 6 objects of six classes (1 circle, 2 square,",
        "3 triangle, 4 plus, 5 ring, 6 star; `DIR/classes.txt`), 8 to 52 pixels across",
        "(log-uniform, so many are small), rotated, in random colours with flat, shaded",
        "or speckled fills, overlapping (each keeps at least half of itself visible)",
        "and cut by the border, on textured backgrounds (colour noise, gradients,",
        "stripes) with clutter of no class (lines, arcs, blobs), pixel noise and JPEG",
        "(quality 90) compression. Per split (`train`, `val`): `DIR/<split>/images/NNNNNN.jpg`,",
        "`DIR/<split>/masks/NNNNNN.png` (uint8, 0 background, k class k, the last object",
        "drawn on top; no ignore band) and `DIR/<split>/annotations.json` (COCO",
        "instances: images with id (index + 1), file_name, width, height; annotations",
        "with id, image_id, category_id 1..6, bbox [x, y, w, h] the tight pixel box of",
        "the object's visible mask, area its visible pixel count, iscrowd 0; categories",
        "with id, name, supercategory). No segmentation polygons: the masks are the PNGs.",
        "The training script makes the set in `data/shapes/` (git-ignored) when it is",
        "not there; the seed 20240601 set has 7,055 train and 1,698 val objects.",
        "",
        "| model | parameters | epochs | val metric (PyTorch FP32, 500 images) | training wall time | CPU time | ONNX size |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    if d:
        lines.append(
            f"| `shapes_detector.onnx` | {d['params']:,} | {d['epochs']} | mAP@0.5 "
            f"{100 * d['map50']:.1f} %, mAP@0.5:0.95 {100 * d['map50_95']:.1f} % "
            f"| {d['train_seconds'] / 60:.1f} min | {d['cpu_seconds'] / 60:.1f} min | {d['onnx_kib']:.0f} KiB |")
    if s:
        lines.append(
            f"| `shapes_segmenter.onnx` | {s['params']:,} | {s['epochs']} | mIoU {100 * s['miou']:.1f} % "
            f"(7 classes), {100 * s['miou_shapes']:.1f} % (6 shapes) "
            f"| {s['train_seconds'] / 60:.1f} min | {s['cpu_seconds'] / 60:.1f} min | {s['onnx_kib']:.0f} KiB |")
    lines += [""]
    if d:
        act, act_ops = ACT_TEXT[d["act"]]
        lines += [
            "### shapes_detector",
            "",
            f"Single-scale anchor-free, YOLO-style, Conv+BN+{act} throughout ({act} exports as",
            f"{act_ops}): a Conv3x3 stem (16, stride 2), then stages of two Conv3x3 (the",
            "first stride 2): 32 (32x32), 64 (16x16), 128 (8x8); the 8x8 map upsampled",
            "(nearest) and concatenated with the 16x16 one, a Conv1x1 (192->64) and a",
            "Conv3x3 (64); a Conv1x1 head of 11 channels on the 16x16 stride-8 grid.",
            "The graph decodes: output `detections` `[N, 256, 11]`, row gy * 16 + gx per",
            "cell, columns cx, cy, w, h (box centre and size in input pixels),",
            "objectness, six class probabilities. With p the sigmoid of the head:",
            "cx = (2p - 0.5 + gx) * 8, cy = (2p - 0.5 + gy) * 8, w = (2p)^2 * 16 and",
            "h = (2p)^2 * 16 (0 to 64 pixels), objectness and class probabilities p",
            "(computed as (p a1 + b1)(p a2 + b2) + c with per-column constants and c",
            "per cell: Sigmoid, Mul and Add only). An evaluator needs only score =",
            f"objectness * class probability, a threshold ({st.SCORE_THRESHOLD} for mAP), per-class NMS",
            f"(IoU {st.NMS_IOU}) and the best {st.MAX_DETECTIONS} boxes per image "
            "(`shapes_tasks.postprocess`).",
            "",
            "Training: each object is assigned to the cell of its centre and the two",
            "neighbours nearest the centre (YOLOv5's rule; where objects compete for a",
            "cell, the centre cell, then the smaller object wins); loss 1 - CIoU on",
            "assigned cells + BCE of objectness against the detached IoU on all cells",
            "+ 0.5 BCE of the class probabilities on assigned cells.",
            "",
            "mAP is COCO's box mAP (IoU 0.5 and 0.5:0.95, 101-point interpolation,",
            "greedy matching by score) without area ranges, `shapes_tasks.mean_average_precision`.",
            "AP@0.5 per class: " + ", ".join(
                f"{k} {100 * v:.1f} %" for k, v in d["ap50_per_class"].items()) + ".",
            "",
            "ONNX ops: " + ", ".join(d["ops"]) + ".",
            "",
            "```",
            d["command"],
            "```",
            "",
        ]
    if s:
        act, act_ops = ACT_TEXT[s["act"]]
        lines += [
            "### shapes_segmenter",
            "",
            f"Encoder-decoder, Conv+BN+{act} throughout ({act_ops} in ONNX): four stages",
            "of two Conv3x3 (the first stride 2): 16 (64x64), 32 (32x32), 64 (16x16),",
            "96 (8x8); the decoder upsamples (nearest) and concatenates the encoder map",
            "of the same size three times, each followed by a Conv3x3 (48, 24, 16",
            "channels), up to 64x64; a 2x2 stride-2 ConvTranspose gives `logits`",
            "`[N, 7, 128, 128]` (channel 0 background, k class k; prediction = argmax),",
            "its background bias starting at 3 (background is 94 % of the pixels).",
            f"Trained on random {s['seg_crop']}x{s['seg_crop']} crops (a quarter of the "
            "cost of whole images) with",
            f"pixel cross-entropy, background weighted {s['seg_bg_weight']} and the shapes 1. (Trials "
            "with ReLU:",
            "unweighted, 30 epochs on crops reached 31 % mIoU, nearly all background,",
            "against 64 % with the weight; from uniform initial logits a first try on",
            "whole images stayed at all-background for 15 epochs.)",
            "mIoU from the val pixels' confusion matrix, over the 7 classes and over the",
            "6 shapes. IoU per class: " + ", ".join(
                f"{k} {100 * v:.1f} %" for k, v in s["iou_per_class"].items()) + ".",
            "",
            "ONNX ops: " + ", ".join(s["ops"]) + ".",
            "",
            "```",
            s["command"],
            "```",
            "",
        ]
    r = d or s
    lines += [
        f"Training, both: AdamW (weight decay {r['weight_decay']}), one-cycle learning rate up to",
        f"{r['lr']}, batch {r['batch']}, on the 2,000 train images, each sample randomly flipped",
        "or transposed (8 ways; every class is closed under them) with its colour",
        f"channels permuted; {r['threads']} thread(s), deterministic algorithms, seed {r['seed']},",
        "on a shared 2-core machine that was compiling (load 3-5, the two models",
        "trained at once), so wall times are upper bounds and CPU time (model",
        "construction to export, evaluations every 10 epochs included) is the fairer",
        "cost. At load 4, a training step (batch 32) took about 300 ms (detector)",
        "and 200 ms (segmenter, on crops): 62 steps an epoch.",
        "Running the script without options trains both",
        "models in turn with the same settings and seeds. `<name>.expected.json` holds",
        "the numbers above, `<name>.pt` the state dict and the model's config",
        f"(`shapes_tasks.load_model`). Made with torch {r['torch']}.",
        README_END,
    ]
    return "\n".join(lines)


def write_readme(out_dir, results):
    path = os.path.join(out_dir, "README.md")
    text = open(path).read() if os.path.exists(path) else "# Reference models\n"
    section = readme_section(results)
    if README_BEGIN in text and README_END in text:
        head, rest = text.split(README_BEGIN, 1)
        text = head + section + rest.split(README_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)


def load_results(out_dir):
    results = {}
    for name in MODELS:
        path = os.path.join(out_dir, name + ".expected.json")
        if os.path.exists(path):
            with open(path) as f:
                results[name] = json.load(f)
    return results


# ---------------------------------------------------------------- main


def make_model(name, act):
    return st.ShapesDetector(act=act) if name == "shapes_detector" else st.ShapesSegmenter(act=act)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "models"), help="output folder (default models/)")
    parser.add_argument("--data", default=os.path.join(ROOT, "data", "shapes"),
                        help="shapes set from scripts/make_shapes_dataset (default data/shapes/, "
                             "made when missing)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--epochs", default="shapes_detector=30,shapes_segmenter=45",
                        help="epochs per model, name=N,...")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--act", default="silu", choices=("relu", "silu"),
                        help="activation after every BatchNorm")
    parser.add_argument("--seg-crop", type=int, default=64,
                        help="the segmenter trains on random crops of this size (a multiple of 16)")
    parser.add_argument("--seg-bg-weight", type=float, default=0.3,
                        help="cross-entropy weight of the background class (the shapes: 1)")
    parser.add_argument("--seed", type=int, default=20240601, help="training and dataset seed")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--eval-every", type=int, default=10, help="epochs between val evaluations (0: none)")
    parser.add_argument("--time-steps", type=int, default=0,
                        help="only time this many training steps per model and exit")
    parser.add_argument("--export-only", action="store_true",
                        help="only export <name>.onnx again from <name>.pt")
    parser.add_argument("--readme-only", action="store_true",
                        help="only rewrite the README section from the .expected.json files")
    args = parser.parse_args()
    if args.readme_only:
        write_readme(args.out, load_results(args.out))
        return
    if args.export_only:
        for name in args.models.split(","):
            export_onnx(name, st.load_model(os.path.join(args.out, name + ".pt")),
                        os.path.join(args.out, name + ".onnx"))
        return
    args.epochs = {k: int(v) for k, v in (kv.split("=") for kv in args.epochs.split(","))}
    if args.seg_crop % 16 or not 16 <= args.seg_crop <= st.SIZE:
        parser.error("--seg-crop must be a multiple of 16 from 16 to 128")
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    log = lambda msg: print(msg, flush=True)

    if not os.path.exists(os.path.join(args.data, "val", "annotations.json")):
        log(f"making the shapes set in {args.data}")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_shapes_dataset"),
                        "--out", args.data, "--seed", str(args.seed)], check=True)
    start = time.time()
    x_train, m_train, b_train = st.load_split(args.data, "train")
    x_val, m_val, b_val = st.load_split(args.data, "val")
    data = (x_train, m_train, b_train, x_val, m_val, b_val)
    log(f"train {x_train.shape[0]} images, {sum(len(b) for b in b_train)} objects; "
        f"val {x_val.shape[0]}, {sum(len(b) for b in b_val)} ({time.time() - start:.0f} s)")
    os.makedirs(args.out, exist_ok=True)

    for name in args.models.split(","):
        torch.manual_seed(args.seed)
        model = make_model(name, args.act)
        params = sum(p.numel() for p in model.parameters())
        if args.time_steps:
            saved = args.epochs[name]
            args.epochs[name] = 1
            sub = (x_train[: args.time_steps * args.batch], m_train[: args.time_steps * args.batch],
                   b_train[: args.time_steps * args.batch], x_val, m_val, b_val)
            t0 = time.time()
            args_eval, args.eval_every = args.eval_every, 0
            train(name, model, sub, args, log)
            per_step = (time.time() - t0) / args.time_steps
            args.epochs[name], args.eval_every = saved, args_eval
            log(f"{name}: {params} params, {per_step * 1000:.0f} ms/step, "
                f"{per_step * (x_train.shape[0] // args.batch) / 60:.1f} min/epoch")
            continue
        log(f"{name}: {params} parameters, {args.epochs[name]} epochs")
        cpu_start = time.process_time()
        start = time.time()
        train(name, model, data, args, log)
        train_s = time.time() - start
        result = (evaluate_detector(model, x_val, b_val) if name == "shapes_detector"
                  else evaluate_segmenter(model, x_val, m_val))
        log(f"{name}: val {json.dumps(result)} (trained in {train_s / 60:.1f} min)")
        path = os.path.join(args.out, name + ".onnx")
        export_onnx(name, model, path)
        torch.save({"name": name, "config": model.config, "state_dict": model.state_dict()},
                   os.path.join(args.out, name + ".pt"))
        ops = onnx_op_types(path)
        log(f"{name}: ONNX ops {ops}, {os.path.getsize(path) / 1024:.0f} KiB")
        command = ("/usr/bin/python3 scripts/train_task_models.py " + " ".join(sys.argv[1:])).strip()
        if name == "shapes_segmenter":
            result.update({"seg_crop": args.seg_crop, "seg_bg_weight": args.seg_bg_weight})
        result.update({"params": params, "epochs": args.epochs[name], "batch": args.batch,
                       "act": args.act,
                       "lr": args.lr, "weight_decay": args.weight_decay, "seed": args.seed,
                       "threads": args.threads, "train_images": int(x_train.shape[0]),
                       "val_images": int(x_val.shape[0]), "train_seconds": round(train_s, 1),
                       "cpu_seconds": round(time.process_time() - cpu_start, 1),
                       "onnx_kib": os.path.getsize(path) / 1024, "torch": torch.__version__,
                       "ops": ops, "command": command})
        with open(os.path.join(args.out, name + ".expected.json"), "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    if not args.time_steps:
        write_readme(args.out, load_results(args.out))


if __name__ == "__main__":
    main()
