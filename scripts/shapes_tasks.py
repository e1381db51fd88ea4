"""The shapes task models, their data and their metrics.

Shared by scripts/train_task_models.py (training, export) and
scripts/check_task_models.py (mixq against PyTorch). The data come from
scripts/make_shapes_dataset (six classes, 128x128 JPEGs, COCO boxes, PNG
label masks).

Preprocessing, both models: RGB, pixel / 255, then (x - MEAN[c]) / STD[c]
(ImageNet's values), NCHW float32 [N, 3, 128, 128], input name "images".

Detector output "detections" [N, 256, 11]: one row per cell of the 16x16
stride-8 grid (cell index gy * 16 + gx), columns cx, cy, w, h (box centre and
size in input pixels), objectness, then the six class probabilities, all
decoded in the graph: with p = sigmoid(raw),
  cx = (2 p - 0.5 + gx) * 8,  cy = (2 p - 0.5 + gy) * 8,
  w = (2 p)^2 * 16,            h = (2 p)^2 * 16   (so 0 to 64 pixels),
  objectness = p, class k probability = p.
A box's score for class k is objectness * p_k; evaluation keeps scores of at
least 0.001, runs per-class NMS (IoU 0.6) and keeps the best 100 per image.

Segmenter output "logits" [N, 7, 128, 128]: channel 0 background, channel k
class k; the prediction is the argmax.
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = ("circle", "square", "triangle", "plus", "ring", "star")
K = len(CLASSES)
SIZE = 128
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
STRIDE = 8
GRID = SIZE // STRIDE
CELLS = GRID * GRID
BASE_WH = 16.0  # w = (2 sigmoid)^2 * BASE_WH: 0 to 4 * BASE_WH pixels
SCORE_THRESHOLD = 0.001
NMS_IOU = 0.6
MAX_DETECTIONS = 100


# ---------------------------------------------------------------- data


def load_split(data_dir, split, count=None):
    """uint8 images [N,H,W,3], uint8 masks [N,H,W], and per image a float32
    array [M,5] of (class 0..K-1, x, y, w, h), in annotations.json's order."""
    from PIL import Image

    with open(os.path.join(data_dir, split, "annotations.json")) as f:
        coco = json.load(f)
    images = coco["images"][:count] if count else coco["images"]
    boxes = {im["id"]: [] for im in images}
    for a in coco["annotations"]:
        if a["image_id"] in boxes:
            boxes[a["image_id"]].append([a["category_id"] - 1] + list(a["bbox"]))
    n = len(images)
    h, w = images[0]["height"], images[0]["width"]
    x = np.empty((n, h, w, 3), np.uint8)
    m = np.empty((n, h, w), np.uint8)
    stem = lambda name: os.path.splitext(name)[0]
    for i, im in enumerate(images):
        x[i] = np.asarray(Image.open(os.path.join(data_dir, split, "images", im["file_name"]))
                          .convert("RGB"))
        m[i] = np.asarray(Image.open(os.path.join(data_dir, split, "masks",
                                                  stem(im["file_name"]) + ".png")))
    b = [np.asarray(boxes[im["id"]], np.float32).reshape(-1, 5) for im in images]
    return x, m, b


def preprocess(images_nhwc):
    """uint8 [N,H,W,3] (numpy or torch) -> normalised float32 torch [N,3,H,W]."""
    x = torch.as_tensor(np.asarray(images_nhwc)).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


# ---------------------------------------------------------------- models


def conv_bn(cin, cout, k=3, stride=1, act="relu"):
    """Conv + BN + activation: ReLU (ONNX Relu) or SiLU (Sigmoid and Mul)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True) if act == "relu" else nn.SiLU(inplace=True),
    )


class ShapesDetector(nn.Module):
    """Single-scale anchor-free detector: backbone to stride 16, a top-down
    path back to stride 8 (nearest upsample + Concat), a 1x1 head giving
    4 + 1 + K raw values per cell of the 16x16 grid. forward() returns the
    raw head [N, 5+K, 16, 16]; decode() turns it into "detections"."""

    def __init__(self, widths=(16, 32, 64, 128), neck=64, act="relu"):
        super().__init__()
        self.config = {"widths": list(widths), "neck": neck, "act": act}
        w0, w1, w2, w3 = widths
        cb = lambda cin, cout, k=3, stride=1: conv_bn(cin, cout, k, stride, act)
        self.stem = cb(3, w0, 3, 2)                                   # 64x64
        self.stage1 = nn.Sequential(cb(w0, w1, 3, 2), cb(w1, w1))    # 32x32
        self.stage2 = nn.Sequential(cb(w1, w2, 3, 2), cb(w2, w2))    # 16x16
        self.stage3 = nn.Sequential(cb(w2, w3, 3, 2), cb(w3, w3))    # 8x8
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.neck = nn.Sequential(cb(w3 + w2, neck, 1), cb(neck, neck))
        self.head = nn.Conv2d(neck, 5 + K, 1)
        # decode: out = (p * a1 + b1) * (p * a2 + b2) + c, per column (and cell for c)
        a1 = torch.tensor([2 * STRIDE, 2 * STRIDE] + [2 * math.sqrt(BASE_WH)] * 2 + [1.0] * (1 + K))
        b1 = torch.tensor([-0.5 * STRIDE] * 2 + [0.0] * (3 + K))
        a2 = torch.tensor([0.0, 0.0] + [2 * math.sqrt(BASE_WH)] * 2 + [0.0] * (1 + K))
        b2 = torch.tensor([1.0, 1.0, 0.0, 0.0] + [1.0] * (1 + K))
        gy, gx = torch.meshgrid(torch.arange(GRID), torch.arange(GRID), indexing="ij")
        c = torch.zeros(1, CELLS, 5 + K)
        c[0, :, 0] = gx.reshape(-1).float() * STRIDE
        c[0, :, 1] = gy.reshape(-1).float() * STRIDE
        for name, t in (("a1", a1), ("b1", b1), ("a2", a2), ("b2", b2)):
            self.register_buffer(name, t.view(1, 1, -1), persistent=False)
        self.register_buffer("c", c, persistent=False)
        nn.init.constant_(self.head.bias, 0.0)
        with torch.no_grad():
            self.head.bias[4] = -4.0  # objectness starts near 0.02
            self.head.bias[5:] = -2.0

    def forward(self, x):
        c2 = self.stage2(self.stage1(self.stem(x)))
        c3 = self.stage3(c2)
        return self.head(self.neck(torch.cat([self.up(c3), c2], 1)))

    def decode(self, raw):
        """raw [N, 5+K, 16, 16] -> [N, 256, 5+K] boxes (cxcywh pixels) and probabilities."""
        p = torch.sigmoid(raw.reshape(-1, 5 + K, CELLS).transpose(1, 2))
        return (p * self.a1 + self.b1) * (p * self.a2 + self.b2) + self.c


class DetectorExport(nn.Module):
    """What the ONNX graph computes: images -> detections."""

    def __init__(self, detector):
        super().__init__()
        self.detector = detector

    def forward(self, images):
        return self.detector.decode(self.detector(images))


class ShapesSegmenter(nn.Module):
    """Encoder (four stride-2 stages) and decoder (nearest upsample + skip
    Concat + conv, three times) to 64x64, then a 2x2 stride-2 ConvTranspose to
    K + 1 logits at 128x128."""

    def __init__(self, widths=(16, 32, 64, 96), dec=(48, 24, 16), act="relu"):
        super().__init__()
        self.config = {"widths": list(widths), "dec": list(dec), "act": act}
        w0, w1, w2, w3 = widths
        cb = lambda cin, cout, k=3, stride=1: conv_bn(cin, cout, k, stride, act)
        self.enc0 = nn.Sequential(cb(3, w0, 3, 2), cb(w0, w0))       # 64x64
        self.enc1 = nn.Sequential(cb(w0, w1, 3, 2), cb(w1, w1))      # 32x32
        self.enc2 = nn.Sequential(cb(w1, w2, 3, 2), cb(w2, w2))      # 16x16
        self.enc3 = nn.Sequential(cb(w2, w3, 3, 2), cb(w3, w3))      # 8x8
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.dec2 = cb(w3 + w2, dec[0])                                # 16x16
        self.dec1 = cb(dec[0] + w1, dec[1])                            # 32x32
        self.dec0 = cb(dec[1] + w0, dec[2])                            # 64x64
        self.out = nn.ConvTranspose2d(dec[2], K + 1, 2, 2)             # 128x128
        # Background is about 94 % of the pixels: start from that prior (from
        # uniform logits, training spent its first epochs learning it and then
        # stayed at all-background for 15 epochs).
        with torch.no_grad():
            self.out.bias[:] = torch.tensor([3.0] + [0.0] * K)

    def forward(self, x):
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d = self.dec2(torch.cat([self.up(e3), e2], 1))
        d = self.dec1(torch.cat([self.up(d), e1], 1))
        d = self.dec0(torch.cat([self.up(d), e0], 1))
        return self.out(d)


def load_model(path):
    """A model saved by scripts/train_task_models.py (<name>.pt), in eval mode."""
    saved = torch.load(path)
    cls = ShapesDetector if saved["name"] == "shapes_detector" else ShapesSegmenter
    model = cls(**saved["config"])
    model.load_state_dict(saved["state_dict"])
    return model.eval()


# ---------------------------------------------------------------- boxes


def cxcywh_to_xyxy(b):
    return torch.cat([b[..., :2] - b[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2], -1)


def ciou(pred, target, eps=1e-7):
    """Complete IoU of matching cxcywh boxes [..., 4] (and the plain IoU)."""
    p, t = cxcywh_to_xyxy(pred), cxcywh_to_xyxy(target)
    iw = (torch.min(p[..., 2], t[..., 2]) - torch.max(p[..., 0], t[..., 0])).clamp(min=0)
    ih = (torch.min(p[..., 3], t[..., 3]) - torch.max(p[..., 1], t[..., 1])).clamp(min=0)
    inter = iw * ih
    union = pred[..., 2] * pred[..., 3] + target[..., 2] * target[..., 3] - inter + eps
    iou = inter / union
    cw = torch.max(p[..., 2], t[..., 2]) - torch.min(p[..., 0], t[..., 0])
    ch = torch.max(p[..., 3], t[..., 3]) - torch.min(p[..., 1], t[..., 1])
    c2 = cw ** 2 + ch ** 2 + eps
    rho2 = ((pred[..., :2] - target[..., :2]) ** 2).sum(-1)
    v = (4 / math.pi ** 2) * (torch.atan(target[..., 2] / (target[..., 3] + eps))
                              - torch.atan(pred[..., 2] / (pred[..., 3] + eps))) ** 2
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha), iou


def build_targets(boxes_list):
    """Per cell targets for a batch: pos [B,256] bool, box [B,256,4] cxcywh,
    cls [B,256] long. Each object goes to the cell holding its centre and the
    two neighbours nearest to the centre (YOLOv5's rule, which the (2p - 0.5)
    offsets can reach); where objects compete for a cell, a centre cell wins
    over a neighbour, then the smaller object."""
    b = len(boxes_list)
    pos = torch.zeros(b, CELLS, dtype=torch.bool)
    box = torch.zeros(b, CELLS, 4)
    cls = torch.zeros(b, CELLS, dtype=torch.long)
    for i, boxes in enumerate(boxes_list):
        best = {}
        for k, x, y, w, h in boxes.tolist():
            cx, cy = x + w / 2, y + h / 2
            gx, gy = min(int(cx / STRIDE), GRID - 1), min(int(cy / STRIDE), GRID - 1)
            fx, fy = cx / STRIDE - gx, cy / STRIDE - gy
            cells = [(gx, gy, 0), (gx - 1 if fx < 0.5 else gx + 1, gy, 1),
                     (gx, gy - 1 if fy < 0.5 else gy + 1, 1)]
            for cx_, cy_, rank in cells:
                if 0 <= cx_ < GRID and 0 <= cy_ < GRID:
                    key = (rank, w * h)
                    cell = cy_ * GRID + cx_
                    if cell not in best or key < best[cell][0]:
                        best[cell] = (key, (cx, cy, w, h), int(k))
        for cell, (_key, bb, k) in best.items():
            pos[i, cell] = True
            box[i, cell] = torch.tensor(bb)
            cls[i, cell] = k
    return pos, box, cls


def detector_loss(model, raw, targets, weights=(1.0, 1.0, 0.5)):
    pos, tbox, tcls = targets
    det = model.decode(raw)
    logits = raw.reshape(-1, 5 + K, CELLS).transpose(1, 2)
    obj_t = torch.zeros(pos.shape)
    if pos.any():
        c, iou = ciou(det[..., :4][pos], tbox[pos])
        box_loss = (1 - c).mean()
        obj_t[pos] = iou.detach().clamp(0, 1)
        cls_loss = F.binary_cross_entropy_with_logits(
            logits[..., 5:][pos], F.one_hot(tcls[pos], K).float())
    else:
        box_loss = cls_loss = raw.sum() * 0
    obj_loss = F.binary_cross_entropy_with_logits(logits[..., 4], obj_t)
    w_box, w_obj, w_cls = weights
    return w_box * box_loss + w_obj * obj_loss + w_cls * cls_loss, (box_loss, obj_loss, cls_loss)


# ---------------------------------------------------------------- metrics


def nms(boxes, scores, iou):
    """Greedy NMS (numpy), boxes xyxy [M,4]; indices kept, best score first."""
    order = np.argsort(-scores, kind="stable")
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iw = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        ih = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        inter = iw * ih
        o = inter / (area[i] + area[rest] - inter + 1e-9)
        order = rest[o <= iou]
    return np.asarray(keep, np.int64)


def postprocess(detections, score_threshold=SCORE_THRESHOLD, nms_iou=NMS_IOU,
                max_det=MAX_DETECTIONS):
    """detections [N, cells, 5+K] (numpy) -> per image an array [M, 6] of
    (x1, y1, x2, y2, score, class 0..K-1): every (cell, class) with
    score = objectness * p_class >= score_threshold, per-class NMS, the best
    max_det."""
    out = []
    for d in np.asarray(detections, np.float32):
        scores = d[:, 4:5] * d[:, 5:]
        cell, k = np.nonzero(scores >= score_threshold)
        s = scores[cell, k]
        b = d[cell, :4]
        xyxy = np.concatenate([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], 1)
        kept = []
        for c in np.unique(k):
            idx = np.nonzero(k == c)[0]
            kept.append(idx[nms(xyxy[idx], s[idx], nms_iou)])
        if kept:
            idx = np.concatenate(kept)
            idx = idx[np.argsort(-s[idx], kind="stable")][:max_det]
        else:
            idx = np.zeros(0, np.int64)
        out.append(np.concatenate([xyxy[idx], s[idx, None], k[idx, None].astype(np.float32)], 1))
    return out


def box_iou_xyxy(a, b):
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9)


def mean_average_precision(dets, gts, thresholds=np.arange(0.5, 0.96, 0.05)):
    """COCO-style box mAP: per class and IoU threshold, detections of all
    images by descending score, each matched greedily to the unmatched
    ground-truth box of its image and class with the highest IoU at or above
    the threshold; AP is the 101-point interpolated area under the
    precision-recall curve; classes without ground truth are skipped (no
    area ranges, no crowd boxes). dets: per image [M,6] from postprocess;
    gts: per image [G,5] (class, x, y, w, h). Returns (mAP@0.5,
    mAP@0.5:0.95, per-class AP@0.5)."""
    thresholds = np.round(np.asarray(thresholds), 2)
    ap = np.zeros((K, len(thresholds)))
    present = np.zeros(K, bool)
    for c in range(K):
        scores, tp, n_gt = [], [], 0
        for d, g in zip(dets, gts):
            dc = d[d[:, 5] == c]
            gc = g[g[:, 0] == c]
            n_gt += len(gc)
            if not len(dc):
                continue
            dc = dc[np.argsort(-dc[:, 4], kind="stable")]
            scores.append(dc[:, 4])
            hit = np.zeros((len(dc), len(thresholds)), bool)
            if len(gc):
                gxyxy = np.stack([gc[:, 1], gc[:, 2], gc[:, 1] + gc[:, 3], gc[:, 2] + gc[:, 4]], 1)
                iou = box_iou_xyxy(dc[:, :4], gxyxy)
                for ti, t in enumerate(thresholds):
                    taken = np.zeros(len(gc), bool)
                    for di in range(len(dc)):
                        cand = np.where(taken, -1.0, iou[di])
                        j = int(np.argmax(cand))
                        if cand[j] >= t - 1e-12:
                            taken[j] = True
                            hit[di, ti] = True
            tp.append(hit)
        if n_gt == 0:
            continue
        present[c] = True
        if not scores:
            continue
        s = np.concatenate(scores)
        h = np.concatenate(tp)[np.argsort(-s, kind="stable")]
        ctp = np.cumsum(h, 0)
        recall = ctp / n_gt
        precision = ctp / np.arange(1, len(s) + 1)[:, None]
        precision = np.maximum.accumulate(precision[::-1], 0)[::-1]
        for ti in range(len(thresholds)):
            idx = np.searchsorted(recall[:, ti], np.linspace(0, 1, 101), side="left")
            valid = idx < len(s)
            ap[c, ti] = np.where(valid, precision[np.minimum(idx, len(s) - 1), ti], 0).mean()
    map50 = float(ap[present, 0].mean())
    map5095 = float(ap[present].mean())
    return map50, map5095, {CLASSES[c]: float(ap[c, 0]) for c in range(K) if present[c]}


def confusion(pred, target, classes=K + 1):
    """Pixel confusion matrix [target, pred] of label maps."""
    idx = target.astype(np.int64).ravel() * classes + pred.astype(np.int64).ravel()
    return np.bincount(idx, minlength=classes * classes).reshape(classes, classes)


def iou_from_confusion(cm):
    """(mIoU over all K+1 classes, mIoU over the K shape classes, per-class IoU)."""
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(0) + cm.sum(1) - tp
    iou = np.where(denom > 0, tp / np.maximum(denom, 1), np.nan)
    return float(np.nanmean(iou)), float(np.nanmean(iou[1:])), iou.tolist()
