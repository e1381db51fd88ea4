#!/usr/bin/env bash
# scripts/slurm_workers without a cluster: runs the batch script it writes
# with stand-ins for srun, lscpu and nproc (a 2-socket, 8-CPU node) and
# checks the worker command each mode would start; submits through a
# stand-in sbatch; and checks the refusals (no --connect, no sbatch).
# Usage: tests/slurm/slurm_workers_script_test.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
script="$root/scripts/slurm_workers"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0
check() {  # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then
    echo "ok: $1"
  else
    echo "FAILED: $1"$'\n'"  expected: $2"$'\n'"  actual:   $3"
    failures=$((failures + 1))
  fi
}

mkdir "$tmp/bin"
stand_in() {  # stand_in NAME BODY: a command on $tmp/bin
  printf '#!/bin/bash\n%s\n' "$2" >"$tmp/bin/$1"
  chmod +x "$tmp/bin/$1"
}
# srun prints the command it was given, one argument a line.
stand_in srun 'printf "%s\n" "$@"'
stand_in lscpu 'printf "# The following is the parsable format\n0\n0\n0\n0\n1\n1\n1\n1\n"'
stand_in nproc 'echo 8'
stand_in mixq-worker 'exit 0'
worker="$tmp/bin/mixq-worker"
keys=(-- --key workers.key --coordinator-key "my coordinator.pub")

# Runs the batch script that --dry-run prints; what srun was asked to start.
launched() {
  "$script" --dry-run "$@" >"$tmp/batch.sh"
  PATH="$tmp/bin:$PATH" bash "$tmp/batch.sh" | grep -v '^mixq workers:' | paste -sd' '
}

check "per node: one task, all cores, keys passed through" \
  "--ntasks=1 $worker --connect tcp://head:5555 --max-isa avx2 --threads 0 --key workers.key --coordinator-key my coordinator.pub" \
  "$(launched --connect tcp://head:5555 --max-isa avx2 --worker "$worker" "${keys[@]}")"
check "per socket: one task per socket, each with its socket's CPUs" \
  "--ntasks=2 --ntasks-per-socket=1 --cpus-per-task=4 --cpu-bind=sockets $worker --connect tcp://head:5555 --cache /scratch/mixq --threads 4" \
  "$(launched --connect tcp://head:5555 --per socket --cache /scratch/mixq --worker "$worker")"
check "per socket with --threads: the given thread count" \
  "--ntasks=2 --ntasks-per-socket=1 --cpus-per-task=4 --cpu-bind=sockets $worker --connect tcp://head:5555 --threads 3" \
  "$(launched --connect tcp://head:5555 --per socket --threads 3 --worker "$worker")"
# The key path with a space stays one argument.
check "pass-through keeps each argument whole" "my coordinator.pub" \
  "$("$script" --dry-run --connect x --worker "$worker" "${keys[@]}" >"$tmp/b.sh" &&
    PATH="$tmp/bin:$PATH" bash "$tmp/b.sh" | tail -n 1)"

"$script" --dry-run --connect tcp://head:5555 --nodes 3 --partition cpu --time 2:00:00 \
  --logs /shared/logs --worker "$worker" >"$tmp/batch.sh"
check "directives: array of 3 whole nodes, partition, time, logs" \
  "--array=1-3 --nodes=1 --exclusive --output=/shared/logs/mixq-worker-%A_%a.out --partition=cpu --time=2:00:00" \
  "$(sed -n 's/^#SBATCH //p' "$tmp/batch.sh" | grep -v -e '^--job-name' -e '^--chdir' | paste -sd' ')"

# sbatch receives the same script on stdin; the job id is printed alone.
stand_in sbatch "cat >\"$tmp/submitted.sh\"; echo '4242;cluster'"
check "submit prints the job id" "4242" \
  "$(PATH="$tmp/bin:$PATH" "$script" --connect tcp://head:5555 --nodes 3 --partition cpu \
    --time 2:00:00 --logs /shared/logs --worker "$worker" 2>/dev/null)"
check "sbatch got the dry run's script" "" "$(diff "$tmp/batch.sh" "$tmp/submitted.sh")"

# refused NAME MESSAGE CMD...: CMD exits 2 and its stderr starts with MESSAGE.
refused() {
  local name="$1" message="$2" err rc=0
  shift 2
  err="$("$@" 2>&1 >/dev/null)" || rc=$?
  check "$name" "2 $message" "$rc ${err:0:${#message}}"
}
refused "no --connect: exit 2 and why" "scripts/slurm_workers: --connect is required" \
  "$script" --worker "$worker"
# A PATH with only what the script needs besides sbatch.
mkdir "$tmp/no-sbatch"
for tool in dirname realpath; do ln -s "$(command -v "$tool")" "$tmp/no-sbatch/$tool"; done
refused "no sbatch: exit 2 and why" "scripts/slurm_workers: sbatch not found on PATH" \
  env PATH="$tmp/no-sbatch" "$BASH" "$script" --connect x --worker "$worker"

((failures == 0)) || { echo "$failures check(s) failed"; exit 1; }
