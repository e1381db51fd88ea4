-- mixq results database, migration 2 (schemas/db.md explains it): top-1
-- agreement with FP32, calibrate tasks' mergeable statistics, search steps
-- and answers, and sub-jobs of a search. Runs once, in one transaction,
-- on a version-1 database; never edit it after a release, append a
-- migration instead.

-- Samples whose top-1 class equals the all-FP32 model's on the same shard
-- (NULL: not measured, e.g. results stored by schema version 1).
ALTER TABLE shard_results ADD COLUMN agree1 INTEGER;
ALTER TABLE evaluations ADD COLUMN agree1 INTEGER;

-- A search drives sub-jobs (evaluate, benchmark, profile) through the
-- coordinator; they point at it.
ALTER TABLE jobs ADD COLUMN parent_job_id INTEGER REFERENCES jobs(id);

-- Result of a calibrate task: one shard's mergeable statistics (pass 1:
-- ranges; pass 2: histograms over the merged ranges), serialized.
CREATE TABLE calibration_stats (
  task_id           TEXT PRIMARY KEY REFERENCES tasks(id),
  worker_id         INTEGER REFERENCES workers(id),
  hardware_class_id INTEGER REFERENCES hardware_classes(id),
  pass              INTEGER NOT NULL,
  samples           INTEGER NOT NULL,
  stats             BLOB NOT NULL,
  finished_at       TEXT NOT NULL DEFAULT (datetime('now'))
);

-- Version 1's search_steps was never written; steps carry what the search
-- knew (prediction) and what it measured, per target hardware class.
DROP TABLE search_steps;
CREATE TABLE search_steps (
  job_id         INTEGER NOT NULL REFERENCES jobs(id),
  hardware_class TEXT NOT NULL,
  step           INTEGER NOT NULL,
  kind           TEXT NOT NULL,   -- full | ranking | benchmark | profile | answer
  config_id      INTEGER REFERENCES configs(id),
  int8_layers    INTEGER,
  reason         TEXT,
  predicted_drop REAL,            -- accuracy points; NULL: none
  predicted_ms   REAL,
  accuracy       REAL,            -- measured, percent; NULL: not measured
  drop_points    REAL,
  ms             REAL,            -- measured ms per batch of the objective
  at             TEXT NOT NULL DEFAULT (datetime('now')),
  PRIMARY KEY (job_id, hardware_class, step)
);

-- The answer of a search per target class and budget.
CREATE TABLE search_results (
  job_id            INTEGER NOT NULL REFERENCES jobs(id),
  hardware_class    TEXT NOT NULL,
  budget            REAL NOT NULL,  -- max drop, accuracy points
  strategy          TEXT NOT NULL,
  met               INTEGER NOT NULL,
  verdict           TEXT NOT NULL,
  config_id         INTEGER REFERENCES configs(id),
  fp32_accuracy     REAL,
  int8_accuracy     REAL,
  chosen_accuracy   REAL,
  fp32_ms           REAL,
  int8_ms           REAL,
  chosen_ms         REAL,
  full_evaluations  INTEGER,
  wall_seconds      REAL,
  PRIMARY KEY (job_id, hardware_class, budget)
);

-- The folder a job file's relative paths resolve against, so that a
-- restarted coordinator can read a running search job's file again.
ALTER TABLE jobs ADD COLUMN base_dir TEXT;
