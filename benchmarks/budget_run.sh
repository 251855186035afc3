#!/usr/bin/env bash
# One `--budget` run as docs/benchmarks.md reports it: on a public benchmark, from an empty run
# directory and an empty cache/ (the e5 conversion and the TF-IDF corpus are paid inside the
# budget), timed, then its submission scored:
#   benchmarks/budget_run.sh 15m debfr-public runs/budget-15m
# The timed line goes to benchmarks/timed.log, the run's own output to OUT/budget.log. The machine's
# record of past runs and its probes (planner/past_runs.py, planner/probe.py) are not emptied: they
# are what the machine learned, not a cache of work; ESHOPPYE_STATE_DIR=OUT/state before the command
# plans as on a new machine (the probes paid inside the budget).
set -euo pipefail
budget=$1; dataset=$2; out=$3
repo=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-$repo/.venv/bin/python}
bench=$(cd "$repo/../shared/bench" && pwd)
rm -rf "$out"; mkdir -p "$out"; out=$(cd "$out" && pwd)
# the run works in OUT, so its cache/ starts empty
(cd "$out" && TIMED_LOG="$repo/benchmarks/timed.log" "$repo/../shared/tools/timed" "budget-$budget-$dataset" -- \
  "$py" "$repo/recipes.py" --budget "$budget" --data-dir "$bench/$dataset" --run-dir run --quiet) 2>&1 | tee "$out/budget.log"
"$py" "$repo/submit.py" --run-dir "$out/run" --source stack-lgbm --out "$out/submission.csv" > /dev/null
echo "test: $("$py" "$bench/score.py" "$out/submission.csv" "$bench/answers/$dataset.csv" | tr '\n' ' ')" | tee -a "$out/budget.log"
