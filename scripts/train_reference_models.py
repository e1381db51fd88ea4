#!/usr/bin/python3
"""Trains mixq's small reference classifiers on Fashion-MNIST and exports them.

Two networks, both 1x28x28 in and 10 logits out, chosen because together they
exercise what mixq must handle: a ResNet (Conv+BN+ReLU, residual Adds,
strided 1x1 projection shortcuts) and a MobileNetV2 (depthwise convolutions,
ReLU6 exported as Clip, linear bottlenecks). The run is deterministic on one
thread: the same command gives the same weights on the same torch build.

Writes into --out (default models/):
  <name>.onnx            opset 13, input "input" [N,1,28,28], output "logits"
  <name>.expected.json   PyTorch FP32 top-1/top-5 on the 10,000 test images
  <name>.logits8.json    PyTorch FP32 logits of test images 0..7
  README.md              architectures, accuracies, seed, command, timings

Needs only torch and numpy (Debian: scripts/setup --train); reads the IDX
files directly, so torchvision is not required.
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN = 0.2860
STD = 0.3530


# ---------------------------------------------------------------- data


def read_idx(path):
    """Returns the array stored in a (gzip) IDX file."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {np.prod(dims)} values, found {body.size}")
    return body.reshape(dims)


def load_split(data_dir, prefix):
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    x = ((x - MEAN) / STD).unsqueeze(1).contiguous()
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def augment(x, generator):
    """Random horizontal flips and +-2 pixel shifts (one shift per batch)."""
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], torch.flip(x, dims=[3]), x)
    dy, dx = torch.randint(-2, 3, (2,), generator=generator).tolist()
    background = -MEAN / STD  # a black pixel after normalisation
    padded = F.pad(x, (2, 2, 2, 2), value=background)
    return padded[:, :, 2 + dy : 30 + dy, 2 + dx : 30 + dx].contiguous()


# ---------------------------------------------------------------- models


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + identity)


class FmResNet(nn.Module):
    """Stem 3x3 conv, three stages of basic blocks (widths 16-32-64), GAP, Linear."""

    def __init__(self, widths=(16, 32, 64), blocks=(1, 1, 1), classes=10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, widths[0], 3, 1, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
        layers = []
        cin = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(BasicBlock(cin, w, stride))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(self.pool(x), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = []
        if expand != 1:
            layers += [
                nn.Conv2d(cin, hidden, 1, bias=False),
                nn.BatchNorm2d(hidden),
                nn.ReLU6(inplace=True),
            ]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        out = self.body(x)
        return x + out if self.residual else out


class FmMobileNet(nn.Module):
    """MobileNetV2 shape for 28x28: (expand, channels, repeats, stride) stages.

    The first block already strides, so the 4x expansions run at 14x14 and
    7x7: at 28x28 they made training several times slower on one core.
    """

    SETTINGS = ((1, 16, 1, 2), (4, 24, 2, 2), (4, 32, 2, 1), (4, 64, 2, 1))

    def __init__(self, stem=16, last=128, classes=10):
        super().__init__()
        layers = [
            nn.Conv2d(1, stem, 3, 1, 1, bias=False),
            nn.BatchNorm2d(stem),
            nn.ReLU6(inplace=True),
        ]
        cin = stem
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers += [
            nn.Conv2d(cin, last, 1, bias=False),
            nn.BatchNorm2d(last),
            nn.ReLU6(inplace=True),
        ]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(last, classes)

    def forward(self, x):
        x = self.features(x)
        return self.fc(torch.flatten(self.pool(x), 1))


MODELS = {
    "fm_resnet": (
        FmResNet,
        "ResNet: stem Conv3x3(1->16)+BN+ReLU at 28x28; basic blocks "
        "16 (28x28), 32 (stride 2, 14x14), 64 (stride 2, 7x7), each two "
        "Conv3x3+BN with a residual Add and ReLU, the strided blocks with a "
        "1x1 stride-2 Conv+BN projection shortcut; global average pool; "
        "Linear(64->10).",
    ),
    "fm_mobilenet": (
        FmMobileNet,
        "MobileNetV2: stem Conv3x3(1->16)+BN+ReLU6 at 28x28; inverted "
        "residual blocks (expand t, out c, repeats n, stride s) = "
        "(1,16,1,2) (4,24,2,2) (4,32,2,1) (4,64,2,1) (28->14->7), each 1x1 expand+BN+"
        "ReLU6 (skipped when t=1), depthwise 3x3+BN+ReLU6, 1x1 linear "
        "projection+BN, residual Add when stride 1 and channels match; "
        "Conv1x1(64->128)+BN+ReLU6; global average pool; Linear(128->10).",
    ),
}


# ---------------------------------------------------------------- training


def evaluate(model, x, y, batch=500):
    model.eval()
    correct1 = correct5 = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            logits = model(x[i : i + batch])
            top5 = logits.topk(5, dim=1).indices
            target = y[i : i + batch, None]
            correct1 += int((top5[:, :1] == target).sum())
            correct5 += int((top5 == target).any(dim=1).sum())
    return correct1, correct5


def train(model, x, y, epochs, batch, lr, seed, log):
    generator = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    steps = epochs * (x.shape[0] // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(x.shape[0], generator=generator)
        start, loss_sum, seen = time.time(), 0.0, 0
        for i in range(0, x.shape[0] - batch + 1, batch):
            idx = order[i : i + batch]
            xb = augment(x[idx], generator)
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss) * batch
            seen += batch
        log(f"  epoch {epoch + 1}/{epochs}: loss {loss_sum / seen:.4f} ({time.time() - start:.0f} s)")


def export_onnx(model, path):
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(
        model,
        dummy,
        path,
        opset_version=13,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=True,
    )


def write_readme(out_dir):
    """Writes README.md from every <name>.expected.json present in out_dir,
    keeping the sections other scripts own (from the first "<!-- " marker
    line on, e.g. scripts/train_text_model.py's)."""
    readme = os.path.join(out_dir, "README.md")
    kept = ""
    if os.path.exists(readme):
        with open(readme) as f:
            old = f.read()
        if "\n<!-- " in old:
            kept = old[old.index("\n<!-- ") + 1 :]
    results = []
    for name in MODELS:
        path = os.path.join(out_dir, name + ".expected.json")
        if os.path.exists(path):
            with open(path) as f:
                results.append(dict(json.load(f), name=name, summary=MODELS[name][1]))
    lines = [
        "# Reference models",
        "",
        "Small classifiers trained on Fashion-MNIST by `scripts/train_reference_models.py`,",
        "for mixq's tests, examples and benchmarks. Both take `input` of shape",
        "`[N, 1, 28, 28]` float32 and give `logits` `[N, 10]` (ONNX opset 13, dynamic batch).",
        "",
        "Preprocessing (as in `configs/datasets/fashion_mnist_*.yaml`): pixel / 255,",
        f"then (x - {MEAN}) / {STD}; NCHW.",
        "",
        "Accuracies are the PyTorch FP32 model in eval mode on all 10,000 test images",
        "(`t10k-*`); `<name>.expected.json` holds the same numbers and",
        "`<name>.logits8.json` the PyTorch logits of test images 0..7, for exactness tests.",
        "",
        "| model | parameters | epochs | top-1 | top-5 | training wall time | CPU time | ONNX size |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        size = os.path.getsize(os.path.join(out_dir, r["name"] + ".onnx"))
        lines.append(
            f"| `{r['name']}.onnx` | {r['params']:,} | {r['epochs']} | {100 * r['top1']:.2f} % "
            f"| {100 * r['top5']:.2f} % | {r['train_seconds'] / 60:.1f} min "
            f"| {r['cpu_seconds'] / 60:.1f} min | {size / 1024:.0f} KiB |"
        )
    lines += [
        "",
        "Training: SGD (Nesterov momentum 0.9, weight decay 5e-4), one-cycle learning rate,",
        "random horizontal flips and +-2 pixel shifts; one thread, deterministic algorithms.",
        "Wall times were taken on one thread of a 2-core machine that was busy compiling",
        "(load 2-6) while both models trained at once, so they are upper bounds; CPU time",
        "(user + system, from model construction to export) is the fairer cost. Unloaded,",
        "a training step (batch 128) took about 110 ms (fm_resnet) and 150 ms (fm_mobilenet).",
        "Running the script without options trains both models in turn with the same",
        "settings and seeds.",
        "",
        "The exported graphs have no BatchNormalization: torch folds BN into the Conv",
        "weights when exporting in eval mode. ReLU6 is `Clip` with min 0 and max 6 given",
        "by `Constant` nodes.",
        "",
    ]
    for r in results:
        lines += [
            f"## {r['name']}",
            "",
            r["summary"],
            "",
            "ONNX ops: " + ", ".join(r["ops"]) + ".",
            "",
            f"Made with torch {r['torch']}, seed {r['seed']}:",
            "",
            "```",
            r["command"],
            "```",
            "",
        ]
    with open(readme, "w") as f:
        f.write("\n".join(lines) + ("\n" + kept if kept else ""))


def onnx_op_types(path):
    """Op types of the exported graph, via protoc and libonnx-dev's schema."""
    import subprocess

    proto = "/usr/include/onnx/onnx.proto"
    if not os.path.exists(proto):
        return ["(onnx.proto not found)"]
    with open(path, "rb") as f:
        text = subprocess.run(
            ["protoc", "-I/usr/include", "--decode=onnx.ModelProto", "onnx/onnx.proto"],
            stdin=f, capture_output=True, check=True,
        ).stdout.decode()
    ops = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("op_type:"):
            op = line.split('"')[1]
            if op not in ops:
                ops.append(op)
    return ops


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="models", help="output folder (default models/)")
    parser.add_argument("--data", default=DATA_DIR, help="folder with the Fashion-MNIST .gz files")
    parser.add_argument("--models", default="fm_resnet,fm_mobilenet")
    parser.add_argument("--epochs", default="fm_resnet=8,fm_mobilenet=5",
                        help="epochs per model, name=N,...")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--readme-only", action="store_true",
                        help="only rewrite README.md from the .expected.json files")
    parser.add_argument("--time-steps", type=int, default=0,
                        help="only time this many training steps per model and exit")
    args = parser.parse_args()

    if args.readme_only:
        write_readme(args.out)
        return
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    log = lambda msg: print(msg, flush=True)

    x_train, y_train = load_split(args.data, "train")
    x_test, y_test = load_split(args.data, "t10k")
    log(f"train {tuple(x_train.shape)}, test {tuple(x_test.shape)}")
    epochs = {k: int(v) for k, v in (kv.split("=") for kv in args.epochs.split(","))}

    for name in args.models.split(","):
        cls, summary = MODELS[name]
        torch.manual_seed(args.seed)
        model = cls()
        params = sum(p.numel() for p in model.parameters())
        if args.time_steps:
            model.train()
            gen = torch.Generator().manual_seed(0)
            opt = torch.optim.SGD(model.parameters(), lr=0.01)
            start = time.time()
            for i in range(args.time_steps):
                xb = augment(x_train[i * args.batch : (i + 1) * args.batch], gen)
                loss = F.cross_entropy(model(xb), y_train[i * args.batch : (i + 1) * args.batch])
                opt.zero_grad()
                loss.backward()
                opt.step()
            per_step = (time.time() - start) / args.time_steps
            log(f"{name}: {params} params, {per_step * 1000:.0f} ms/step, "
                f"{per_step * (60000 // args.batch) / 60:.1f} min/epoch")
            continue
        log(f"{name}: {params} parameters, {epochs[name]} epochs")
        cpu_start = time.process_time()
        start = time.time()
        train(model, x_train, y_train, epochs[name], args.batch, args.lr, args.seed, log)
        train_s = time.time() - start
        correct1, correct5 = evaluate(model, x_test, y_test)
        n = x_test.shape[0]
        log(f"{name}: top-1 {100 * correct1 / n:.2f} %, top-5 {100 * correct5 / n:.2f} %, "
            f"trained in {train_s / 60:.1f} min")

        path = os.path.join(args.out, name + ".onnx")
        export_onnx(model, path)
        with torch.no_grad():
            logits8 = model(x_test[:8]).tolist()
        with open(os.path.join(args.out, name + ".logits8.json"), "w") as f:
            json.dump(logits8, f)
            f.write("\n")
        ops = onnx_op_types(path)
        log(f"{name}: ONNX ops {ops}")
        command = ("/usr/bin/python3 scripts/train_reference_models.py " +
                   " ".join(sys.argv[1:])).strip()
        with open(os.path.join(args.out, name + ".expected.json"), "w") as f:
            json.dump({"top1": correct1 / n, "top5": correct5 / n, "correct1": correct1,
                       "correct5": correct5, "samples": n, "params": params,
                       "epochs": epochs[name], "batch": args.batch, "lr": args.lr,
                       "seed": args.seed, "train_seconds": round(train_s, 1),
                       "cpu_seconds": round(time.process_time() - cpu_start, 1),
                       "torch": torch.__version__, "ops": ops, "command": command},
                      f, indent=2)
            f.write("\n")
    write_readme(args.out)


if __name__ == "__main__":
    main()
