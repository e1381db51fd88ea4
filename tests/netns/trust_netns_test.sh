#!/usr/bin/env bash
# Issue 21's trust properties over a real network: a coordinator, two
# workers, a client and a rogue peer, each in its own network namespace,
# joined by veths to a bridge in a sixth namespace on a private /24 (nothing
# is added to the host's own namespace). With CURVE and an allow-list:
#  * the rogue, keyless or with a key not on the list, gets no status reply,
#    creates no job, and its worker is never counted nor credited with a
#    result (while, from the same namespace, a listed key does get in);
#  * bob cannot see or cancel alice's job, even once it has results;
#  * a job naming a file outside the data roots is refused;
#  * during alice's 12-shard evaluate job, worker A's link is cut for longer
#    than the liveness window and worker B is killed with SIGKILL, each while
#    holding a lease, then both come back: the job ends done with exactly one
#    result per shard, the job's sample count, and the same top-1 count as a
#    single-machine `mixq eval` of the same images.
# Blobs are fetched over the network (--no-local-paths). Everything (its
# processes, namespaces, veths, bridge, temporary folder) is removed whatever
# happens. Exit 77 (ctest: skipped) with the reason when not root or when
# the machine forbids network namespaces, veths or bridges.
# Usage: tests/netns/trust_netns_test.sh MIXQ MIXQ-COORDINATOR MIXQ-WORKER
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mixq="$1" coordinator="$2" worker="$3"
started=$SECONDS

skip() {
  echo "SKIPPED: $1"
  exit 77
}
[[ $(id -u) -eq 0 ]] || skip "needs root (creates network namespaces)"
for tool in ip sqlite3; do
  command -v "$tool" >/dev/null || skip "$tool not installed (scripts/setup installs it)"
done

# Names unique to this run, so that parallel runs never collide.
prefix="mixq$$"
probe="$prefix-probe"
probe_namespaces() {
  ip netns add "$probe" &&
    ip -n "$probe" link add br0 type bridge &&
    ip -n "$probe" link add p0 type veth peer name p1
}
if ! why="$(probe_namespaces 2>&1)"; then
  ip netns delete "$probe" 2>/dev/null || true
  skip "this machine forbids network namespaces, bridges or veths: $why"
fi
ip netns delete "$probe"

hub="$prefix-hub"
nodes=(coord workera workerb client rogue)
ns() { echo "$prefix-$1"; }
tmp="$(mktemp -d)"
# The pids of the processes in our namespaces: all started by this test.
our_pids() {
  local n
  for n in "${nodes[@]}"; do ip netns pids "$(ns "$n")" 2>/dev/null || true; done
}
teardown() {
  local n pid
  # SIGTERM (each stops within a heartbeat), then SIGKILL after 5 s.
  for pid in $(our_pids); do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    [[ -z "$(our_pids)" ]] && break
    sleep 0.1
  done
  for pid in $(our_pids); do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # A namespace takes its veth ends with it; the hub takes the bridge.
  for n in "${nodes[@]}" hub probe; do ip netns delete "$prefix-$n" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap teardown EXIT
# A signal ends the test through the EXIT trap too.
trap 'exit 130' INT
trap 'exit 143' TERM
fail() {
  echo "FAILED: $1" >&2
  local f
  for f in "$tmp"/*.log; do
    [[ -f "$f" ]] && { echo "--- $f" >&2; tail -n 25 "$f" >&2; }
  done
  exit 1
}
# Every wait is bounded, and all of them together by this deadline, well
# under ctest's TIMEOUT: a SIGKILL from ctest would leave the namespaces.
deadline=150
# Polls `$@` every 0.1 s for up to 30 s; false if it never succeeded.
eventually() {
  for _ in $(seq 1 300); do
    "$@" && return 0
    ((SECONDS - started < deadline)) || fail "over the test's $deadline s deadline"
    sleep 0.1
  done
  return 1
}

# The network: 10.X.Y.0/24, the bridge in the hub namespace, one veth per
# node (eth0 in the node, p-NODE on the bridge), loopback up everywhere.
subnet="10.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
declare -A addr=([coord]=1 [workera]=2 [workerb]=3 [client]=4 [rogue]=5)
ip netns add "$hub"
ip -n "$hub" link add br0 type bridge
ip -n "$hub" link set br0 up
ip -n "$hub" link set lo up
for n in "${nodes[@]}"; do
  ip netns add "$(ns "$n")"
  ip -n "$hub" link add "p-$n" type veth peer name eth0 netns "$(ns "$n")"
  ip -n "$hub" link set "p-$n" master br0 up
  ip -n "$(ns "$n")" link set lo up
  ip -n "$(ns "$n")" addr add "$subnet.${addr[$n]}/24" dev eth0
  ip -n "$(ns "$n")" link set eth0 up
done
in_ns() {
  local n="$1"
  shift
  ip netns exec "$(ns "$n")" "$@"
}
endpoint="tcp://$subnet.${addr[coord]}:5555"

# Keys: the allow-list names the coordinator's workers, two clients and a
# "rogueworker" (listed, to show that the rogue namespace can reach the
# coordinator at all); the rogue's own key is not on it.
keys="$tmp/keys"
mkdir -p "$keys"
allow="$keys/allow"
for spec in coordinator:- workera:worker workerb:worker alice:client bob:client \
  rogueworker:worker rogue:-; do
  name="${spec%%:*}" role="${spec#*:}"
  "$mixq" keygen "$keys/$name" >/dev/null || fail "mixq keygen $name"
  [[ "$role" == - ]] || echo "$role $(cat "$keys/$name.pub") $name" >>"$allow"
done
key_of() { cat "$keys/$1.pub"; }

# A short heartbeat: a worker is lost after 3 x 200 ms of silence.
# (`ip netns exec` execs the program: $! is its pid.)
ip netns exec "$(ns coord)" "$coordinator" --bind "$endpoint" --db "$tmp/mixq.db" --heartbeat-ms 200 \
  --liveness 3 --key "$keys/coordinator.key" --allow "$allow" --data-root "$root" \
  --data-root /usr/share/datasets --output-root "$tmp/out" >"$tmp/coordinator.log" 2>&1 &
coordinator_pid=$!
# Each task sleeps 1 s first, so that there is always one in flight.
declare -A worker_pid
start_worker() {
  local n="$1" key="$2"
  shift 2
  ip netns exec "$(ns "$n")" "$worker" --connect "$endpoint" --key "$keys/$key.key" \
    --coordinator-key "$keys/coordinator.pub" --threads 1 --cache "$tmp/cache-$n" \
    --no-local-paths "$@" >>"$tmp/$n-$key.log" 2>&1 &
  worker_pid[$n]=$!
}
start_worker workera workera --task-delay-ms 1000
start_worker workerb workerb --task-delay-ms 1000

# `mixq` as NAME from namespace N: keyless with NAME '-'. Replies within
# $timeout_ms (a refused peer's command fails when it runs out).
timeout_ms=10000
mixq_as() {
  local n="$1" who="$2"
  shift 2
  local -a keyargs=(--insecure)
  [[ "$who" == - ]] || keyargs=(--key "$keys/$who.key" --coordinator-key "$keys/coordinator.pub")
  in_ns "$n" "$mixq" "$@" --coordinator "$endpoint" --timeout-ms "$timeout_ms" "${keyargs[@]}"
}
workers_seen() {
  local out
  out="$(mixq_as client alice status 0 2>&1)" || return 1
  [[ "$out" =~ :\ ([0-9]+)\ worker ]] || return 1
  echo "${BASH_REMATCH[1]}"
}
workers_are() { [[ "$(workers_seen)" == "$1" ]]; }
eventually workers_are 2 || fail "workers A and B did not join (status: $(workers_seen))"

# --- The rogue: keyless, or with a key not on the allow-list.
cat >"$tmp/rogue.yaml" <<EOF
name: rogue
model: $root/models/fm_resnet.onnx
data: {evaluation: {dataset: $root/configs/datasets/fashion_mnist_test.yaml, shard_size: 100, count: 100}}
configs: [fp32]
benchmark: {batches: []}
EOF
# A bridge answers in microseconds: 1 s is ample for a reply that would come.
timeout_ms=1000
for who in - rogue; do
  label="${who/-/keyless}"
  if out="$(mixq_as rogue "$who" status 0 2>&1)"; then
    fail "the rogue ($label) got a status reply: $out"
  fi
  if out="$(mixq_as rogue "$who" submit "$tmp/rogue.yaml" 2>&1)"; then
    fail "the rogue ($label) submitted a job: $out"
  fi
done
timeout_ms=10000
# The control: the same namespace with a listed key gets a reply.
out="$(mixq_as rogue bob status 0 2>&1)" ||
  fail "a listed key from the rogue's namespace got no reply, so the refusals prove nothing: $out"
grep -q "CURVE: refused a peer at $subnet.${addr[rogue]} (key not on the allow-list)" \
  "$tmp/coordinator.log" || fail "the coordinator logged no CURVE refusal of the rogue"
# A worker with the unlisted key: refused at the handshake, never counted.
start_worker rogue rogue
rogue_worker_gave_up() { grep -q "coordinator silent" "$tmp/rogue-rogue.log"; }
eventually rogue_worker_gave_up || fail "the rogue's worker never gave up waiting for a WELCOME"
! grep -q welcomed "$tmp/rogue-rogue.log" || fail "the rogue's worker was welcomed"
[[ "$(workers_seen)" == 2 ]] || fail "the rogue's worker was counted: $(workers_seen) workers"
kill -9 "${worker_pid[rogue]}"
wait "${worker_pid[rogue]}" 2>/dev/null || true
# The control: a listed worker key from the rogue's namespace joins.
start_worker rogue rogueworker
eventually workers_are 3 || fail "the listed rogueworker from the rogue's namespace did not join"
kill "${worker_pid[rogue]}"
wait "${worker_pid[rogue]}" 2>/dev/null || true
eventually workers_are 2 || fail "the stopped rogueworker is still counted: $(workers_seen)"

# --- A file outside the data roots is refused, whether or not it exists.
sed "s|model: .*|model: /etc/hostname|" "$tmp/rogue.yaml" >"$tmp/outside.yaml"
if out="$(mixq_as client alice submit "$tmp/outside.yaml" 2>&1)"; then
  fail "a model outside the data roots was accepted: $out"
fi
[[ "$out" == *"outside the coordinator's data roots"* ]] ||
  fail "expected 'outside the coordinator's data roots': $out"

# --- Alice's job: 600 images in 12 shards.
count=600 shards=12
cat >"$tmp/alice.yaml" <<EOF
name: alices
model: $root/models/fm_resnet.onnx
data: {evaluation: {dataset: $root/configs/datasets/fashion_mnist_test.yaml, shard_size: 50, count: $count}}
configs: [fp32]
benchmark: {batches: []}
EOF
out="$(mixq_as client alice submit "$tmp/alice.yaml" 2>&1)" || fail "alice's submit: $out"
[[ "$out" =~ ^job\ ([0-9]+):\ $shards\ task ]] || fail "expected a job of $shards tasks: $out"
job="${BASH_REMATCH[1]}"

# Bob sees alice's job exactly as a job that does not exist, and cannot cancel it.
# (The first line, the coordinator's worker count, is not about the job.)
as_seen_by_bob() {
  { mixq_as client bob status "$1" 2>&1 || true; } | grep -v '^coordinator ' | sed "s/^job $1:/job ?:/"
}
bob_sees_no_job() {
  local his none
  his="$(as_seen_by_bob "$job")"
  none="$(as_seen_by_bob $((job + 1000)))"
  [[ "$his" == "$none" && "$his" != *running* && "$his" != *fp32* ]] ||
    fail "bob sees alice's job $job ($1): '$his' (a job that does not exist: '$none')"
}
bob_sees_no_job "running"
if out="$(mixq_as client bob cancel "$job" 2>&1)"; then fail "bob cancelled alice's job: $out"; fi
[[ "$(mixq_as client alice status "$job" 2>&1)" == *"job $job: running"* ]] ||
  fail "alice's job is not running after bob's cancel"

# --- Loss: each worker holds a lease (1 s per task, 12 tasks) when it goes.
requeues() { grep -c "requeued: worker lost" "$tmp/coordinator.log" || true; }
requeued_at_least() { (($(requeues) >= $1)); }
sleep 0.3
ip -n "$hub" link set p-workera down
cut_at=$SECONDS
eventually requeued_at_least 1 || fail "cutting worker A's link requeued no task"
# B is now the only worker and tasks are pending: it is mid-task.
kill -9 "${worker_pid[workerb]}"
wait "${worker_pid[workerb]}" 2>/dev/null || true
eventually requeued_at_least 2 || fail "killing worker B requeued no task"
start_worker workerb workerb --task-delay-ms 1000
# The link stays down for at least 2 s, over 3 times the 600 ms liveness window.
while ((SECONDS - cut_at < 3)); do sleep 0.2; done
ip -n "$hub" link set p-workera up
eventually workers_are 2 || fail "worker A or B did not come back: $(workers_seen) worker(s)"

job_ended() { [[ "$(mixq_as client alice status "$job" 2>&1)" != *"job $job: running"* ]]; }
until job_ended; do
  ((SECONDS - started < deadline)) || fail "alice's job still running after $deadline s"
  sleep 0.2
done
final="$(mixq_as client alice status "$job" 2>&1)" || fail "alice's status: $final"
[[ "$final" == *"job $job: done, $shards/$shards tasks"* ]] ||
  fail "alice's job did not end done with $shards tasks: $final"
bob_sees_no_job "done"

# The single-machine count of the same images.
local_eval="$("$mixq" eval --model "$root/models/fm_resnet.onnx" \
  --dataset "$root/configs/datasets/fashion_mnist_test.yaml" --count "$count" --threads 1 \
  --json -q)" || fail "mixq eval: $local_eval"
[[ "$local_eval" =~ \"correct1\":([0-9]+) ]] || fail "no correct1 in mixq eval's output: $local_eval"
correct1="${BASH_REMATCH[1]}"
((correct1 > count / 2)) || fail "the local top-1 count $correct1 looks unmeasured"
[[ "$final" =~ fp32\ +[^\ ]+\ +$count\ +$correct1\  ]] ||
  fail "alice's status does not show $count samples and $correct1 correct (mixq eval): $final"

# --- The database, read-only, once the coordinator has stopped.
kill "$coordinator_pid"
wait "$coordinator_pid" || fail "the coordinator exited $? on SIGTERM"
sql() { sqlite3 -readonly "$tmp/mixq.db" "$1"; }
job_results="shard_results r JOIN job_tasks j ON j.task_id = r.task_id WHERE j.job_id = $job"
[[ "$(sql "SELECT COUNT(*) FROM job_tasks j JOIN tasks t ON t.id = j.task_id
           WHERE j.job_id = $job AND t.kind = 'evaluate'")" == "$shards" ]] ||
  fail "expected $shards evaluate tasks in job $job"
[[ "$(sql "SELECT COUNT(*), COUNT(DISTINCT r.task_id), SUM(r.samples), SUM(r.correct1)
           FROM $job_results")" == "$shards|$shards|$count|$correct1" ]] ||
  fail "expected one result per shard, $count samples, $correct1 correct: $(sql "SELECT * FROM $job_results")"
[[ "$(sql 'SELECT COUNT(*) FROM shard_results')" == "$shards" ]] ||
  fail "shard results beyond alice's job's: $(sql 'SELECT task_id, worker_key FROM shard_results')"
[[ "$(sql 'SELECT COUNT(*), MIN(owner) FROM jobs')" == "1|$(key_of alice)" ]] ||
  fail "expected alice's job alone, owned by her key: $(sql 'SELECT id, name, owner FROM jobs')"
credited="$(sql "SELECT COUNT(*) FROM shard_results WHERE worker_key NOT IN
                 ('$(key_of workera)', '$(key_of workerb)')")"
[[ "$credited" == 0 ]] || fail "$credited result(s) carry a key other than workers A's and B's"
[[ "$(sql "SELECT COUNT(*) FROM workers WHERE public_key = '$(key_of rogue)'")" == 0 ]] ||
  fail "the rogue's unlisted key has a worker row"
echo "PASSED: rogue refused, bob kept out, roots enforced; a cut link and a kill -9" \
  "lost and doubled nothing ($shards shards, $count samples, $correct1 correct) in" \
  "$((SECONDS - started)) s"
