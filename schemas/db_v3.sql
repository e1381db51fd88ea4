-- mixq results database, migration 3 (schemas/db.md explains it): why a job
-- failed when no task of it did (its completion could not be stored, a next
-- phase could not be planned). Runs once, in one transaction, on a
-- version-2 database; never edit it after a release, append a migration
-- instead.
ALTER TABLE jobs ADD COLUMN error TEXT;
