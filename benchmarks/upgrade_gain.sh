#!/usr/bin/env bash
# The measured gains behind the --budget planner's upgrades (planner/upgrades.py), on debfr-public:
#   benchmarks/upgrade_gain.sh runs/upgrades [stage]      stage: first (default), finetune or layers
# `first` trains what a short budget's first pass runs (tfidf, text_cnn at 3 epochs, frozen e5) and
# the cheap upgrades (text_cnn at its default epochs, knn over tfidf and e5); `finetune` adds the
# 45-minute pass's e5_finetune and a second e5_finetune seed; `layers` (after both) e5_finetune with
# its top 4 encoder layers trainable instead of 2, in its place and beside the neighbour votes
# (about 2 hours on 2 slow cores). Each upgrade's stack is compared with
# the stack it upgrades (paired bootstrap, OOF and test); the lines go to RUN_ROOT/upgrades.log.
set -euo pipefail
root=$1; stage=${2:-first}
dataset=debfr-public; data=../shared/bench/$dataset; run=$root/$dataset; log=$root/upgrades.log
py=${PYTHON:-.venv/bin/python}
mkdir -p "$root"
train() { $py train.py --data-dir "$data" --run-dir "$run" --fold all --quiet "$@"; }
stack() {  # stack NAME MODELS: a LightGBM stack and its submission
  $py -m ensemble --method lgbm --run-dir "$run" --models "$2" --name "$1" > /dev/null
  $py submit.py --run-dir "$run" --source "$1" > /dev/null
}
gain() {  # gain UPGRADED BASE: paired OOF and test gain, logged
  echo "== $1 over $2" | tee -a "$log"
  $py benchmarks/paired_gain.py --run-dir "$run" --model "$1" --versus "$2" \
    --answers "$data/../answers/$dataset.csv" | tee -a "$log"
}
if [ "$stage" = first ]; then
  train --model tfidf
  train --model text_cnn --epochs 3 --set tensorboard=false --name text_cnn_3ep
  train --model e5
  train --model text_cnn --set tensorboard=false
  train --model knn_tfidf
  train --model knn_e5
  base=tfidf,text_cnn_3ep,e5
  stack stack-s15 $base
  stack stack-s15-cnn tfidf,text_cnn,e5
  stack stack-s15-knn $base,knn_tfidf,knn_e5
  stack stack-s15-cnn-knn tfidf,text_cnn,e5,knn_tfidf,knn_e5
  gain stack-s15-cnn stack-s15; gain stack-s15-knn stack-s15; gain stack-s15-cnn-knn stack-s15-cnn
elif [ "$stage" = layers ]; then
  train --model e5_finetune --set trainable_layers=4 --name e5_finetune_4l
  base=tfidf,e5,text_cnn,e5_finetune
  stack stack-3h $base
  stack stack-3h-4l tfidf,e5,text_cnn,e5_finetune_4l
  stack stack-3h-4l-knn tfidf,e5,text_cnn,e5_finetune_4l,knn_tfidf,knn_e5
  stack stack-3h-both $base,e5_finetune_4l
  gain stack-3h-4l stack-3h; gain stack-3h-4l-knn stack-3h-4l; gain stack-3h-both stack-3h-4l
else
  train --model e5_finetune
  train --model e5_finetune --seed 7 --name e5_finetune_s2
  base=tfidf,text_cnn_3ep,e5,e5_finetune
  stack stack-s45 $base
  stack stack-s45-cnn tfidf,text_cnn,e5,e5_finetune
  stack stack-s45-knn $base,knn_tfidf,knn_e5
  stack stack-s45-seed $base,e5_finetune_s2
  stack stack-s45-cnn-seed tfidf,text_cnn,e5,e5_finetune,e5_finetune_s2
  gain stack-s45-cnn stack-s45; gain stack-s45-knn stack-s45; gain stack-s45-seed stack-s45; gain stack-s45-cnn-seed stack-s45-cnn
fi
for model in $(ls "$run"); do
  if [ -f "$run/$model/metrics.json" ]; then echo "$model OOF $($py -c "import json; m=json.load(open('$run/$model/metrics.json')); print(round(m['oof']['weighted_f1'],4))")" | tee -a "$log"; fi
done
