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

-- The folder a submitted job's relative paths resolve against, so that the
-- coordinator can plan a job's later phases (calibrate pass 2, then the
-- configs) from what is stored, also after a restart.
ALTER TABLE jobs ADD COLUMN base_dir TEXT;

-- Query views (`mixq query`, schemas/db.md "Views"): every query the
-- command line answers is one of these, so the sqlite3 shell gives the
-- same numbers.

-- Jobs with their model, dataset and task counts (mixq query jobs).
CREATE VIEW job_list AS
SELECT j.id AS job_id, j.name, j.kind, j.state, j.parent_job_id,
       m.path AS model, m.sha256 AS model_sha256, d.spec_path AS dataset,
       j.created_at, j.finished_at,
       (SELECT COUNT(*) FROM job_tasks jt WHERE jt.job_id = j.id) AS tasks,
       (SELECT COUNT(*) FROM job_tasks jt JOIN tasks t ON t.id = jt.task_id
        WHERE jt.job_id = j.id AND t.state = 'done') AS done,
       (SELECT COUNT(*) FROM job_tasks jt JOIN tasks t ON t.id = jt.task_id
        WHERE jt.job_id = j.id AND t.state = 'failed') AS failed
FROM jobs j
LEFT JOIN models m ON m.id = j.model_id
LEFT JOIN datasets d ON d.id = j.dataset_id;

-- The all-FP32 evaluation each evaluation is measured against: the one of
-- the same job and class, or, for a sub-job (a search evaluates one batch of
-- configs per sub-job), the latest one of a sibling sub-job of the same
-- parent, class and sample count.
CREATE VIEW fp32_references AS
SELECT e.job_id, e.config_id, e.hardware_class,
       COALESCE(
         (SELECT f.job_id FROM evaluations f JOIN configs fc ON fc.id = f.config_id
          WHERE fc.name = 'fp32' AND f.job_id = e.job_id
            AND f.hardware_class = e.hardware_class),
         (SELECT MAX(f.job_id) FROM evaluations f JOIN configs fc ON fc.id = f.config_id
          JOIN jobs fj ON fj.id = f.job_id
          WHERE fc.name = 'fp32' AND j.parent_job_id IS NOT NULL
            AND fj.parent_job_id = j.parent_job_id AND f.hardware_class = e.hardware_class
            AND f.samples = e.samples)) AS fp32_job_id
FROM evaluations e
JOIN jobs j ON j.id = e.job_id;

-- Accuracy (percent) of every evaluated config per job, hardware class and
-- metric (top1, top5), against its FP32 reference (fp32_references):
-- drop_points = FP32 accuracy - accuracy.
CREATE VIEW accuracy_drops AS
SELECT e.job_id, j.model_id, j.dataset_id, e.config_id, c.name AS config,
       e.hardware_class, x.metric, e.samples,
       100.0 * (CASE x.metric WHEN 'top1' THEN e.correct1 ELSE e.correct5 END)
             / MAX(e.samples, 1) AS accuracy,
       100.0 * (CASE x.metric WHEN 'top1' THEN f.correct1 ELSE f.correct5 END)
             / MAX(f.samples, 1) AS fp32_accuracy,
       100.0 * (CASE x.metric WHEN 'top1' THEN f.correct1 ELSE f.correct5 END)
             / MAX(f.samples, 1)
       - 100.0 * (CASE x.metric WHEN 'top1' THEN e.correct1 ELSE e.correct5 END)
             / MAX(e.samples, 1) AS drop_points
FROM evaluations e
JOIN jobs j ON j.id = e.job_id
JOIN configs c ON c.id = e.config_id
JOIN (SELECT 'top1' AS metric UNION ALL SELECT 'top5') x
JOIN fp32_references r ON r.job_id = e.job_id AND r.config_id = e.config_id
                      AND r.hardware_class = e.hardware_class
JOIN evaluations f ON f.job_id = r.fp32_job_id AND f.hardware_class = e.hardware_class
JOIN configs fc ON fc.id = f.config_id AND fc.name = 'fp32';

-- One row of accuracy_drops per model, dataset, config, class and metric:
-- the evaluation on the most samples (a search's full evaluation, not its
-- ranking subset), the latest job among equals. What `mixq query compare`
-- tabulates.
CREATE VIEW latest_accuracy_drops AS
SELECT a.* FROM accuracy_drops a
WHERE a.job_id = (SELECT b.job_id FROM accuracy_drops b
                  WHERE b.model_id = a.model_id AND b.dataset_id IS a.dataset_id
                    AND b.config_id = a.config_id AND b.hardware_class = a.hardware_class
                    AND b.metric = a.metric
                  ORDER BY b.samples DESC, b.job_id DESC LIMIT 1);

-- The latest benchmark per model, config, class (the one that ran it) and
-- batch, with the FP32 benchmark of the same model, class and batch:
-- speedup = images/s over FP32 images/s.
CREATE VIEW config_speedups AS
WITH latest AS (
  SELECT t.model_id, t.config_id, b.hardware_class_id, b.batch,
         b.images_per_second, b.latency_ms_median
  FROM benchmarks b JOIN tasks t ON t.id = b.task_id
  WHERE b.rowid = (SELECT MAX(b2.rowid) FROM benchmarks b2 JOIN tasks t2 ON t2.id = b2.task_id
                   WHERE t2.model_id = t.model_id AND t2.config_id = t.config_id
                     AND b2.hardware_class_id IS b.hardware_class_id AND b2.batch = b.batch))
SELECT l.model_id, l.config_id, c.name AS config, hc.name AS hardware_class, l.batch,
       l.images_per_second, l.latency_ms_median AS latency_ms,
       f.images_per_second AS fp32_images_per_second, f.latency_ms_median AS fp32_latency_ms,
       l.images_per_second / f.images_per_second AS speedup
FROM latest l
JOIN configs c ON c.id = l.config_id
JOIN hardware_classes hc ON hc.id = l.hardware_class_id
LEFT JOIN latest f ON f.model_id = l.model_id AND f.hardware_class_id = l.hardware_class_id
                  AND f.batch = l.batch
                  AND f.config_id = (SELECT id FROM configs WHERE name = 'fp32');

-- Every benchmarked config with its worst measured top-1 drop on the same
-- class (or on 'any') over the latest evaluations: the candidates of
-- `mixq query best`. Best within B points at batch N:
--   WHERE drop_points <= B AND batch = N ORDER BY images_per_second DESC.
CREATE VIEW best_configs AS
SELECT s.model_id, m.path AS model, s.config_id, s.config, s.hardware_class, s.batch,
       s.images_per_second, s.latency_ms, s.speedup,
       (SELECT MAX(a.drop_points) FROM latest_accuracy_drops a
        WHERE a.model_id = s.model_id AND a.config_id = s.config_id AND a.metric = 'top1'
          AND a.hardware_class IN (s.hardware_class, 'any')) AS drop_points
FROM config_speedups s
JOIN models m ON m.id = s.model_id;

-- Search steps with their config's name and seconds since the job started
-- (mixq query history, the report's progress plot).
CREATE VIEW search_history AS
SELECT s.job_id, s.hardware_class, s.step, s.kind, c.name AS config, s.int8_layers, s.reason,
       s.predicted_drop, s.predicted_ms, s.accuracy, s.drop_points, s.ms, s.at,
       86400.0 * (julianday(s.at) - julianday(j.created_at)) AS seconds
FROM search_steps s
JOIN jobs j ON j.id = s.job_id
LEFT JOIN configs c ON c.id = s.config_id;

-- Per-layer sensitivity from a search's ranking steps: the ranking-subset
-- accuracy of all-FP32 (int8_layers = 0) minus that of the config with only
-- this layer in INT8 (int8_layers = 1), in points.
CREATE VIEW layer_sensitivity AS
SELECT s.job_id, j.model_id, s.hardware_class, l.key AS layer,
       f.accuracy - s.accuracy AS sensitivity
FROM search_steps s
JOIN jobs j ON j.id = s.job_id
JOIN configs c ON c.id = s.config_id
-- 'fp32' is stored as the bare word, not JSON: never parse it.
JOIN json_each(CASE WHEN json_valid(c.json) THEN c.json ELSE '{}' END, '$.layers') l
  ON l.value = 'int8'
JOIN search_steps f ON f.job_id = s.job_id AND f.hardware_class = s.hardware_class
                   AND f.kind = 'ranking' AND f.int8_layers = 0
WHERE s.kind = 'ranking' AND s.int8_layers = 1
  AND f.step = (SELECT MAX(f2.step) FROM search_steps f2
                WHERE f2.job_id = s.job_id AND f2.hardware_class = s.hardware_class
                  AND f2.kind = 'ranking' AND f2.int8_layers = 0);

-- Per-layer INT8 gain from profile tasks (layer_profiles): FP32 ms over
-- INT8 ms, averaged over the profile tasks of the model and target class.
CREATE VIEW layer_int8_gain AS
SELECT t.model_id, t.hardware AS hardware_class, p.layer,
       AVG(p.ms) AS fp32_ms, AVG(q.ms) AS int8_ms, AVG(p.ms / q.ms) AS gain
FROM layer_profiles p
JOIN layer_profiles q ON q.task_id = p.task_id AND q.layer = p.layer AND q.precision = 'int8'
JOIN tasks t ON t.id = p.task_id
WHERE p.precision = 'fp32' AND q.ms > 0
GROUP BY t.model_id, t.hardware, p.layer;

-- Both per layer (mixq query layers): sensitivity from the model's latest
-- search with ranking steps on the class, INT8 gain from its profiles.
CREATE VIEW layer_summary AS
WITH keys AS (
  SELECT model_id, hardware_class, layer FROM layer_sensitivity
  UNION SELECT model_id, hardware_class, layer FROM layer_int8_gain),
sens AS (
  SELECT ls.* FROM layer_sensitivity ls
  WHERE ls.job_id = (SELECT MAX(x.job_id) FROM layer_sensitivity x
                     WHERE x.model_id = ls.model_id AND x.hardware_class = ls.hardware_class))
SELECT k.model_id, k.hardware_class, k.layer, s.sensitivity, s.job_id AS search_job_id,
       g.fp32_ms, g.int8_ms, g.gain
FROM keys k
LEFT JOIN sens s ON s.model_id = k.model_id AND s.hardware_class = k.hardware_class
                AND s.layer = k.layer
LEFT JOIN layer_int8_gain g ON g.model_id = k.model_id AND g.hardware_class = k.hardware_class
                           AND g.layer = k.layer;
