#!/usr/bin/python3
"""Runs the shapes task models with mixq, FP32 and all-INT8, against PyTorch.

For each model (models/shapes_detector.onnx, models/shapes_segmenter.onnx):
writes the val images, preprocessed, as float32 NPY batches; calibrates
with `mixq calibrate` on the first --calib-samples train images (an NPY
dataset of uint8 NHWC images with the model's preprocessing in its YAML);
runs `mixq infer` on every batch FP32 and with `--config int8`; runs the
PyTorch model (models/<name>.pt) on the same batches; and reports

  * mixq FP32 against PyTorch: max |diff| (detector: box columns in pixels
    and probability columns apart; segmenter: logits);
  * mixq INT8 against mixq FP32: mean and max |diff| of the probabilities
    (detector: objectness and class columns, and of the box columns;
    segmenter: softmax), and the share of pixels whose argmax changes;
  * the val metric of all three: mAP@0.5 and mAP@0.5:0.95 (detector),
    mIoU (segmenter), computed in Python by scripts/shapes_tasks.py.

Needs torch, numpy and PIL (scripts/setup --train) and a built mixq.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes_tasks as st  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, log):
    log("  $ " + " ".join(cmd))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def softmax(x, axis=1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def calibration_set(work, data, count):
    x, _m, _b = st.load_split(data, "train", count)
    np.save(os.path.join(work, "calib_images.npy"), x)  # uint8 [N,128,128,3]
    np.save(os.path.join(work, "calib_labels.npy"), np.zeros(len(x), np.int64))
    path = os.path.join(work, "shapes_calib.yaml")
    with open(path, "w") as f:
        f.write("format: npy\nimages: calib_images.npy\nlabels: calib_labels.npy\n"
                "stored_layout: nhwc\n"
                f"preprocess: {{scale: 0.0039215686, mean: {list(st.MEAN)}, "
                f"std: {list(st.STD)}, layout: nchw}}\n")
    return path


def check(name, args, work, calib_yaml, x_val, m_val, b_val, log):
    model_path = os.path.join(args.models, name + ".onnx")
    detector = name == "shapes_detector"
    net = st.load_model(os.path.join(args.models, name + ".pt"))
    common = ["--threads", str(args.threads)] + (["--max-isa", args.max_isa] if args.max_isa else [])
    calib = os.path.join(work, name + ".calib.json")
    run([args.mixq, "calibrate", "--model", model_path, "--dataset", calib_yaml, "--samples",
         str(args.calib_samples), "--method", args.method, "-q", "-o", calib] + common, log)
    out_name = "detections" if detector else "logits"
    stats = {"fp32_vs_torch_max_abs": 0.0, "torch_max_abs": 0.0}
    if detector:
        stats.update(fp32_vs_torch_box_max_abs=0.0, fp32_vs_torch_prob_max_abs=0.0,
                     int8_prob_abs_sum=0.0, int8_prob_max_abs=0.0, int8_box_abs_sum=0.0,
                     int8_box_max_abs=0.0, n_prob=0, n_box=0)
        dets = {"torch": [], "fp32": [], "int8": []}
    else:
        stats.update(int8_prob_abs_sum=0.0, int8_prob_max_abs=0.0, n_prob=0,
                     int8_argmax_changed=0, int8_logit_abs_sum=0.0, n_logit=0)
        cms = {k: np.zeros((st.K + 1, st.K + 1), np.int64) for k in ("torch", "fp32", "int8")}
    for i in range(0, x_val.shape[0], args.batch):
        x = st.preprocess(x_val[i : i + args.batch])
        batch_path = os.path.join(work, f"val_{i:05d}.npy")
        np.save(batch_path, x.numpy())
        outs = {}
        for kind, extra in (("fp32", []), ("int8", ["--config", "int8", "--calibration", calib])):
            out_dir = os.path.join(work, f"{name}_{kind}_{i:05d}")
            run([args.mixq, "infer", "--model", model_path, "--input", batch_path, "-o", out_dir]
                + common + extra, log)
            outs[kind] = np.load(os.path.join(out_dir, out_name + ".npy"))
        with torch.no_grad():
            ref = net.decode(net(x)) if detector else net(x)
        outs["torch"] = ref.numpy()
        diff = np.abs(outs["fp32"] - outs["torch"])
        stats["fp32_vs_torch_max_abs"] = max(stats["fp32_vs_torch_max_abs"], float(diff.max()))
        stats["torch_max_abs"] = max(stats["torch_max_abs"], float(np.abs(outs["torch"]).max()))
        if detector:
            stats["fp32_vs_torch_box_max_abs"] = max(stats["fp32_vs_torch_box_max_abs"],
                                                     float(diff[..., :4].max()))
            stats["fp32_vs_torch_prob_max_abs"] = max(stats["fp32_vs_torch_prob_max_abs"],
                                                      float(diff[..., 4:].max()))
            d8 = np.abs(outs["int8"] - outs["fp32"])
            stats["int8_prob_abs_sum"] += float(d8[..., 4:].sum())
            stats["int8_prob_max_abs"] = max(stats["int8_prob_max_abs"], float(d8[..., 4:].max()))
            stats["n_prob"] += d8[..., 4:].size
            stats["int8_box_abs_sum"] += float(d8[..., :4].sum())
            stats["int8_box_max_abs"] = max(stats["int8_box_max_abs"], float(d8[..., :4].max()))
            stats["n_box"] += d8[..., :4].size
            for k in dets:
                dets[k] += st.postprocess(outs[k])
        else:
            p32, p8 = softmax(outs["fp32"]), softmax(outs["int8"])
            d8 = np.abs(p8 - p32)
            stats["int8_prob_abs_sum"] += float(d8.sum())
            stats["int8_prob_max_abs"] = max(stats["int8_prob_max_abs"], float(d8.max()))
            stats["n_prob"] += d8.size
            stats["int8_logit_abs_sum"] += float(np.abs(outs["int8"] - outs["fp32"]).sum())
            stats["n_logit"] += outs["fp32"].size
            stats["int8_argmax_changed"] += int((outs["int8"].argmax(1) != outs["fp32"].argmax(1)).sum())
            for k in cms:
                cms[k] += st.confusion(outs[k].argmax(1), m_val[i : i + args.batch])
    result = {"model": name, "images": int(x_val.shape[0]),
              "fp32_vs_torch_max_abs": stats["fp32_vs_torch_max_abs"],
              "torch_max_abs": stats["torch_max_abs"]}
    if detector:
        result.update(
            fp32_vs_torch_box_max_abs=stats["fp32_vs_torch_box_max_abs"],
            fp32_vs_torch_prob_max_abs=stats["fp32_vs_torch_prob_max_abs"],
            int8_prob_mean_abs=stats["int8_prob_abs_sum"] / stats["n_prob"],
            int8_prob_max_abs=stats["int8_prob_max_abs"],
            int8_box_mean_abs_px=stats["int8_box_abs_sum"] / stats["n_box"],
            int8_box_max_abs_px=stats["int8_box_max_abs"])
        for k, d in dets.items():
            map50, map5095, _ = st.mean_average_precision(d, b_val)
            result[f"{k}_map50"], result[f"{k}_map50_95"] = map50, map5095
    else:
        result.update(
            int8_prob_mean_abs=stats["int8_prob_abs_sum"] / stats["n_prob"],
            int8_prob_max_abs=stats["int8_prob_max_abs"],
            int8_logit_mean_abs=stats["int8_logit_abs_sum"] / stats["n_logit"],
            int8_argmax_changed=stats["int8_argmax_changed"] / m_val.size)
        for k, cm in cms.items():
            miou, miou_shapes, _ = st.iou_from_confusion(cm)
            result[f"{k}_miou"], result[f"{k}_miou_shapes"] = miou, miou_shapes
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixq", default=os.path.join(ROOT, "build", "bin", "mixq"))
    parser.add_argument("--models", default=os.path.join(ROOT, "models"),
                        help="folder with the .onnx and .pt files (default models/)")
    parser.add_argument("--data", default=os.path.join(ROOT, "data", "shapes"),
                        help="shapes set from scripts/make_shapes_dataset (default data/shapes/)")
    parser.add_argument("--names", default="shapes_detector,shapes_segmenter")
    parser.add_argument("--count", type=int, default=500, help="val images (default all 500)")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--calib-samples", type=int, default=300)
    parser.add_argument("--method", default="minmax", help="mixq calibrate --method")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-isa", default="", help="mixq --max-isa (default: the machine's)")
    parser.add_argument("--work", default="", help="folder for the NPY files (default: a temporary one)")
    parser.add_argument("--json", default="", help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    x_val, m_val, b_val = st.load_split(args.data, "val", args.count)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or tmp
        os.makedirs(work, exist_ok=True)
        calib_yaml = calibration_set(work, args.data, args.calib_samples)
        results = []
        for name in args.names.split(","):
            start = time.time()
            results.append(check(name, args, work, calib_yaml, x_val, m_val, b_val, log))
            log(f"{name}: {time.time() - start:.0f} s")
            print(json.dumps(results[-1], indent=2), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
