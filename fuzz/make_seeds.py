#!/usr/bin/env python3
"""Writes the seed corpora of the lead's fuzz targets from the repository's
own files: fuzz/corpus/{config_json,data_arrays,dataset_files,job_yaml}/.
Run from anywhere with any python3 (standard library only) after building
mixq (build/bin/mixq, or the binary given as the first argument: the
calibration seeds are real `mixq calibrate` files of models/fm_resnet.onnx);
rerun after the shipped files change. Seeds stay small: a few samples of each
data file, one tensor's statistics.
"""
import glob
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
SEP = b"\n#@@\n"  # fuzz/fuzz_input.h kPartSeparator
FMNIST = "/usr/share/datasets/fashion-mnist"


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def idx_head(path, items):
    """The first `items` items of an IDX file, header count rewritten."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, count = struct.unpack(">II", raw[:8])
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * (ndim - 1), raw[8:4 + 4 * ndim])
    item = 1
    for d in dims:
        item *= d
    header = raw[:4] + struct.pack(">I", items) + raw[8:4 + 4 * ndim]
    return header + raw[4 + 4 * ndim:4 + 4 * ndim + item * items]


def npy(descr, shape, payload, version=1):
    shape_text = "(" + "".join(f"{d}, " if len(shape) == 1 else f"{d}," for d in shape).rstrip(",") + ")"
    if len(shape) > 1:
        shape_text = "(" + ", ".join(str(d) for d in shape) + ")"
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}"
    size_field = 2 if version == 1 else 4
    pad = 64 - (10 + size_field - 2 + len(header) + 1) % 64
    header += " " * (pad % 64) + "\n"
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode() + payload


def npy_rows(path, rows):
    """The first `rows` rows of a shipped NPY file (version 1, C order)."""
    with open(path, "rb") as f:
        raw = f.read()
    hlen = struct.unpack("<H", raw[8:10])[0]
    header = raw[10:10 + hlen].decode()
    d = eval(header)  # the header is a Python dict literal written by numpy
    shape = (rows,) + tuple(d["shape"][1:])
    item = {"<i4": 4, "<i8": 8, "<f4": 4, "|u1": 1}[d["descr"]]
    per_row = item
    for s in d["shape"][1:]:
        per_row *= s
    return npy(d["descr"], shape, raw[10 + hlen:10 + hlen + rows * per_row]), d["descr"]


def main():
    images = idx_head(f"{FMNIST}/t10k-images-idx3-ubyte.gz", 3)
    labels = idx_head(f"{FMNIST}/t10k-labels-idx1-ubyte.gz", 3)
    ids, _ = npy_rows(os.path.join(ROOT, "models/text_bert.test.input_ids.npy"), 2)
    mask, _ = npy_rows(os.path.join(ROOT, "models/text_bert.test.attention_mask.npy"), 2)
    text_labels, _ = npy_rows(os.path.join(ROOT, "models/text_bert.test.labels.npy"), 2)
    floats = npy("<f4", (2, 2, 2, 3), struct.pack("<24f", *[i / 7 for i in range(24)]))
    big_endian = npy(">f8", (2, 2), struct.pack(">4d", 1.5, -2, 0.25, 8), version=2)

    # data_arrays: first byte even = NPY, odd = IDX.
    write("data_arrays", "idx_images", b"1" + images)
    write("data_arrays", "idx_labels", b"1" + labels)
    write("data_arrays", "npy_input_ids", b"0" + ids)
    write("data_arrays", "npy_labels", b"0" + text_labels)
    write("data_arrays", "npy_floats", b"0" + floats)
    write("data_arrays", "npy_big_endian_v2", b"0" + big_endian)

    # dataset_files: YAML, then a.bin, b.bin, c.bin.
    fm_yaml = open(os.path.join(ROOT, "configs/datasets/fashion_mnist_test.yaml")).read()
    fm_yaml = fm_yaml.replace(f"{FMNIST}/t10k-images-idx3-ubyte.gz", "a.bin")
    fm_yaml = fm_yaml.replace(f"{FMNIST}/t10k-labels-idx1-ubyte.gz", "b.bin")
    write("dataset_files", "fashion_mnist_idx", SEP.join([fm_yaml.encode(), images, labels]))
    write("dataset_files", "fashion_mnist_idx_gzip",
          SEP.join([fm_yaml.encode(), gzip.compress(images, mtime=0), labels]))
    text_yaml = ("format: npy\ninputs:\n  input_ids: a.bin\n  attention_mask: b.bin\n"
                 "labels: c.bin\n")
    write("dataset_files", "text_inputs_npy", SEP.join([text_yaml.encode(), ids, mask, text_labels]))
    nhwc_yaml = ("format: npy\nimages: a.bin\nlabels: b.bin\nstored_layout: nhwc\n"
                 "input_shape: 1x3x2x2\npreprocess: {scale: 0.5, mean: [0.1, 0.2, 0.3], "
                 "std: [1, 2, 3], layout: nhwc}\n")
    int_labels = npy("<i8", (2,), struct.pack("<2q", 0, 3))
    write("dataset_files", "floats_nhwc_npy", SEP.join([nhwc_yaml.encode(), floats, int_labels]))

    # job_yaml: the shipped jobs as they are (paths resolve in configs/jobs/).
    for path in sorted(glob.glob(os.path.join(ROOT, "configs/jobs/*.yaml"))):
        write("job_yaml", os.path.basename(path), open(path, "rb").read())
    write("job_yaml", "calibrate_job.yaml",
          "name: seed-calibrate\nkind: calibrate\nmodel: ../../models/fm_resnet.onnx\n"
          "calibration: {dataset: ../datasets/fashion_mnist_train.yaml, samples: 200,\n"
          "              method: percentile, percentile: 99.9, shard_size: 100, batch: 50}\n"
          "output: fm_resnet.calibration.json\nhardware: avx2\n")
    write("job_yaml", "evaluate_profile_job.yaml",
          "name: seed-evaluate\nmodel: ../../models/fm_resnet.onnx\n"
          "data:\n  evaluation: {dataset: ../datasets/fashion_mnist_test.yaml, shard_size: 500}\n"
          "calibration: ../../calibrations/fm_resnet.json\n"
          "configs: [fp32, int8]\nbenchmark: {batches: [1, 8], seconds: 0.5}\n"
          "profile_batch: 1\ninput_shape: 1x1x28x28\nhardware: any\n")

    # config_json: first byte even = precision config, odd = calibration.
    layers = {"conv1": "int8", "layer1.0/conv": "fp32", "fc": "int8", 'a"b': "bf16", "é": "fp32"}
    sha = "3f6b1c0e8a2d4f5e6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b"
    write("config_json", "config_int8_word.txt", "0int8")
    write("config_json", "config_fp32_string.txt", '0"fp32"')
    write("config_json", "config_layers_word.txt", '0{"layers": "int8"}')
    write("config_json", "config_full.txt", "0" + json.dumps({"model_sha256": sha, "layers": layers}))
    write("config_json", "config_missing_layer.txt", '0{"layers": {"conv1": "int8"}}')
    mixq = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/bin/mixq")
    with tempfile.TemporaryDirectory() as tmp:
        for method, samples in (("kl", 32), ("percentile", 16)):
            out = os.path.join(tmp, method + ".json")
            subprocess.run([mixq, "calibrate", "--model", os.path.join(ROOT, "models/fm_resnet.onnx"),
                            "--dataset", os.path.join(ROOT, "configs/datasets/fashion_mnist_train.yaml"),
                            "--samples", str(samples), "--method", method, "-o", out, "-q"],
                           check=True, stdout=subprocess.DEVNULL)
            doc = json.load(open(out))
            doc["provenance"]["dataset"] = "configs/datasets/fashion_mnist_train.yaml"
            stats = doc.pop("stats")
            write("config_json", f"calibration_{method}_no_stats.txt", "1" + json.dumps(doc, indent=1))
            first = sorted(stats["tensors"])[0]
            doc["stats"] = {"version": stats["version"], "tensors": {first: stats["tensors"][first]}}
            doc["tensors"] = {first: doc["tensors"][first]}
            write("config_json", f"calibration_{method}_one_tensor.txt", "1" + json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
