#!/usr/bin/env bash
# Workers launched through Slurm run a real job: starts a single-node Slurm
# in a temporary folder (slurm_cluster.sh), a coordinator on loopback,
# workers with scripts/slurm_workers --per socket, submits a 300-image
# evaluate job (3 shards, 1 benchmark) with `mixq submit --wait`, checks that every result came from
# a worker of that Slurm job, then scancels it and checks that its workers
# are gone. Everything is torn down whatever happens.
# Exit 77 (ctest: skipped) with the reason when not root or Slurm is absent.
# Usage: tests/slurm/slurm_workers_test.sh MIXQ MIXQ-COORDINATOR MIXQ-WORKER
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mixq="$1" coordinator="$2" worker="$3"

skip() {
  echo "SKIPPED: $1"
  exit 77
}
[[ $(id -u) -eq 0 ]] || skip "needs root (slurmd runs jobs as their user; SlurmUser=root)"
for tool in munged mungekey slurmctld slurmd sbatch squeue scancel sinfo sqlite3; do
  command -v "$tool" >/dev/null || skip "$tool not installed (scripts/setup installs it)"
done

# shellcheck source=tests/slurm/slurm_cluster.sh
source "$here/slurm_cluster.sh"
tmp="$(mktemp -d)"
coordinator_pid="" slurm_job=""
teardown() {
  [[ -z "$slurm_job" ]] || scancel "$slurm_job" 2>/dev/null || true
  [[ -z "$coordinator_pid" ]] || kill "$coordinator_pid" 2>/dev/null || true
  slurm_cluster_stop
  [[ -z "$coordinator_pid" ]] || wait "$coordinator_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap teardown EXIT
fail() {
  echo "FAILED: $1" >&2
  local f
  for f in "$tmp"/logs/*.out "$tmp/coordinator.log"; do
    [[ -f "$f" ]] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
  done
  exit 1
}
# Polls `$@` every 0.2 s for up to 30 s; false if it never succeeded.
eventually() {
  for _ in $(seq 1 150); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}

slurm_cluster_start "$tmp/slurm" || fail "the Slurm cluster did not start"
port="$(free_loopback_port)"
# CURVE as on a real cluster: the workers get their key through the pass-through arguments.
mkdir -p "$tmp/keys"
for name in coordinator workers client; do
  "$mixq" keygen "$tmp/keys/$name" >/dev/null || fail "mixq keygen $name"
done
{
  echo "worker $(cat "$tmp/keys/workers.pub") workers"
  echo "client $(cat "$tmp/keys/client.pub") client"
} >"$tmp/keys/allow"
"$coordinator" --bind "tcp://127.0.0.1:$port" --db "$tmp/mixq.db" --heartbeat-ms 200 \
  --key "$tmp/keys/coordinator.key" --allow "$tmp/keys/allow" \
  --data-root "$root" --data-root /usr/share/datasets >"$tmp/coordinator.log" 2>&1 &
coordinator_pid=$!

slurm_job="$("$root/scripts/slurm_workers" --connect "tcp://127.0.0.1:$port" --nodes 1 \
  --per socket --worker "$worker" --cache "$tmp/cache" --logs "$tmp/logs" \
  -- --log-level info --key "$tmp/keys/workers.key" \
  --coordinator-key "$tmp/keys/coordinator.pub")" || fail "scripts/slurm_workers did not submit"
[[ "$slurm_job" =~ ^[0-9]+$ ]] || fail "scripts/slurm_workers printed '$slurm_job', not a job id"

cat >"$tmp/job.yaml" <<EOF
name: slurm-eval
model: $root/models/fm_resnet.onnx
data: {evaluation: {dataset: $root/configs/datasets/fashion_mnist_test.yaml, shard_size: 100, count: 300}}
configs: [fp32]
benchmark: {batches: [1], seconds: 0.05}
EOF
# Bounded: a worker that never connects must fail the test, not hang it.
out="$(timeout 120 "$mixq" submit "$tmp/job.yaml" --wait --coordinator "tcp://127.0.0.1:$port" \
  --key "$tmp/keys/client.key" --coordinator-key "$tmp/keys/coordinator.pub" 2>&1)" ||
  fail "mixq submit --wait: $out"
# 3 evaluate shards and 1 benchmark.
[[ "$out" == *"job 1: done, 4/4 tasks"* ]] || fail "the job did not end done with 4 tasks: $out"

sql() { sqlite3 "$tmp/mixq.db" "$1"; }
[[ "$(sql 'SELECT COUNT(*), SUM(samples) FROM shard_results')" == "3|300" ]] ||
  fail "expected 3 shard results of 300 samples in all: $(sql 'SELECT * FROM shard_results')"
[[ "$(sql 'SELECT COUNT(*) FROM benchmarks')" == 1 ]] || fail "expected 1 benchmark result"
# One worker per socket of this host, each with its socket's share of the CPUs.
sockets="$(lscpu --parse=SOCKET | grep -v '^#' | sort -u | wc -l)"
threads=$(($(nproc) / sockets))
mapfile -t pids < <(sql 'SELECT DISTINCT w.pid FROM workers w JOIN (SELECT worker_id FROM shard_results UNION SELECT worker_id FROM benchmarks) r ON r.worker_id = w.id')
mapfile -t workers < <(sql 'SELECT pid FROM workers')
((${#workers[@]} == sockets)) || fail "expected $sockets worker(s), one per socket: ${workers[*]}"
for pid in "${pids[@]}"; do
  # The workers that ran the tasks are the Slurm job's, started as asked.
  tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "SLURM_ARRAY_JOB_ID=$slurm_job" ||
    fail "worker $pid is not part of Slurm job $slurm_job"
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline")"
  [[ "$cmdline" == *"--threads $threads --log-level info "* ]] ||
    fail "worker $pid: expected --threads $threads and the pass-through arguments: $cmdline"
done

scancel "$slurm_job"
no_job_left() { [[ -z "$(squeue --noheader --jobs "$slurm_job" 2>/dev/null)" ]]; }
no_worker_left() {
  local pid
  for pid in "${workers[@]}"; do kill -0 "$pid" 2>/dev/null && return 1; done
  return 0
}
eventually no_job_left || fail "squeue still lists job $slurm_job after scancel"
eventually no_worker_left || fail "workers still running after scancel: ${workers[*]}"
slurm_job=""
echo "PASSED: $sockets worker(s) via Slurm ran 4 tasks; scancel stopped them"
