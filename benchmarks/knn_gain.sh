#!/usr/bin/env bash
# What the knn models add to a stack, on the public benchmarks (docs/knn.md):
#   benchmarks/knn_gain.sh debfr-public runs/knn [--with-finetune]
# Trains the base models and the knn models on one dataset of ../shared/bench, stacks the base models
# with and without the knn ones (LightGBM), scores both submissions on the answers and prints the
# paired-bootstrap OOF gain. Every figure goes into RUN_ROOT/<dataset>.log.
set -euo pipefail
dataset=$1; root=$2; extra=${3:-}
data=../shared/bench/$dataset; run=$root/$dataset; log=$root/$dataset.log
py=${PYTHON:-.venv/bin/python}
mkdir -p "$root"
train() { $py train.py --data-dir "$data" --run-dir "$run" --fold all --quiet "$@"; }
case $dataset in
  debfr-public) base=(tfidf e5); knn=(knn_tfidf knn_e5)
    train --model tfidf; train --model e5
    if [ "$extra" = --with-finetune ]; then train --model e5_finetune --epochs 2; base+=(e5_finetune); fi ;;
  apps-public) base=(tfidf e5 effnet_lite0); knn=(knn_tfidf knn_e5 knn_image)
    train --model tfidf; train --model e5
    train --model effnet_lite0 --set image_size=128 --set crop_background=true ;;
  fashion-public) base=(effnet_lite0 cnn_small); knn=(knn_image)
    train --model effnet_lite0 --set image_size=128
    train --model cnn_small --set convs_per_block=2 --epochs 20 ;;
  *) echo "unknown dataset $dataset" >&2; exit 2 ;;
esac
for model in "${knn[@]}"; do
  case $model in
    knn_image) [ "$dataset" = apps-public ] && crop=(--set crop_background=true) || crop=()
      train --model knn_image --set image_size=128 "${crop[@]}" ;;
    *) train --model "$model" ;;
  esac
done
join() { local IFS=,; echo "$*"; }
suffix=${extra:+-ft}
for variant in base knn; do
  models=$(join "${base[@]}"); [ $variant = knn ] && models=$(join "${base[@]}" "${knn[@]}")
  $py -m ensemble --method lgbm --run-dir "$run" --models "$models" --name "stack-$variant$suffix" > /dev/null
  $py submit.py --run-dir "$run" --source "stack-$variant$suffix" > /dev/null
  echo "$dataset stack-$variant$suffix [$models] test: $($py ../shared/bench/score.py "$run/submissions/stack-$variant$suffix.csv" ../shared/bench/answers/$dataset.csv | tr '\n' ' ')" | tee -a "$log"
done
for model in "${base[@]}" "${knn[@]}"; do
  echo "$dataset $model OOF $($py -c "import json,sys; m=json.load(open('$run/$model/metrics.json')); print(round(m['oof']['weighted_f1'],4))")" | tee -a "$log"
done
$py benchmarks/paired_gain.py --run-dir "$run" --model "stack-knn$suffix" --versus "stack-base$suffix" \
  --answers "../shared/bench/answers/$dataset.csv" | tee -a "$log"
