"""How fast this machine is on this data: short probe runs, and the cache that keeps their results.

A probe trains fold 0 of 5 of one step (its run settings, one epoch) on a stratified sample of the
user's data (400 training and 100 test rows) through `recipebook.training.train_model` in a scratch
run directory, and records its wall seconds. The same probe on the reference machine and the real-size folder is
stored in planner/reference_costs.json ("probe"); their ratio scales the step's reference costs.
Results are kept in the machine's state folder (STATE_DIR/probes.json, beside the record of past runs,
planner/past_runs.py) per machine (CPU model, cores, GPUs) and data (row counts and index hashes, as
run.json records them): a second `--plan-only` is instant, and a run in a new folder (a new cache/)
does not pay the probes again.

    python -m planner.probe --reference --data-dir real_size_data   # re-measure the reference probes
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

SAMPLE_TRAIN, SAMPLE_TEST = 400, 100
PROBE_FOLDS = 5  # the reference probes' folds: a probe times fold 0 of 5, whatever the run's --n-folds


def data_fingerprint(identity: dict) -> str:
    return "{train_rows}x{test_rows}-{train_index}-{test_index}".format(**identity)


class ProbeCache:
    """STATE_DIR/probes.json: {machine key + data fingerprint: {probe name: seconds}}. What a probe
    measures is the machine and the data, not a run's work, so it lives with the machine's record of
    past runs (planner/past_runs.py: state_dir), not in a run's cache folder."""

    def __init__(self, folder: str | Path | None = None):
        from planner.past_runs import state_dir

        self.path = Path(folder if folder is not None else state_dir()) / "probes.json"

    def _read(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.is_file() else {}

    def get(self, machine_key: str, fingerprint: str) -> dict:
        return self._read().get(f"{machine_key}/{fingerprint}", {}).get("seconds", {})

    def put(self, machine_key: str, fingerprint: str, seconds: dict, about: dict) -> None:
        table = self._read()
        record = table.setdefault(f"{machine_key}/{fingerprint}", {"seconds": {}})
        record["seconds"].update(seconds)
        record.update(about, updated=time.strftime("%Y-%m-%d %H:%M:%S"))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        partial.write_text(json.dumps(table, indent=1))
        os.replace(partial, self.path)  # never a half-written cache


def reference_section(table: dict, device: str, probe: str) -> str:
    """GPU steps compare with a GPU reference probe; the CPU-only steps with the CPU one."""
    return "gpu" if device == "gpu" and probe in table.get("gpu", {}) else "cpu"


def probe_ratios(table: dict, device: str, seconds_here: dict) -> dict:
    """probe name -> seconds here / seconds on the reference, for the probes both sides have."""
    ratios = {}
    for probe, seconds in seconds_here.items():
        reference = table["probe"].get(reference_section(table, device, probe), {}).get("seconds", {}).get(probe)
        if reference:
            ratios[probe] = seconds / reference
    return ratios


def measured_probes(table: dict, device: str, wanted: dict, cache: ProbeCache, machine_key: str,
                    fingerprint: str, run_probe: Callable[[str, dict], float], about: dict | None = None,
                    need_reference: bool = True) -> tuple[dict, float]:
    """Seconds of each wanted probe ({name: {"model", "settings"}}) on this machine and data: from the
    cache, else measured with run_probe(name, spec) and cached. Returns (seconds, time spent now).
    A probe with nothing to compare with on the reference is not run unless need_reference=False."""
    known = cache.get(machine_key, fingerprint)
    todo = {name: spec for name, spec in wanted.items() if name not in known and (
        not need_reference or table["probe"].get(reference_section(table, device, name), {})
        .get("seconds", {}).get(name))}
    started = time.perf_counter()
    fresh = {}
    for name, spec in todo.items():
        fresh[name] = run_probe(name, spec)
        cache.put(machine_key, fingerprint, {name: fresh[name]}, about or {})
    spent = time.perf_counter() - started if todo else 0.0
    return {**known, **fresh}, spent


# --------------------------------------------------------------------------- the real probe
def write_sample(data, out_dir: Path, n_train: int = SAMPLE_TRAIN, n_test: int = SAMPLE_TEST, seed: int = 0) -> Path:
    """A challenge folder of a stratified sample of `data` (at least 6 rows a class, so 5 folds
    split), its images the original ones (a symlink). A class with fewer rows than the probe's
    folds is left out: a probe measures speed, not scores."""
    import numpy as np
    import pandas as pd

    from challenge.reader import X_COLUMNS, X_TEST, X_TRAIN, Y_TRAIN

    rng = np.random.default_rng(seed)
    share = data.labels.value_counts(normalize=True)
    picked = []
    for code, fraction in share.items():
        rows = data.labels.index[data.labels == code]
        if len(rows) < PROBE_FOLDS:
            continue
        take = min(len(rows), max(6, round(fraction * n_train)))
        picked.append(rng.choice(rows, size=take, replace=False))
    train_rows = pd.Index(np.sort(np.concatenate(picked)))
    test_rows = data.test.index[np.sort(rng.choice(len(data.test), size=min(n_test, len(data.test)), replace=False))]
    out_dir.mkdir(parents=True, exist_ok=True)
    data.train.loc[train_rows, list(X_COLUMNS)].to_csv(out_dir / X_TRAIN)
    data.labels.loc[train_rows].to_frame().to_csv(out_dir / Y_TRAIN)
    data.test.loc[test_rows, list(X_COLUMNS)].to_csv(out_dir / X_TEST)
    images = Path(data.data_dir).resolve() / "images"
    if images.is_dir():
        os.symlink(images, out_dir / "images")
    return out_dir


class TrainProbe:
    """Runs probes through train_model (as train.py trains) on a sample folder in a scratch directory under cache_dir."""

    def __init__(self, data, cache_dir: str | Path = "cache"):
        self.data, self.cache_dir = data, Path(cache_dir)
        self.scratch = None

    def __enter__(self) -> "TrainProbe":
        self.scratch = Path(tempfile.mkdtemp(prefix="probe-", dir=self._planner_dir()))
        write_sample(self.data, self.scratch / "data")
        # cold feature caches, as on a first run, but the converted weights are shared with real runs
        for shared in ("presets", "weights"):
            (self.cache_dir / shared).mkdir(parents=True, exist_ok=True)
            (self.scratch / "cache").mkdir(exist_ok=True)
            os.symlink((self.cache_dir / shared).resolve(), self.scratch / "cache" / shared)
        import models  # noqa: F401  TensorFlow's import is not the step's cost: pay it before timing

        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _planner_dir(self) -> Path:
        path = self.cache_dir / "planner"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def __call__(self, name: str, spec: dict) -> float:
        from recipebook import training

        settings = dict(spec["settings"])
        if "epochs" in settings:
            settings["epochs"] = 1
        if spec["model"] in ("e5", "e5_finetune", "effnet_lite0"):
            settings["cache_dir"] = str(self.scratch / "cache")
        self._convert_weights_once(spec["model"])
        print(f"probe: {name} (fold 0 of a {SAMPLE_TRAIN}-row sample, 1 epoch) ... ", end="", flush=True)
        started = time.perf_counter()
        # A probe's fold scores (a 400-row sample, one epoch) say nothing about the run: kept unless it fails
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                training.print_table(*training.train_model(
                    spec["model"], name=name, folds="0", n_folds=PROBE_FOLDS, quiet=True, overrides=settings,
                    data_dir=str(self.scratch / "data"), run_dir=str(self.scratch / "run")))
        except BaseException:
            print("failed; what it printed:\n" + printed.getvalue(), flush=True)
            raise
        seconds = time.perf_counter() - started
        print(f"{seconds:.1f} s", flush=True)
        return seconds


    def _convert_weights_once(self, model: str) -> None:
        """The offline weights are converted on a machine's first use, once: not a cost of the step."""
        if model in ("e5", "e5_finetune"):
            from models.text.e5_weights import e5_preset

            e5_preset(self.cache_dir)
        elif model == "effnet_lite0":
            from models.image.backbones.effnet_lite0 import converted_weights

            converted_weights(self.cache_dir)


def probe_specs(steps) -> dict:
    """{probe name: {"model", "settings"}} for planner steps (probe names are cost-table keys)."""
    return {step.cost: {"model": step.model, "settings": step.settings} for step in steps}


# --------------------------------------------------------------------------- the reference probes
def measure_reference(data_dir: str, device: str, path: Path, only: set | None = None) -> dict:
    """Run every candidate's probe here (or those in `only`) and store the seconds as the reference
    probes; the others keep their figures, noted in "kept" with when and on what they were taken."""
    from challenge.cli import load_data
    from folds.store import data_identity
    from planner.costs import CostModel, DataSize, load_reference
    from planner.machine import this_machine
    from planner.plan import CPU_CANDIDATES, GPU_CANDIDATES, candidate_step, recipe_entry

    table = load_reference(path)
    data = load_data(data_dir)
    costs = CostModel(table, DataSize.of(data), device)
    candidates = GPU_CANDIDATES if device == "gpu" else CPU_CANDIDATES
    steps = [candidate_step(costs, c, recipe_entry(c.recipe, c.entry), (c.epoch_options or (None,))[0], {})
             for c in candidates if (costs.size.images or not c.needs_images) and (not only or c.cost in only)]
    load_before = os.getloadavg()[0]
    with TrainProbe(data) as run_probe:
        seconds = {name: run_probe(name, spec) for name, spec in probe_specs(steps).items()}
    machine = this_machine()
    before = table["probe"].get(device, {})
    # A probe this data cannot run (effnet on a text-only folder) keeps its earlier figure, and says so.
    kept = {k: v for k, v in before.get("seconds", {}).items() if k not in seconds}
    taken = f"{before.get('measured')}, load before {before.get('load_before')}, on {before.get('data')}"
    kept_notes = {k: before.get("kept", {}).get(k, taken) for k in kept}  # an older note stays
    # the folder by its name: the table is committed, and the path is this machine's
    table["probe"][device] = {
        "seconds": {**{k: round(v, 1) for k, v in seconds.items()}, **kept},
        **({"kept": kept_notes} if kept else {}), "rows": SAMPLE_TRAIN, "test_rows": SAMPLE_TEST,
        "data": f"{Path(data_dir).name} ({len(data.train)} / {len(data.test)} rows)", "machine": machine.describe(),
        "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    path.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n")
    return table["probe"][device]


def main(argv=None) -> dict:
    from planner.costs import REFERENCE_COSTS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", action="store_true", required=True,
                        help="measure the reference probes on this machine (the reference machine)")
    parser.add_argument("--data-dir", required=True, help="the real-size folder (benchmarks/real_size.py --steps data)")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu", help="which reference to write")
    parser.add_argument("--table", default=str(REFERENCE_COSTS), help="the cost table to update")
    parser.add_argument("--only", default="", help="comma-separated probes to re-measure (default: all); "
                                                   "the others keep their figures")
    args = parser.parse_args(argv)
    only = {name for name in args.only.split(",") if name}
    result = measure_reference(args.data_dir, args.device, Path(args.table), only or None)
    print(json.dumps(result, indent=1))
    if result["load_before"] > 1.5:
        print(f"warning: load average {result['load_before']} before the probes: other jobs shared the cores, so "
              f"these figures are too slow for a reference (run it under ../shared/tools/timed).")
    return result


if __name__ == "__main__":
    main()
