#!/usr/bin/env bash
# End-to-end test of workflow/profiles/slurm against a real (single-node) SLURM cluster.
#
#   sudo tests/slurm/run_slurm_test.sh [SNAKEMAKE]
#
# SNAKEMAKE: the snakemake to test (default: $LABELREPRO_SNAKEMAKE, else <repo>/.venv/bin/snakemake).
# Needs root: installs Debian's slurm-wlm and munge when missing (apt-get), starts munged if it is
# not running, writes /etc/slurm/slurm.conf and gres.conf (existing ones are restored), runs slurmctld
# and slurmd from a temp dir (no systemd, no cgroups, no accounting), then in a copy of the workflow:
#   1. runs `snakemake --profile profiles/slurm figures/sparsity_fig1.pdf` (smoke scale) and checks
#      the outputs, that the jobs went through SLURM and that grouping put the training jobs into
#      fewer SLURM jobs than there are training jobs;
#   2. makes the training cells slower (only in the copy), runs again, cancels the SLURM job while it
#      trains and checks that Snakemake's `retries` resubmits it and the target still completes;
#   3. re-runs the training with `gpu=1` (the node has one fake GPU) and checks that the plugin turned
#      it into a SLURM GPU request.
# Everything it started is stopped on exit (trap), and the temp dir removed (KEEP_TMP=1 keeps it).
# Other knobs: SLURM_TEST_TIMEOUT (seconds per snakemake run, default 900),
# SLURM_TEST_SLOW_FACTOR (training steps multiplier for part 2, default 5).
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SNAKEMAKE="${1:-${LABELREPRO_SNAKEMAKE:-$REPO/.venv/bin/snakemake}}"
RUN_TIMEOUT="${SLURM_TEST_TIMEOUT:-900}"
SLOW_FACTOR="${SLURM_TEST_SLOW_FACTOR:-5}"
TARGET="figures/sparsity_fig1.pdf"
AGGREGATE="results/sparsity_fig1/smoke/aggregate.csv"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

log() { printf '[slurm-test %4ds] %s\n' "$SECONDS" "$*"; }
fail() {
    log "FAIL: $*"
    exit 1
}

if [[ $EUID -ne 0 ]]; then
    echo "run_slurm_test.sh: must run as root (installs packages, starts SLURM daemons)" >&2
    exit 2
fi
[[ -x $SNAKEMAKE ]] || fail "snakemake not found at '$SNAKEMAKE' (pass its path or set LABELREPRO_SNAKEMAKE)"
SNAKEMAKE="$(cd "$(dirname "$SNAKEMAKE")" && pwd)/$(basename "$SNAKEMAKE")"
VENV_BIN="$(dirname "$SNAKEMAKE")"
[[ -x $VENV_BIN/python ]] || fail "no python next to $SNAKEMAKE (expected a virtual environment's bin/)"

# One run at a time on a machine (they would share /etc/slurm and the SLURM ports).
exec 9>/tmp/labelrepro-slurm-test.lock
if ! flock -n 9; then
    echo "[slurm-test] another run_slurm_test.sh is running; waiting for it (at most 600 s)"
    flock -w 600 9 || { echo "run_slurm_test.sh: gave up waiting for the other run" >&2; exit 1; }
fi
TMP="$(mktemp -d /tmp/labelrepro-slurm.XXXXXX)"
chmod 755 "$TMP"
WORK="$TMP/work"
CONF=/etc/slurm/slurm.conf
GRES_CONF=/etc/slurm/gres.conf
CONF_WRITTEN=0
CREATED_POLICY=0
MUNGED_STARTED=0
MUNGED_PID=""
CTLD_PID=""
SLURMD_PID=""
SMK_PID=""
STEPD_BEFORE=""

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM ERR
    if [[ -n $SMK_PID ]] && kill -0 "$SMK_PID" 2>/dev/null; then
        # `timeout` passes SIGTERM on to snakemake, which then cancels its SLURM jobs.
        log "stopping snakemake (pid $SMK_PID)"
        kill -TERM "$SMK_PID"
        for _ in $(seq 60); do
            kill -0 "$SMK_PID" 2>/dev/null || break
            sleep 1
        done
        kill -KILL -- "-$SMK_PID" 2>/dev/null # timeout leads its own process group
        wait "$SMK_PID" 2>/dev/null
    fi
    if [[ -n $CTLD_PID ]] && kill -0 "$CTLD_PID" 2>/dev/null; then
        # Cancel whatever is still queued or running on this test cluster (all of it is ours).
        local ids
        ids="$(squeue -h -o %i 2>/dev/null)"
        if [[ -n $ids ]]; then
            log "cancelling leftover SLURM jobs: $(echo $ids)"
            # shellcheck disable=SC2086
            scancel $ids
            for _ in $(seq 30); do
                [[ -z "$(squeue -h -t RUNNING,COMPLETING,PENDING -o %i 2>/dev/null)" ]] && break
                sleep 1
            done
        fi
    fi
    # Job step daemons started by our slurmd that are still there (normally none by now).
    local pid stepd=""
    if [[ -n $SLURMD_PID ]]; then
        for pid in $(pgrep -x slurmstepd); do
            [[ " $STEPD_BEFORE " == *" $pid "* ]] || stepd+=" $pid"
        done
    fi
    if ((rc != 0)); then
        for f in "$TMP"/run*.log "$TMP/slurmctld.log" "$TMP/slurmd.log" "$TMP"/apt.log; do
            [[ -s $f ]] || continue
            echo "----- last lines of $f -----"
            tail -n 40 "$f"
        done
        if [[ -d $WORK/.snakemake/slurm_logs ]]; then
            find "$WORK/.snakemake/slurm_logs" -name '*.log' | while read -r f; do
                echo "----- last lines of $f -----"
                tail -n 25 "$f"
            done
        fi
    fi
    for pid in $SLURMD_PID $CTLD_PID $stepd; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in $SLURMD_PID $CTLD_PID $stepd; do
        for _ in $(seq 20); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if ((MUNGED_STARTED)); then
        [[ -n $MUNGED_PID ]] || MUNGED_PID="$(cat /run/munge/munged.pid 2>/dev/null)"
    fi
    if [[ -n $MUNGED_PID ]]; then
        kill -TERM "$MUNGED_PID" 2>/dev/null
        for _ in $(seq 20); do
            kill -0 "$MUNGED_PID" 2>/dev/null || break
            sleep 0.25
        done
    fi
    if ((CONF_WRITTEN)); then
        local f
        for f in "$CONF" "$GRES_CONF"; do
            if [[ -e $TMP/orig/$(basename "$f") ]]; then
                cp -p "$TMP/orig/$(basename "$f")" "$f"
            else
                rm -f "$f"
            fi
        done
    fi
    ((CREATED_POLICY)) && rm -f /usr/sbin/policy-rc.d
    if [[ ${KEEP_TMP:-0} == 1 ]]; then
        log "kept $TMP"
    else
        rm -rf "$TMP"
    fi
    if ((rc == 0)); then log "PASSED (${SECONDS}s in all)"; else log "exit status $rc (${SECONDS}s in all)"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'log "FAIL: line $LINENO: $BASH_COMMAND"' ERR

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.5 s until it succeeds
    local limit=$1 what=$2
    shift 2
    local end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < end)) || fail "timed out after ${limit}s waiting for $what"
        sleep 0.5
    done
}

# ---------------------------------------------------------------------------------------------
# 1. Packages: slurm-wlm (slurmctld, slurmd, client tools) and munge.
# ---------------------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
    || ! command -v munged >/dev/null; then
    command -v apt-get >/dev/null || fail "SLURM is not installed and there is no apt-get to install it"
    log "installing slurm-wlm and munge with apt-get"
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        # Keep the packages' maintainer scripts from starting services (this script starts them).
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        CREATED_POLICY=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >"$TMP/apt.log" 2>&1 || fail "apt-get update failed"
    apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold \
        slurm-wlm munge >>"$TMP/apt.log" 2>&1 || fail "apt-get install slurm-wlm munge failed"
    if ((CREATED_POLICY)); then
        rm -f /usr/sbin/policy-rc.d
        CREATED_POLICY=0
    fi
    log "installed: $(slurmctld -V)"
else
    log "SLURM already installed: $(slurmctld -V)"
fi
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
    fail "a slurmctld/slurmd is already running on this machine; this test sets up its own cluster"
fi

# ---------------------------------------------------------------------------------------------
# 2. munge (authentication between SLURM commands and daemons).
# ---------------------------------------------------------------------------------------------
munge_ok() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }
if munge_ok; then
    log "munged already running"
else
    id munge >/dev/null 2>&1 || fail "user 'munge' missing (the munge package creates it)"
    install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
    install -d -o munge -g munge -m 0755 /run/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        log "creating /etc/munge/munge.key"
        mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
            || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    runuser -u munge -- munged 9>&- || runuser -u munge -- munged --force 9>&- || fail "munged did not start"
    MUNGED_STARTED=1
    wait_for 20 "munged" munge_ok
    MUNGED_PID="$(cat /run/munge/munged.pid 2>/dev/null || true)"
    log "munged started (pid ${MUNGED_PID:-?})"
fi

# ---------------------------------------------------------------------------------------------
# 3. A one-node cluster: slurm.conf for this host, slurmctld and slurmd.
# ---------------------------------------------------------------------------------------------
HOST="$(hostname -s)"
ADDR="$(getent hosts "$HOST" | awk 'NR == 1 {print $1}' || true)"
ADDR="${ADDR:-127.0.0.1}"
NCPU="$(nproc)"
HW="$(slurmd -C 2>/dev/null | head -n 1 || true)"
MEM_MB="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$HW")"
[[ -n $MEM_MB ]] || MEM_MB="$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)"
MEM_MB=$((MEM_MB * 9 / 10)) # a bit below what the node reports, or slurmctld drains it
if [[ $HW =~ CPUs=([0-9]+) ]] && [[ ${BASH_REMATCH[1]} == "$NCPU" ]] && [[ $HW == NodeName=$HOST* ]]; then
    NODELINE="$(sed -E "s/RealMemory=[0-9]+/RealMemory=$MEM_MB/; s/ *UpTime=.*//" <<<"$HW")"
else
    NODELINE="NodeName=$HOST CPUs=$NCPU RealMemory=$MEM_MB"
fi
NODELINE="$NODELINE Gres=gpu:1 NodeAddr=$ADDR State=UNKNOWN"
mkdir -p "$TMP/state" "$TMP/spool" "$TMP/orig" /etc/slurm
for f in "$CONF" "$GRES_CONF"; do
    [[ -e $f ]] && cp -p "$f" "$TMP/orig/"
done
CONF_WRITTEN=1
sed -e "s|@HOST@|$HOST|g" -e "s|@ADDR@|$ADDR|g" -e "s|@DIR@|$TMP|g" -e "s|@NODELINE@|$NODELINE|" \
    "$REPO/tests/slurm/slurm.conf.template" >"$CONF"
echo "NodeName=$HOST Name=gpu File=/dev/null" >"$GRES_CONF"
export SLURM_CONF="$CONF"
log "slurm.conf: $NODELINE"

# setsid: the daemons get sessions of their own, so that a signal to this script's process group
# (e.g. from a test runner's timeout) reaches the script, whose trap then shuts them down in order.
STEPD_BEFORE="$(pgrep -x slurmstepd | tr '\n' ' ' || true)"
setsid slurmctld -D -f "$CONF" >"$TMP/slurmctld.out" 2>&1 9>&- &
CTLD_PID=$!
wait_for 60 "slurmctld to answer" scontrol ping
setsid slurmd -D -f "$CONF" >"$TMP/slurmd.out" 2>&1 9>&- &
SLURMD_PID=$!
node_state() { sinfo -h -N -n "$HOST" -o %T 2>/dev/null | head -n 1; }
end=$((SECONDS + 90))
until [[ "$(node_state)" == idle ]]; do
    kill -0 "$CTLD_PID" 2>/dev/null || fail "slurmctld died (see $TMP/slurmctld.log)"
    kill -0 "$SLURMD_PID" 2>/dev/null || fail "slurmd died (see $TMP/slurmd.log)"
    case "$(node_state)" in
        down* | drain* | fail*) scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    ((SECONDS < end)) || fail "node $HOST never became idle (state: $(node_state))"
    sleep 1
done
log "cluster up: $(sinfo -h -o '%P %a %D %T %C')"

# ---------------------------------------------------------------------------------------------
# 4. A copy of the workflow (no results, checkpoints or .snakemake from the repository).
# ---------------------------------------------------------------------------------------------
mkdir -p "$WORK"
cp -a "$REPO/Snakefile" "$REPO/workflow" "$REPO/src" "$REPO/pyproject.toml" "$REPO/environment.yml" "$WORK/"
cp -a "$REPO/profiles" "$WORK/profiles" # the link to workflow/profiles
mkdir -p "$WORK/paper" # the reported numbers the scorecard rules read, and the paper document
cp -a "$REPO/paper/reported" "$REPO/paper/main.tex" "$WORK/paper/"
find "$WORK" -name __pycache__ -type d -prune -exec rm -rf {} +
cd "$WORK"
# As on a cluster's login node: the environment is activated, so jobs find its `python` (sbatch
# --export=ALL passes PATH on); PYTHONPATH makes them import this copy's src/ rather than the
# repository's (the package is installed in editable mode).
export VIRTUAL_ENV="$(dirname "$VENV_BIN")"
export PATH="$VENV_BIN:$PATH"
export PYTHONPATH="$WORK/src${PYTHONPATH:+:$PYTHONPATH}"
[[ "$(python -c 'import labelrepro; print(labelrepro.__file__)')" == "$WORK/src/"* ]] \
    || fail "python does not import labelrepro from the working copy"

ctld_log_lines() { wc -l <"$TMP/slurmctld.log"; }
ctld_log_since() { tail -n "+$(($1 + 1))" "$TMP/slurmctld.log"; }
submitted_ids() { sed -n 's/.*_slurm_rpc_submit_batch_job: JobId=\([0-9]*\).*/\1/p'; }

run_snakemake() { # run_snakemake LOGFILE ARGS...: start snakemake with the SLURM profile in the background
    local out=$1
    shift
    # --slurm-init-seconds-before-status-checks: poll sooner than the profile's 40 s (test speed only).
    timeout "$RUN_TIMEOUT" "$SNAKEMAKE" --profile profiles/slurm --slurm-init-seconds-before-status-checks 5 \
        "$@" >"$out" 2>&1 9>&- &
    SMK_PID=$!
}

finish_snakemake() { # finish_snakemake LOGFILE: wait for the background snakemake and check its status
    local rc=0
    wait "$SMK_PID" || rc=$?
    SMK_PID=""
    ((rc != 124)) || fail "snakemake did not finish within ${RUN_TIMEOUT}s (log: $1)"
    ((rc == 0)) || fail "snakemake exited with status $rc (log: $1)"
}

slurm_minutes() { # [D-]HH:MM:SS (or MM:SS) -> whole minutes
    local t=$1 days=0 h=0 m=0 sec=0
    if [[ $t == *-* ]]; then
        days=${t%%-*}
        t=${t#*-}
    fi
    local -a parts
    IFS=: read -r -a parts <<<"$t"
    case ${#parts[@]} in
        3) h=${parts[0]} m=${parts[1]} sec=${parts[2]} ;;
        2) m=${parts[0]} sec=${parts[1]} ;;
        *) m=${parts[0]} ;;
    esac
    echo $((10#$days * 1440 + 10#$h * 60 + 10#$m + (10#$sec > 0 ? 1 : 0)))
}

count_training_jobs() { # from a dry run's job stats table
    local dry
    dry="$("$SNAKEMAKE" --profile profiles/slurm -n "$@" 2>&1)" || {
        echo "$dry" >&2
        fail "dry run failed"
    }
    awk '$1 == "sparsity_train" && !n {print $2; n = 1}' <<<"$dry"
}

# ---------------------------------------------------------------------------------------------
# 5. Part 1: the smoke-scale target through SLURM, with grouping.
# ---------------------------------------------------------------------------------------------
DRY="$("$SNAKEMAKE" --profile profiles/slurm -n "$TARGET" 2>&1)" || {
    echo "$DRY"
    fail "dry run failed"
}
N_TRAIN="$(awk '$1 == "sparsity_train" && !n {print $2; n = 1}' <<<"$DRY")"
[[ $N_TRAIN =~ ^[0-9]+$ ]] && ((N_TRAIN >= 2)) || fail "dry run lists no sparsity_train jobs"
grep -q "Group job sparsity" <<<"$DRY" || fail "dry run shows no 'Group job sparsity' (profile groups:)"
log "part 1: dry run: $N_TRAIN sparsity_train jobs, grouped"
DRY_PAPER="$("$SNAKEMAKE" --profile profiles/slurm -n --config scale=paper 2>&1)" || {
    echo "$DRY_PAPER"
    fail "paper-scale dry run failed"
}
grep -q "results/runs/paper/sparsity/" <<<"$DRY_PAPER" || fail "paper-scale dry run lists no paper-scale training job"
log "part 1: paper-scale dry run lists $(grep -c '^ *rule sparsity_train:' <<<"$DRY_PAPER") sparsity_train jobs"

START=$(ctld_log_lines)
log "part 1: snakemake --profile profiles/slurm $TARGET"
run_snakemake "$TMP/run1.log" "$TARGET"
finish_snakemake "$TMP/run1.log"
[[ -s $TARGET ]] || fail "$TARGET missing"
[[ -s $AGGREGATE ]] || fail "$AGGREGATE missing"
mapfile -t IDS1 < <(ctld_log_since "$START" | submitted_ids)
N_SUB1="$(grep -c 'has been submitted with SLURM jobid' "$TMP/run1.log" || true)"
((${#IDS1[@]} >= 1)) || fail "slurmctld logged no batch job submissions"
((N_SUB1 == ${#IDS1[@]})) || fail "snakemake reports $N_SUB1 submissions, slurmctld ${#IDS1[@]}"
for id in "${IDS1[@]}"; do
    ctld_log_since "$START" | grep -Eq "_job_complete: JobId=$id( |$).*done" \
        || fail "slurmctld log does not show SLURM job $id completing"
    [[ -n "$(find .snakemake/slurm_logs -name "$id.log")" ]] || fail "no .snakemake/slurm_logs/**/$id.log"
done
N_TRAIN_LOGGED="$(find .snakemake/slurm_logs -name '*.log' -exec grep -h '^rule sparsity_train:' {} + | wc -l)"
((N_TRAIN_LOGGED == N_TRAIN)) \
    || fail "the SLURM job logs show $N_TRAIN_LOGGED sparsity_train jobs, expected $N_TRAIN"
((${#IDS1[@]} < N_TRAIN)) || fail "${#IDS1[@]} SLURM jobs for $N_TRAIN training jobs: grouping did not work"
# A group's jobs run one after the other inside its SLURM job, so the SLURM jobs must ask for one
# job's CPUs each and, together, for the training jobs' runtimes added up.
read -r JOB_RUNTIME JOB_CPUS < <(python - <<'EOF'
import yaml
with open("workflow/experiments/sparsity/sparsity_fig1.yaml") as f:
    res = yaml.safe_load(f)["scales"]["smoke"]["resources"]
print(int(res["runtime"]), int(res.get("cpus_per_task", 1)))
EOF
)
TOTAL_MIN=0
for id in "${IDS1[@]}"; do
    info="$(scontrol show job -o "$id")" || fail "scontrol show job $id failed"
    limit="$(grep -o 'TimeLimit=[^ ]*' <<<"$info" | cut -d= -f2)"
    cpt="$(grep -o 'CPUs/Task=[0-9]*' <<<"$info" | cut -d= -f2)"
    minutes="$(slurm_minutes "$limit")"
    log "part 1: SLURM job $id: TimeLimit=$limit CPUs/Task=$cpt"
    [[ $cpt == "$JOB_CPUS" ]] || fail "SLURM job $id asks for $cpt CPUs per task, expected $JOB_CPUS (one job's)"
    TOTAL_MIN=$((TOTAL_MIN + minutes))
done
((TOTAL_MIN == N_TRAIN * JOB_RUNTIME)) \
    || fail "the SLURM jobs ask for ${TOTAL_MIN} min in all, expected $N_TRAIN x $JOB_RUNTIME min"
log "part 1: OK: $N_TRAIN training jobs ran in ${#IDS1[@]} SLURM job(s) (ids ${IDS1[*]}); logs:"
find .snakemake/slurm_logs -name '*.log' | sed 's/^/    /'

# ---------------------------------------------------------------------------------------------
# 6. Part 2: a SLURM job killed while it trains is resubmitted (retries) and the target completes.
# ---------------------------------------------------------------------------------------------
# Slower training cells, only in this copy, so that there is time to cancel the job mid-run.
cp -p workflow/experiments/sparsity/sparsity_fig1.yaml "$TMP/sparsity_fig1.yaml"
python - "$SLOW_FACTOR" <<'EOF'
import sys
import yaml
path = "workflow/experiments/sparsity/sparsity_fig1.yaml"
with open(path) as f:
    exp = yaml.safe_load(f)
settings = exp["scales"]["smoke"]["settings"]
settings["steps"] = int(settings["steps"]) * int(sys.argv[1])
with open(path, "w") as f:
    yaml.safe_dump(exp, f, sort_keys=False)
print(f"steps -> {settings['steps']}")
EOF
N_TRAIN2="$(count_training_jobs "$TARGET")"
((N_TRAIN2 == N_TRAIN)) || fail "after slowing the cells the dry run lists '$N_TRAIN2' training jobs, expected $N_TRAIN"

START=$(ctld_log_lines)
touch -d '-1 second' "$TMP/part2.start"
log "part 2: snakemake --profile profiles/slurm $TARGET (cells $SLOW_FACTOR x slower); cancelling its first SLURM job"
run_snakemake "$TMP/run2.log" "$TARGET"
VICTIM=""
end=$((SECONDS + 300))
while [[ -z $VICTIM ]]; do
    kill -0 "$SMK_PID" 2>/dev/null || fail "snakemake ended before a training job could be cancelled"
    ((SECONDS < end)) || fail "no SLURM job reached RUNNING with training under way within 300s"
    while IFS='|' read -r id state name; do
        [[ $state == RUNNING && $name == labelrepro_* ]] || continue
        # Training is under way once the job step's snakemake has announced the rule.
        if find .snakemake/slurm_logs -name "$id.log" -exec grep -q '^rule sparsity_train:' {} \; -print | grep -q .; then
            VICTIM=$id
        fi
    done < <(squeue -h -o '%i|%T|%j')
    [[ -n $VICTIM ]] || sleep 0.5
done
sleep 2
scancel "$VICTIM" || fail "scancel $VICTIM failed"
log "part 2: cancelled SLURM job $VICTIM while it was training"
finish_snakemake "$TMP/run2.log"

[[ -s $TARGET ]] || fail "$TARGET missing after part 2"
[[ -s $AGGREGATE ]] || fail "$AGGREGATE missing after part 2"
[[ $TARGET -nt $TMP/part2.start ]] || fail "$TARGET was not rebuilt in part 2"
grep -q "Trying to restart job" "$TMP/run2.log" || fail "snakemake did not restart the cancelled job (retries)"
scontrol show job "$VICTIM" | grep -q "JobState=CANCELLED" || fail "SLURM does not list job $VICTIM as CANCELLED"
grep -Eq "JOB $VICTIM ON .* CANCELLED" "$(find .snakemake/slurm_logs -name "$VICTIM.log")" \
    || fail "the log of SLURM job $VICTIM does not show it cancelled"
mapfile -t IDS2 < <(ctld_log_since "$START" | submitted_ids)
((${#IDS2[@]} >= 2)) || fail "expected a resubmission after the cancel, slurmctld logged ${#IDS2[@]} submission(s)"
LAST="${IDS2[-1]}"
[[ $LAST != "$VICTIM" ]] || fail "the last submitted job is the cancelled one"
ctld_log_since "$START" | grep -Eq "_job_complete: JobId=$LAST( |$).*done" \
    || fail "resubmitted SLURM job $LAST did not complete"
log "part 2: OK: job $VICTIM cancelled -> snakemake resubmitted it as SLURM job(s) ${IDS2[*]:1}; target rebuilt"
declare -A LIMIT
for id in "$VICTIM" "$LAST"; do
    info="$(scontrol show job "$id" 2>/dev/null | tr -s ' \n' ' ')"
    LIMIT[$id]="$(grep -o 'TimeLimit=[0-9:-]*' <<<"$info" | cut -d= -f2)"
    log "    job $id: $(grep -o 'JobState=[A-Z_]*' <<<"$info") TimeLimit=${LIMIT[$id]}"
done
if (($(slurm_minutes "${LIMIT[$LAST]}") > $(slurm_minutes "${LIMIT[$VICTIM]}"))); then
    log "    the retry asked for more time than the first attempt"
else
    log "    note: the retry asked for the same time (the training rule's runtime does not grow with attempt)"
fi
grep -E "Trying to restart job|has been submitted with SLURM jobid|failed, SLURM status" "$TMP/run2.log" | sed 's/^/    /'

# ---------------------------------------------------------------------------------------------
# 7. Part 3: a job with `gpu: 1` asks SLURM for a GPU (the experiments declare `gpu` per scale; here
#    the training rule gets it through --set-resources, which replaces the profile's set-resources,
#    hence serial=1 again). The trainer itself falls back to the CPU: the GPU is fake.
# ---------------------------------------------------------------------------------------------
cp -p "$TMP/sparsity_fig1.yaml" workflow/experiments/sparsity/sparsity_fig1.yaml
START=$(ctld_log_lines)
touch -d '-1 second' "$TMP/part3.start"
log "part 3: snakemake --profile profiles/slurm --set-resources sparsity_train:gpu=1 sparsity_train:serial=1 $TARGET"
run_snakemake "$TMP/run3.log" --set-resources sparsity_train:gpu=1 sparsity_train:serial=1 \
    --forcerun sparsity_train -- "$TARGET"
finish_snakemake "$TMP/run3.log"
[[ -s $TARGET && $TARGET -nt $TMP/part3.start ]] || fail "$TARGET was not rebuilt in part 3"
mapfile -t IDS3 < <(ctld_log_since "$START" | submitted_ids)
((${#IDS3[@]} >= 1)) || fail "part 3 submitted no SLURM job"
for id in "${IDS3[@]}"; do
    info="$(scontrol show job -o "$id")" || fail "scontrol show job $id failed"
    grep -Eq "TresPerJob=[^ ]*gpu:1" <<<"$info" || fail "SLURM job $id has no GPU request: $info"
    log "part 3: OK: SLURM job $id: $(grep -Eo 'TresPerJob=[^ ]*' <<<"$info") $(grep -Eo 'JobState=[A-Z]*' <<<"$info")"
done
