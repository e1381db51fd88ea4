-- mixq results database, migration 5 (schemas/db.md explains it): each
-- evaluate shard's fidelity statistics against FP32 (metrics/fidelity.h).
-- Runs once, in one transaction, on a version-4 database; never edit it
-- after a release, append a migration instead.

-- FidelityStats::Serialize() of the shard (each output's exact sums of
-- FP32^2, (out - FP32)^2 and per-sample cosine); NULL when the task did not
-- measure it (FP32 configs, jobs without data.evaluation.fidelity). Shards
-- merge exactly: any split gives the bits of one pass.
ALTER TABLE shard_results ADD COLUMN fidelity BLOB;

-- The shard's task statistics on a detection dataset
-- (DetectionStats::Serialize(), metrics/detection.h) or a segmentation one
-- (SegmentationStats::Serialize(), metrics/segmentation.h); NULL on other
-- datasets. Merged exactly into the status rows' mAP and mIoU.
ALTER TABLE shard_results ADD COLUMN detection BLOB;
ALTER TABLE shard_results ADD COLUMN segmentation BLOB;
