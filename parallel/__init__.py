"""Folds in parallel on Ray: each (model, fold) is one Ray task that asks for the CPUs or the GPU
it needs and writes its own folder of the run directory exactly as `train.py --fold k` does.

Nothing here is imported unless `--workers` or `--cluster` is given (options.py excepted), so the
sequential path never imports Ray."""
