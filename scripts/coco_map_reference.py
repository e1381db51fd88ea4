#!/usr/bin/env python3
"""COCO bounding-box mAP from its published definition, with numpy alone.

An oracle for mixq's metrics/detection.h, written apart from it (and from
pycocotools, which needs a compiled extension): tests/metrics runs it on
seeded random worlds and on a case computed by hand.

    /usr/bin/python3 scripts/coco_map_reference.py GT.json DETECTIONS.json

GT.json is a COCO instances file (images, annotations with image_id,
category_id, bbox [x, y, w, h], area (default w*h), iscrowd (default 0),
categories); DETECTIONS.json is COCO's results format, a list of
{"image_id", "category_id", "bbox", "score"}. Prints one JSON object:
{"map50": ..., "map50_95": ..., "per_category": {"<id>": [ap50, ap50_95]}},
-1 for the means when no category has a counted ground truth.

The definition (COCO detection evaluation; area "all", 100 detections):
  * a category's ground truths that are crowds, or whose area is outside
    [0, 1e10], are "ignored": not counted, and a detection matched to one is
    neither right nor wrong;
  * per image, a category's detections in score order (ties keep file order),
    the first 100;
  * IoU is intersection over union of x, y, w, h boxes (no +1); against a
    crowd it is intersection over the detection's area;
  * at each IoU threshold of linspace(0.5, 0.95, 10), detections in turn take
    the best-IoU ground truth (IoU >= threshold, the last of equal ones) that
    no earlier detection took (crowds may be taken again), preferring counted
    ground truths to ignored ones; unmatched detections whose area is outside
    [0, 1e10] are ignored too;
  * per category, all images' detections by score (ties: image id order, then
    the order within the image); precision and recall after each; precision
    replaced by the best precision at an equal or higher recall; read at
    recall points linspace(0, 1, 101) at the first detection reaching each (0
    if none does); AP = their mean. Categories with no counted ground truth
    have no AP; mAP is the mean over the others.
"""
import json
import sys

import numpy as np

MAX_DETS = 100
AREA_ALL = (0.0, 1e10)
IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)


def box_ious(dets, gts, crowd):
    """[D, G] IoUs of x, y, w, h boxes; crowd columns divide by the det area."""
    if len(dets) == 0 or len(gts) == 0:
        return np.zeros((len(dets), len(gts)))
    d = np.asarray(dets, dtype=np.float64)[:, None, :]
    g = np.asarray(gts, dtype=np.float64)[None, :, :]
    overlap_w = np.minimum(d[..., 0] + d[..., 2], g[..., 0] + g[..., 2]) - np.maximum(d[..., 0], g[..., 0])
    overlap_h = np.minimum(d[..., 1] + d[..., 3], g[..., 1] + g[..., 3]) - np.maximum(d[..., 1], g[..., 1])
    overlapping = (overlap_w > 0) & (overlap_h > 0)
    inter = np.where(overlapping, overlap_w * overlap_h, 0.0)
    det_area = d[..., 2] * d[..., 3]
    union = np.where(np.asarray(crowd)[None, :], det_area, det_area + g[..., 2] * g[..., 3] - inter)
    out = np.zeros(inter.shape)
    np.divide(inter, union, out=out, where=overlapping)
    return out


def outside_all(area):
    return (area < AREA_ALL[0]) | (area > AREA_ALL[1])


def match_image(gts, dets):
    """One image and category: (scores, tp [T, D], ignored [T, D], counted gts)."""
    gt_ignored = np.array([bool(g.get("iscrowd", 0)) or outside_all(g["area"]) for g in gts], dtype=bool)
    gt_crowd = np.array([bool(g.get("iscrowd", 0)) for g in gts], dtype=bool)
    scores = np.array([d["score"] for d in dets], dtype=np.float64)
    keep = np.argsort(-scores, kind="stable")[:MAX_DETS]
    dets = [dets[i] for i in keep]
    scores = scores[keep]
    ious = box_ious([d["bbox"] for d in dets], [g["bbox"] for g in gts], gt_crowd)
    det_outside = np.array([outside_all(d["bbox"][2] * d["bbox"][3]) for d in dets], dtype=bool)

    T, D = len(IOU_THRESHOLDS), len(dets)
    tp = np.zeros((T, D), dtype=bool)
    ignored = np.zeros((T, D), dtype=bool)
    for t, threshold in enumerate(IOU_THRESHOLDS):
        need = min(threshold, 1 - 1e-10)
        taken = np.zeros(len(gts), dtype=bool)
        for d in range(D):
            free = (~taken | gt_crowd) & (ious[d] >= need)
            # Counted ground truths first; among the chosen group the best IoU,
            # the last of equal ones.
            group = free & ~gt_ignored if np.any(free & ~gt_ignored) else free
            if not np.any(group):
                ignored[t, d] = det_outside[d]
                continue
            candidates = np.flatnonzero(group)
            best = candidates[np.flatnonzero(ious[d, candidates] == ious[d, candidates].max())[-1]]
            taken[best] = True
            if gt_ignored[best]:
                ignored[t, d] = True
            else:
                tp[t, d] = True
    return scores, tp, ignored, int(np.count_nonzero(~gt_ignored))


def average_precisions(scores, tp, ignored, counted):
    """AP at each threshold from all images' detections of one category."""
    order = np.argsort(-scores, kind="stable")
    tp, ignored = tp[:, order], ignored[:, order]
    aps = []
    for t in range(len(IOU_THRESHOLDS)):
        tp_cum = np.cumsum(tp[t]).astype(np.float64)
        fp_cum = np.cumsum(~tp[t] & ~ignored[t]).astype(np.float64)
        recall = tp_cum / counted
        precision = tp_cum / (fp_cum + tp_cum + np.spacing(1))
        envelope = np.maximum.accumulate(precision[::-1])[::-1]
        first = np.searchsorted(recall, RECALL_POINTS, side="left")
        sampled = np.zeros(len(RECALL_POINTS))
        reached = first < len(recall)
        sampled[reached] = envelope[first[reached]]
        aps.append(sampled.mean())
    return np.array(aps)


def evaluate(gt_doc, detections):
    images = sorted(im["id"] for im in gt_doc["images"])
    known_images = set(images)
    categories = sorted(c["id"] for c in gt_doc["categories"])
    gts_by = {}
    for a in gt_doc["annotations"]:
        a = dict(a)
        a.setdefault("area", a["bbox"][2] * a["bbox"][3])
        gts_by.setdefault((a["image_id"], a["category_id"]), []).append(a)
    dets_by = {}
    for d in detections:
        if d["image_id"] not in known_images:
            raise SystemExit("detection on image %r, which the ground truth does not list" % d["image_id"])
        dets_by.setdefault((d["image_id"], d["category_id"]), []).append(d)

    per_category = {}
    for k in categories:
        parts = [match_image(gts_by.get((i, k), []), dets_by.get((i, k), [])) for i in images]
        counted = sum(p[3] for p in parts)
        if counted == 0:
            continue
        scores = np.concatenate([p[0] for p in parts])
        tp = np.concatenate([p[1] for p in parts], axis=1)
        ignored = np.concatenate([p[2] for p in parts], axis=1)
        per_category[k] = average_precisions(scores, tp, ignored, counted)
    if not per_category:
        return -1.0, -1.0, {}
    aps = np.array([per_category[k] for k in sorted(per_category)])
    return float(aps[:, 0].mean()), float(aps.mean()), per_category


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1]) as f:
        gt_doc = json.load(f)
    with open(argv[2]) as f:
        detections = json.load(f)
    map50, map50_95, per_category = evaluate(gt_doc, detections)
    print(json.dumps({
        "map50": map50,
        "map50_95": map50_95,
        "per_category": {str(k): [float(v[0]), float(v.mean())] for k, v in per_category.items()},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
