# A throwaway single-node Slurm (munged, slurmctld, slurmd) that lives in one
# folder and touches no system state: its own munge key and socket, its own
# slurm.conf, state, spool, pid and log files, ports on loopback that were
# free. Source it, then:
#   slurm_cluster_start DIR   start the daemons, wait until the node is idle,
#                             export SLURM_CONF for sbatch/squeue/scancel
#   slurm_cluster_stop        stop the daemons (safe to call twice, or after
#                             a failed start)
# Needs root (slurmd starts jobs as their user) and Debian's slurmctld,
# slurmd, slurm-client and munge (scripts/setup installs them).

# shellcheck shell=bash
slurm_cluster_dir=""
slurm_cluster_pids=()

# Prints a TCP port on 127.0.0.1 that nothing listens on now.
free_loopback_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "free_loopback_port: no free port found in 200 tries" >&2
  return 1
}

# The node line of slurm.conf: this host as slurmd sees it (CPUs, sockets,
# cores, threads), so that slurmd's check of the real hardware passes.
# RealMemory is left out: a node whose free memory drops below a configured
# value is drained.
_slurm_node_line() {
  local line
  line="$(slurmd -C | head -n 1)" || return 1
  echo "${line// RealMemory=*/} NodeAddr=127.0.0.1 State=UNKNOWN"
}

_slurm_write_conf() {
  local dir="$1" ctld_port="$2" slurmd_port="$3" node_line="$4"
  local host
  host="$(hostname -s)"
  cat >"$dir/slurm.conf" <<CONF
# Written by tests/slurm/slurm_cluster.sh for one test run.
ClusterName=mixqtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket.2
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MailProg=/bin/true
# Seconds between SIGTERM and SIGKILL when a job is cancelled.
KillWait=5
$node_line
PartitionName=mixq Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

_slurm_fail() {
  echo "slurm_cluster_start: $1 (logs in $slurm_cluster_dir/log)" >&2
  local f
  for f in "$slurm_cluster_dir"/log/*.log; do
    [[ -f "$f" ]] && { echo "--- $f (last lines)" >&2; tail -n 15 "$f" >&2; }
  done
  return 1
}

slurm_cluster_start() {
  slurm_cluster_dir="$1"
  local dir="$1" ctld_port slurmd_port node_line
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
  chmod 700 "$dir/munge"
  mungekey --create --keyfile="$dir/munge/munge.key" || _slurm_fail "mungekey failed" || return 1
  chmod 600 "$dir/munge/munge.key"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket.2" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed" || _slurm_fail "munged did not start" || return 1
  # munged daemonizes; its pid file is written before the parent returns.
  slurm_cluster_pids+=("$(cat "$dir/munge/munged.pid")")

  ctld_port="$(free_loopback_port)" || return 1
  slurmd_port="$(free_loopback_port)" || return 1
  node_line="$(_slurm_node_line)" || _slurm_fail "slurmd -C failed" || return 1
  _slurm_write_conf "$dir" "$ctld_port" "$slurmd_port" "$node_line"
  export SLURM_CONF="$dir/slurm.conf"

  slurmctld -D -i -f "$SLURM_CONF" >>"$dir/log/slurmctld.out" 2>&1 &
  slurm_cluster_pids+=("$!")
  slurmd -D -f "$SLURM_CONF" >>"$dir/log/slurmd.out" 2>&1 &
  slurm_cluster_pids+=("$!")

  local node state
  node="$(hostname -s)"
  for _ in $(seq 1 120); do
    state="$(sinfo --noheader --nodes="$node" --format=%t 2>/dev/null)" || state=""
    [[ "$state" == "idle" ]] && return 0
    local pid
    for pid in "${slurm_cluster_pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || { _slurm_fail "daemon $pid exited"; return 1; }
    done
    sleep 0.25
  done
  _slurm_fail "node $node not idle after 30 s (sinfo says '${state}')"
}

slurm_cluster_stop() {
  local pid
  # Reverse order: slurmd, slurmctld, then munged, which both need until the end.
  for ((i = ${#slurm_cluster_pids[@]} - 1; i >= 0; i--)); do
    pid="${slurm_cluster_pids[i]}"
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  slurm_cluster_pids=()
}
