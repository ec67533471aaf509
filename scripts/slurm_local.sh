#!/usr/bin/env bash
# Proof on a real Slurm cluster: starts a single-node Slurm cluster on this machine
# (Debian's slurm-wlm and munge), runs `mavuno slurm` over real text from ../shared/data
# with 8 shards and global dedup_exact + dedup_near, waits for the jobs, checks that the
# union of the shards' outputs equals the single-machine run, and stops the daemons it
# started (by pid). Needs root (it installs packages and starts daemons).
#
#   bash scripts/slurm_local.sh            (or: make slurm-test)
#
# Environment: MAVUNO (binary, default target/release/mavuno), SHARDS (default 8),
# BAND_RANGES (default 1: `mavuno slurm --band-ranges`, each reduce as an array of that
# many band-range tasks, then dedup_near's cluster job), FAIL_TASK=i (makes array task i
# of the first shard phase fail, then resubmits that task alone with
# `sbatch --array=i`, points the waiting reduce job at it with `scontrol update`, and
# checks the run still equals the single run), KEEP=1 keeps the scratch directory.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
DATA="$REPO/../shared/data/masakhane_raw_text"
MAVUNO=${MAVUNO:-$REPO/target/release/mavuno}
SHARDS=${SHARDS:-8}
BAND_RANGES=${BAND_RANGES:-1}
FAIL_TASK=${FAIL_TASK:-}
[ -x "$MAVUNO" ] || { echo "build first: cargo build --release --bin mavuno" >&2; exit 1; }
[ -d "$DATA" ] || { echo "shared data not found: $DATA" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root (installs slurm-wlm, starts daemons)" >&2; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge
fi

WORK=$(mktemp -d /tmp/mavuno-slurm.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  [ "${KEEP:-0}" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

HOST=$(hostname)
# --- munge: a key, then munged as user munge ---------------------------------------
mkdir -p /etc/munge /var/run/munge /var/log/munge /var/lib/munge
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
chown -R munge:munge /etc/munge /var/run/munge /var/log/munge /var/lib/munge
chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key; chmod 0755 /var/run/munge
if ! pgrep -x munged >/dev/null; then
  # munged runs as munge, which cannot write to $WORK: its pid file lives in /var/run/munge.
  MPID=/var/run/munge/mavuno-munged.pid
  rm -f "$MPID"
  su -s /bin/sh munge -c "/usr/sbin/munged --pid-file=$MPID"
  for _ in $(seq 50); do [ -s "$MPID" ] && break; sleep 0.1; done
  PIDS+=("$(cat "$MPID")")
fi

# --- slurm.conf: one node with this machine's CPUs, linuxproc tracking, no cgroups ------
CONF_DIR=/etc/slurm
mkdir -p "$CONF_DIR" "$WORK/spool/ctld" "$WORK/spool/d" "$WORK/log"
CPUS=${SLURM_CPUS:-2}
cat > "$CONF_DIR/slurm.conf" <<EOF
ClusterName=mavuno
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
StateSaveLocation=$WORK/spool/ctld
SlurmdSpoolDir=$WORK/spool/d
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
NodeName=$HOST CPUs=$CPUS RealMemory=20000 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
/usr/sbin/slurmctld -f "$CONF_DIR/slurm.conf"
for _ in $(seq 100); do [ -s "$WORK/slurmctld.pid" ] && break; sleep 0.1; done
PIDS+=("$(cat "$WORK/slurmctld.pid")")
/usr/sbin/slurmd -f "$CONF_DIR/slurm.conf"
for _ in $(seq 100); do [ -s "$WORK/slurmd.pid" ] && break; sleep 0.1; done
PIDS+=("$(cat "$WORK/slurmd.pid")")
for _ in $(seq 100); do sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mixed' && break; sleep 0.3; done
sinfo

# --- the corpus: 8 files of real lines, with copies across files ----------------------
mkdir -p "$WORK/in"
python3 - "$DATA" "$WORK/in" <<'PY'
import sys, pathlib
data, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
lines = []
for lang in ["hau", "yor", "swa"]:
    lines += [l for l in (data / f"{lang}.txt").read_text().splitlines() if len(l) >= 60][:1500]
files = 8
per = len(lines) // files
parts = [lines[i * per:(i + 1) * per] for i in range(files)]
for f in range(files):
    for j in range(0, per, 13):
        src = parts[f][j]
        w = src.split(" "); w[len(w) // 2] = "kalmaa"
        parts[(f + 3) % files].insert(j // 2, src.upper() + " !!")
        parts[(f + 5) % files].append(" ".join(w))
for f, p in enumerate(parts):
    (out / f"part-{f}.txt").write_text("\n".join(p) + "\n")
PY
cat > "$WORK/dedup.toml" <<EOF
[run]
name = "slurm"

[stages.raw]
type = "text_reader"
paths = ["$WORK/in/*.txt"]

[stages.exact]
type = "dedup_exact"
inputs = ["raw"]

[stages.near]
type = "dedup_near"
inputs = ["exact"]
threshold = 0.7

[stages.out]
type = "jsonl_writer"
inputs = ["near"]
path = "out.jsonl"
EOF

# --- single machine, then Slurm ------------------------------------------------------
"$MAVUNO" run "$WORK/dedup.toml" --workdir "$WORK/single" --quiet
"$MAVUNO" slurm "$WORK/dedup.toml" --workdir "$WORK/sharded" --shards "$SHARDS" --band-ranges "$BAND_RANGES" --dry-run > "$WORK/dry-run.txt"
if [ -n "$FAIL_TASK" ]; then
  # A file where task FAIL_TASK's run directory goes: that task fails, the others run.
  mkdir -p "$WORK/sharded/slurm"
  echo "in the way" > "$WORK/sharded/slurm/shard-$FAIL_TASK-of-$SHARDS"
fi
"$MAVUNO" slurm "$WORK/dedup.toml" --workdir "$WORK/sharded" --shards "$SHARDS" --band-ranges "$BAND_RANGES" --cpus-per-task 1 --mem 2G | tee "$WORK/jobs.txt"
JOBS=$(cut -f1 "$WORK/jobs.txt" | paste -sd,)
echo "waiting for jobs $JOBS"
START=$(date +%s)
RESUBMITTED=
while [ -n "$(squeue -h -j "$JOBS" 2>/dev/null)" ]; do
  if squeue -h -j "$JOBS" -o %r | grep -q DependencyNeverSatisfied; then
    if [ -n "$FAIL_TASK" ] && [ -z "$RESUBMITTED" ]; then
      FIRST=$(sed -n 1p "$WORK/jobs.txt" | cut -f1)
      NEXT=$(sed -n 2p "$WORK/jobs.txt" | cut -f1)
      SCRIPT=$(sed -n 1p "$WORK/jobs.txt" | cut -f3)
      echo "task $FAIL_TASK of job $FIRST failed as injected:"
      sacct -n -j "$FIRST" -o JobID,State,ExitCode 2>/dev/null || squeue -h -j "$NEXT" -o '%i %r'
      rm -f "$WORK/sharded/slurm/shard-$FAIL_TASK-of-$SHARDS"
      NEW=$(sbatch --parsable --array="$FAIL_TASK" "$SCRIPT" | cut -d';' -f1)
      scontrol update JobId="$NEXT" Dependency="afterok:$NEW"
      echo "resubmitted task $FAIL_TASK alone as job $NEW; job $NEXT now waits on it"
      JOBS="$JOBS,$NEW"
      RESUBMITTED=1
      sleep 2
      continue
    fi
    echo "a job failed; logs:" >&2; tail -n 20 "$WORK"/sharded/slurm/slurm/logs/* >&2; exit 1
  fi
  [ $(( $(date +%s) - START )) -lt 1200 ] || { echo "timed out" >&2; exit 1; }
  sleep 2
done
if [ -n "$FAIL_TASK" ] && [ -z "$RESUBMITTED" ]; then
  echo "the injected failure of task $FAIL_TASK was not seen" >&2; exit 1
fi
echo "jobs finished in $(( $(date +%s) - START )) s"
squeue; scontrol show job "${JOBS##*,}" 2>/dev/null | grep -o 'JobState=[A-Z]*' || true

# --- equality ------------------------------------------------------------------------
python3 - "$WORK/single/slurm" "$WORK/sharded/slurm" "$SHARDS" <<'PY'
import json, sys, collections, pathlib
single, sharded, n = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])
def recs(paths):
    c = collections.Counter()
    for p in paths:
        for l in p.read_text().splitlines():
            r = json.loads(l); c[(r["id"], r["text"])] += 1
    return c
def pairs(paths):
    c = collections.Counter()
    for p in paths:
        for l in p.read_text().splitlines():
            r = json.loads(l); c[(r["id"], r["dup_of"])] += 1
    return c
def drops(dirs):
    c = collections.Counter()
    for d in dirs:
        m = json.loads((d / "manifest.json").read_text())
        for s in m["stages"]:
            for k, v in s["counts"].get("dropped", {}).items():
                c[(s["id"], k)] += v
    return c
shards = [sharded / f"shard-{i}-of-{n}" for i in range(n)]
a, b = recs([single / "out.jsonl"]), recs([d / "out.jsonl" for d in shards])
pa, pb = pairs([single / "dedup_near_clusters.jsonl"]), pairs([d / "dedup_near_clusters.jsonl" for d in shards])
da, db = drops([single]), drops(shards)
print(f"single: {sum(a.values())} records kept, drops {dict(da)}; near pairs {sum(pa.values())}")
print(f"{n} shards: {sum(b.values())} records kept, drops {dict(db)}; near pairs {sum(pb.values())}")
assert a == b, "records differ"
assert pa == pb, "near-duplicate pairs differ"
assert da == db, "drop counts differ"
print("OK: the Slurm run equals the single-machine run")
PY
