#!/usr/bin/python3
"""Exports ImageNet-shaped networks with random weights for speed benchmarks.

mixq's peer benchmark (scripts/bench_peers) needs the standard ImageNet
workloads, but trained weights cannot be downloaded here and only their
speed is measured, so the architectures are rebuilt in this file (the layer
shapes of torchvision's ResNet-50 v1.5, ResNet-18 and MobileNetV2;
torchvision itself is not needed) and given seeded random weights. BatchNorm gets random
affine parameters and running statistics measured on random images, so
folding BN into the convolutions is not a no-op and activations stay in a
sane range through all layers.

  /usr/bin/python3 scripts/export_resnet50.py [--model resnet50|resnet18|mobilenet_v2]
      [--out build/models/resnet50.onnx] [--seed 0]

Output: ONNX opset 13, input "input" [N,3,224,224], output "logits" [N,1000],
dynamic batch. Needs torch (Debian: scripts/setup --train).
"""

import argparse
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ResNet-18's block is the reference models' (same layer shapes as torchvision's).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_reference_models import BasicBlock  # noqa: E402


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride, as in v1.5), 1x1 expand x4."""

    expansion = 4

    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNet(nn.Module):
    """Stem, four stages of `block`s (widths 64-512, x block.expansion), head."""

    def __init__(self, block, blocks, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        expansion = getattr(block, "expansion", 1)
        layers, cin = [], 64
        for i, n in enumerate(blocks):
            width = 64 * 2**i
            for j in range(n):
                layers.append(block(cin, width, 2 if (i > 0 and j == 0) else 1))
                cin = width * expansion
        self.layers = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layers(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def conv_bn(cin, cout, kernel, stride, groups=1, relu6=True):
    layers = [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if relu6:
        layers.append(nn.ReLU6(inplace=True))
    return layers


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = conv_bn(cin, hidden, 1, 1) if expand != 1 else []
        layers += conv_bn(hidden, hidden, 3, stride, groups=hidden)
        layers += conv_bn(hidden, cout, 1, 1, relu6=False)
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    SETTINGS = (
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
        (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    )

    def __init__(self, classes=1000):
        super().__init__()
        layers, cin = conv_bn(3, 32, 3, 2), 32
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers += conv_bn(cin, 1280, 1, 1)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(1280, classes)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(torch.flatten(self.avgpool(x), 1))


BUILDERS = {
    "resnet50": lambda: ResNet(Bottleneck, (3, 4, 6, 3)),
    "resnet18": lambda: ResNet(BasicBlock, (2, 2, 2, 2)),
    "mobilenet_v2": MobileNetV2,
}


def randomise(model, seed, batches=2, batch=4):
    """Seeded random weights; BN statistics measured on random images."""
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.normal_(m.bias, 0.0, 0.1)
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches below
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(batch, 3, 224, 224))
    model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(BUILDERS), default="resnet50")
    parser.add_argument("--out", help="ONNX path (default build/models/<model>.onnx)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = args.out or os.path.join("build", "models", args.model + ".onnx")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)

    start = time.time()
    model = BUILDERS[args.model]()
    randomise(model, args.seed)
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 224, 224))
    torch.onnx.export(
        model,
        torch.zeros(1, 3, 224, 224),
        out,
        opset_version=13,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=True,
    )
    print(f"{args.model}: {params:,} parameters, logits std {float(logits.std()):.3f}, "
          f"wrote {out} ({os.path.getsize(out) / 2**20:.1f} MiB) in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
