-- mixq results database, migration 4 (schemas/db.md explains it): who owns
-- a job and which worker key produced each result (schemas/keys.md). Runs
-- once, in one transaction, on a version-3 database; never edit it after a
-- release, append a migration instead.

-- The CURVE public key (Z85) of the client that submitted the job; '' for a
-- job submitted on a keyless endpoint (ipc://, --insecure) or by the
-- coordinator's own job drivers.
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';

-- The key a worker was admitted with; '' on a keyless endpoint.
ALTER TABLE workers ADD COLUMN public_key TEXT NOT NULL DEFAULT '';

-- The key of the worker that produced each result, so that the results of
-- a worker found to be bad can be forgotten (mixq forget-worker).
ALTER TABLE shard_results ADD COLUMN worker_key TEXT NOT NULL DEFAULT '';
ALTER TABLE benchmarks ADD COLUMN worker_key TEXT NOT NULL DEFAULT '';
ALTER TABLE calibration_stats ADD COLUMN worker_key TEXT NOT NULL DEFAULT '';
ALTER TABLE layer_profiles ADD COLUMN worker_key TEXT NOT NULL DEFAULT '';
