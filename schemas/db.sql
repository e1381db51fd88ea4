-- mixq results database, schema version 1 (schemas/db.md explains it).
-- Loaded by coordinator/store.cc at build time; every statement is
-- idempotent so that opening an existing database is safe.

CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER NOT NULL
);

-- Content-addressed files the coordinator can serve to workers.
CREATE TABLE IF NOT EXISTS blobs (
  sha256 TEXT PRIMARY KEY,
  path   TEXT NOT NULL,
  size   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS models (
  id       INTEGER PRIMARY KEY,
  sha256   TEXT NOT NULL UNIQUE REFERENCES blobs(sha256),
  path     TEXT NOT NULL,
  added_at TEXT NOT NULL DEFAULT (datetime('now'))
);

-- A dataset is its files and its preprocessing; sha256 hashes all three.
CREATE TABLE IF NOT EXISTS datasets (
  id             INTEGER PRIMARY KEY,
  sha256         TEXT NOT NULL UNIQUE,
  spec_path      TEXT NOT NULL,
  images_sha256  TEXT NOT NULL REFERENCES blobs(sha256),
  labels_sha256  TEXT NOT NULL REFERENCES blobs(sha256),
  preprocess     TEXT NOT NULL,
  size           INTEGER
);

CREATE TABLE IF NOT EXISTS hardware_classes (
  id        INTEGER PRIMARY KEY,
  name      TEXT NOT NULL UNIQUE,
  cpu_brand TEXT NOT NULL,
  cores     INTEGER NOT NULL,
  isa       TEXT NOT NULL,
  isa_cap   TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS workers (
  id                INTEGER PRIMARY KEY,
  host              TEXT NOT NULL,
  pid               INTEGER NOT NULL,
  hardware_class_id INTEGER NOT NULL REFERENCES hardware_classes(id),
  mixq_version      TEXT NOT NULL,
  first_seen        TEXT NOT NULL DEFAULT (datetime('now')),
  last_seen         TEXT NOT NULL DEFAULT (datetime('now')),
  UNIQUE (host, pid)
);

CREATE TABLE IF NOT EXISTS jobs (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  kind        TEXT NOT NULL,
  spec_yaml   TEXT NOT NULL,
  state       TEXT NOT NULL DEFAULT 'running'
              CHECK (state IN ('running', 'done', 'cancelled', 'failed')),
  model_id    INTEGER REFERENCES models(id),
  dataset_id  INTEGER REFERENCES datasets(id),
  created_at  TEXT NOT NULL DEFAULT (datetime('now')),
  finished_at TEXT
);

CREATE TABLE IF NOT EXISTS calibrations (
  id         INTEGER PRIMARY KEY,
  sha256     TEXT NOT NULL UNIQUE,
  model_id   INTEGER NOT NULL REFERENCES models(id),
  dataset_id INTEGER NOT NULL REFERENCES datasets(id),
  method     TEXT NOT NULL,
  samples    INTEGER NOT NULL,
  stats_json TEXT NOT NULL
);

-- Precision configs by canonical JSON hash; name 'fp32' is all-FP32.
CREATE TABLE IF NOT EXISTS configs (
  id       INTEGER PRIMARY KEY,
  sha256   TEXT NOT NULL UNIQUE,
  name     TEXT NOT NULL,
  json     TEXT NOT NULL
);

-- One unit of work, keyed by the hash of everything that determines its
-- result (the memo key); shared by every job that needs it.
CREATE TABLE IF NOT EXISTS tasks (
  id             TEXT PRIMARY KEY,
  kind           TEXT NOT NULL CHECK (kind IN ('evaluate', 'benchmark', 'calibrate', 'profile')),
  model_id       INTEGER NOT NULL REFERENCES models(id),
  dataset_id     INTEGER REFERENCES datasets(id),
  config_id      INTEGER NOT NULL REFERENCES configs(id),
  calibration_id INTEGER REFERENCES calibrations(id),
  hardware       TEXT NOT NULL,          -- 'any' or a hardware class name
  shard_index    INTEGER,
  batch          INTEGER,
  assign         BLOB NOT NULL,          -- the TaskAssign message, serialized
  state          TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
  attempts       INTEGER NOT NULL DEFAULT 0,
  error          TEXT
);

CREATE TABLE IF NOT EXISTS job_tasks (
  job_id  INTEGER NOT NULL REFERENCES jobs(id),
  task_id TEXT NOT NULL REFERENCES tasks(id),
  PRIMARY KEY (job_id, task_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS job_tasks_by_task ON job_tasks(task_id);

-- Results: at most one row per task (PRIMARY KEY + INSERT OR IGNORE), so a
-- duplicate from a requeued task is stored once.
CREATE TABLE IF NOT EXISTS shard_results (
  task_id           TEXT PRIMARY KEY REFERENCES tasks(id),
  worker_id         INTEGER REFERENCES workers(id),
  hardware_class_id INTEGER REFERENCES hardware_classes(id),
  samples           INTEGER NOT NULL,
  correct1          INTEGER NOT NULL,
  correct5          INTEGER NOT NULL,
  seconds           REAL NOT NULL,
  finished_at       TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE TABLE IF NOT EXISTS benchmarks (
  task_id           TEXT PRIMARY KEY REFERENCES tasks(id),
  worker_id         INTEGER REFERENCES workers(id),
  hardware_class_id INTEGER REFERENCES hardware_classes(id),
  batch             INTEGER NOT NULL,
  threads           INTEGER NOT NULL,
  iterations        INTEGER NOT NULL,
  latency_ms_median REAL NOT NULL,
  latency_ms_p90    REAL NOT NULL,
  images_per_second REAL NOT NULL,
  finished_at       TEXT NOT NULL DEFAULT (datetime('now'))
);

-- Shard results summed per job, config and hardware class when a job ends.
CREATE TABLE IF NOT EXISTS evaluations (
  job_id         INTEGER NOT NULL REFERENCES jobs(id),
  config_id      INTEGER NOT NULL REFERENCES configs(id),
  hardware_class TEXT NOT NULL,
  samples        INTEGER NOT NULL,
  correct1       INTEGER NOT NULL,
  correct5       INTEGER NOT NULL,
  top1           REAL NOT NULL,
  PRIMARY KEY (job_id, config_id, hardware_class)
);

CREATE TABLE IF NOT EXISTS layer_profiles (
  task_id           TEXT NOT NULL REFERENCES tasks(id),
  layer             TEXT NOT NULL,
  precision         TEXT NOT NULL,
  ms                REAL NOT NULL,
  PRIMARY KEY (task_id, layer, precision)
);

CREATE TABLE IF NOT EXISTS search_steps (
  job_id    INTEGER NOT NULL REFERENCES jobs(id),
  step      INTEGER NOT NULL,
  config_id INTEGER NOT NULL REFERENCES configs(id),
  top1      REAL,
  images_per_second REAL,
  accepted  INTEGER NOT NULL,
  note      TEXT,
  PRIMARY KEY (job_id, step)
);

-- Accuracy and speed of each config against FP32 of the same model, dataset
-- and hardware class.
CREATE VIEW IF NOT EXISTS fp32_vs_int8 AS
SELECT e.job_id, j.model_id, e.hardware_class, c.name AS config, e.top1,
       f.top1 AS fp32_top1, 100.0 * (f.top1 - e.top1) AS drop_points
FROM evaluations e
JOIN jobs j ON j.id = e.job_id
JOIN configs c ON c.id = e.config_id
JOIN evaluations f ON f.job_id = e.job_id AND f.hardware_class = e.hardware_class
JOIN configs fc ON fc.id = f.config_id AND fc.name = 'fp32';

-- Best (fastest) config per model, hardware class and batch whose top-1 drop
-- stays within a budget: filter by drop_points <= budget and take rank 1.
CREATE VIEW IF NOT EXISTS config_speed AS
SELECT t.model_id, hc.name AS hardware_class, c.name AS config, b.batch,
       b.images_per_second, v.drop_points,
       RANK() OVER (PARTITION BY t.model_id, hc.name, b.batch
                    ORDER BY b.images_per_second DESC) AS speed_rank
FROM benchmarks b
JOIN tasks t ON t.id = b.task_id
JOIN configs c ON c.id = t.config_id
JOIN hardware_classes hc ON hc.id = b.hardware_class_id
-- The worst drop measured for this config on this class (or on 'any').
LEFT JOIN (SELECT model_id, hardware_class, config, MAX(drop_points) AS drop_points
           FROM fp32_vs_int8 GROUP BY model_id, hardware_class, config) v
       ON v.model_id = t.model_id AND v.config = c.name AND v.hardware_class IN (hc.name, 'any');
