"""`python recipes.py --budget 3h`: measure (or recall) this machine's speed, plan, print, run."""
from __future__ import annotations

import json
import time
from pathlib import Path

from planner.costs import CostModel, DataSize, load_reference
from planner.lanes import LanePlan, format_lane_plan, lane_machine, make_lane_plan, pack_lanes
from planner.machine import this_machine
from planner.past_runs import PastRuns, measured_steps
from planner.plan import (CPU_CANDIDATES, GPU_CANDIDATES, STACK_METHOD, Plan, candidate_step, format_minutes,
                          format_plan, make_plan, parse_budget, recipe_entry)
from planner.resume import time_already_spent
from planner.upgrades import load_upgrades

PROBE_WORTH = 3.0  # probe a step only if it could fit were this machine 3x faster than the reference


def finished_folds(run_dir: str | Path) -> dict[str, list[int]]:
    """Stored model name -> folds with a done.json in the run directory."""
    done = {}
    for marker in sorted(Path(run_dir).glob("*/fold*/done.json")):
        done.setdefault(marker.parent.parent.name, []).append(int(marker.parent.name[len("fold"):]))
    return done


def run_fold_count(run_dir: str | Path, requested: int | None) -> int:
    """The run's own number of folds when it has a folds.csv (train.py keeps it), else --n-folds or 5."""
    from folds.splits import DEFAULT_FOLDS, read_folds

    path = Path(run_dir) / "folds.csv"
    return int(read_folds(path).nunique()) if path.is_file() else requested or DEFAULT_FOLDS


def build_plan(args, cache_dir: str = "cache") -> tuple[Plan, str]:
    """The plan for args.budget on this machine and data, and the header of its table."""
    from challenge.cli import load_data
    from folds.store import data_identity
    from planner.probe import ProbeCache, data_fingerprint, measured_probes, probe_ratios, probe_specs

    budget_s = parse_budget(args.budget)
    data = load_data(args.data_dir)
    size = DataSize.of(data, run_fold_count(args.run_dir, args.n_folds))
    machine = this_machine()
    lanes_for = lane_machine(args)  # None: one fold after another
    described = bool(getattr(args, "machine", None))  # --machine: planned on paper for another machine
    device = machine.device if args.device == "auto" else args.device
    if described and args.device == "auto":
        device = "gpu" if lanes_for.gpus else "cpu"
    table = load_reference()
    costs = CostModel(table, size, device)
    done = finished_folds(args.run_dir)
    candidates = GPU_CANDIDATES if device == "gpu" else CPU_CANDIDATES
    identity = data_identity(data)
    data_key = data_fingerprint(identity)  # probes and past runs are per machine and data
    versions = costs.figures_versions()

    probe_note, probe_s = "not probed (--no-probe): the reference machine's figures", 0.0
    if described:
        probe_note = "not probed (--machine describes another machine): the reference machine's figures"
    elif not args.no_probe:
        # a step this machine ran on this data before is planned from that run, which says more than a probe
        costs.past_factors = PastRuns().factors(machine.key, data_key, versions)
        costs.past_split = PastRuns().split_factors(machine.key, data_key, versions)
        worth = []
        for c in candidates:
            if (c.needs_images and not size.images) or c.cost in costs.past_factors:
                continue
            cheapest = candidate_step(costs, c, recipe_entry(c.recipe, c.entry), c.offered_epochs(size.fold_train_rows, set())[-1], done)
            if cheapest.folds_left and cheapest.estimate.seconds / PROBE_WORTH <= budget_s:
                worth.append(cheapest)
        cache = ProbeCache()
        with _LazyProbe(data, cache_dir) as run_probe:
            seconds, probe_s = measured_probes(table, device, probe_specs(worth), cache, machine.key,
                                               data_key, run_probe,
                                               about={"machine": machine.to_json(), "data": identity})
        costs.probe_ratios = probe_ratios(table, device, seconds)
        ratios = ", ".join(f"{k} x{v:.2f}" for k, v in sorted(costs.probe_ratios.items()))
        past = ", ".join(f"{k} x{v:.2f}" + (" (its epochs x{:.2f}, the rest x{:.2f})".format(*costs.past_split[k])
                                            if k in costs.past_split else "")
                         for k, v in sorted(costs.past_factors.items()))
        probe_note = (f"probed {'now' if probe_s else 'earlier (cached)'}, this machine's time / the reference's: "
                      f"{ratios}" if ratios else "not probed: the cost table has no reference probe to compare "
                      "with yet (python -m planner.probe --reference); the reference machine's figures")
        if past:
            probe_note = (f"{probe_note if ratios else 'not probed'}; from earlier runs on this machine and data "
                          f"(planner/past_runs.py), this machine's time / the reference's: {past}")
    options = dict(candidates=candidates, done_folds=done, memory_gb=0.0 if described else machine.memory_gb,
                   probe_s=probe_s, upgrades=load_upgrades())
    spent_s = 0.0 if described else time_already_spent(args.run_dir, args.budget)
    if lanes_for is None:
        plan = make_plan(costs, budget_s, spent_s=spent_s, **options)
    else:
        from parallel.options import parse_workers

        plan = make_lane_plan(costs, budget_s - spent_s, lanes_for, parse_workers(args.workers), **options).plan
        plan.budget_s, plan.spent_s = budget_s, spent_s  # packed into what was left; reported against the whole
    images = f"{size.images:,} images" if size.images else "no images"
    gpu_note = ""
    if device == "gpu":
        gpu_note = ("\nGPU: the challenge_gpu recipe's models and settings; its figures are estimates until a GPU "
                    "is measured (planner/reference_costs.json, 'gpu')")
        if not machine.gpus and not described:
            gpu_note += "; this machine shows no GPU (--device gpu)"
    where = f"a described machine ({lanes_for.describe()})" if described else machine.describe()
    header = (f"plan for --budget {args.budget} ({format_minutes(budget_s)} min) on {where}, "
              f"planned for the {device.upper()}\ndata: {size.train_rows:,} training / {size.test_rows:,} test rows, "
              f"{images}, {size.n_folds} folds; figures {probe_note}{gpu_note}")
    if spent_s:
        header += (f"\nresumed: an earlier start of this run stopped after {format_minutes(spent_s)} min of the budget "
                   f"(its plan.json to its last file written); they count against the {format_minutes(budget_s)}")
    plan.data_key, plan.figure_versions = data_key, versions
    return plan, header


def fold_trainer(args):
    """train_fold(step, k) for the runner. A budget run is quiet by default: one line a fold (its
    score) and a table of fold scores when the step ends (print_step_table); --verbose adds
    per-epoch lines, progress bars and train.py's own table after every fold."""
    from recipebook import training
    from recipebook.steps import common_train_args

    common = common_train_args(args)
    per_epoch = args.verbose and not args.quiet

    def train_fold(step, k: int) -> None:
        trained = training.train_model(step.model, name=step.name, folds=str(k), overrides=step.settings,
                                       quiet=not per_epoch, **{**common, "seed": common["seed"] + step.seed_offset})
        if args.verbose:
            training.print_table(*trained)

    return train_fold


def print_step_table(run_dir: str | Path, name: str) -> None:
    """The fold scores of every finished fold of a step, and its out-of-fold scores once complete."""
    from folds.store import RunDir
    from recipebook.training import print_table

    run = RunDir(run_dir)
    store = run.model(name)
    finished = [k for k in range(run.folds().nunique()) if store.fold_done(k)]
    print_table(name, [store.fold_summary(k) for k in finished], store.metrics() if store.is_assembled() else None)


class _LazyProbe:
    """TrainProbe, started (sample written, TensorFlow imported) only when a probe must run."""

    def __init__(self, data, cache_dir):
        self.data, self.cache_dir, self.probe = data, cache_dir, None

    def __enter__(self):
        return self

    def __call__(self, name: str, spec: dict) -> float:
        from planner.probe import TrainProbe

        if self.probe is None:
            self.probe = TrainProbe(self.data, self.cache_dir).__enter__()
        return self.probe(name, spec)

    def __exit__(self, *exc):
        if self.probe is not None:
            self.probe.__exit__(*exc)


def run_budget(args, cache_dir: str = "cache") -> dict:
    """Plan, print, and (unless --plan-only) run; the run ends with the named recipes' own last step
    (recipebook.steps.stack_and_submit), so a budget run submits by the same rule."""
    plan, header = build_plan(args, cache_dir)
    lanes_for = lane_machine(args)
    if lanes_for is None:
        print(format_plan(plan, header), flush=True)
    else:
        from parallel.options import parse_workers

        lanes = LanePlan(plan, lanes_for, pack_lanes(plan, lanes_for, parse_workers(args.workers)))
        print(format_lane_plan(format_plan(plan, header), lanes), flush=True)
    record = {"budget": args.budget, "budget_s": plan.budget_s, "device": plan.device,
              "steps": [{"name": s.name, "model": s.model, "settings": s.settings, "estimate_s": s.estimate.seconds,
                         "basis": s.estimate.basis, "folds_left": s.folds_left, "seed_offset": s.seed_offset}
                        for s in plan.steps],
              "upgrades": [{"name": u.name, "extra_s": extra, "gain": u.gain} for u, extra in plan.upgrades.taken],
              "upgrade_ties": [{"name": u.name, "extra_s": extra, "gain": plan.upgrades.gains.get(u.name)}
                               for u, extra in plan.upgrades.ties],
              "upgrades_not_fitted": [u.name for u, _ in plan.upgrades.did_not_fit],
              "stack_s": plan.stack.seconds, "submit_s": plan.submit.seconds, "left_out": plan.left_out,
              "probe_s": plan.probe_s, "spent_before_s": plan.spent_s}
    if lanes_for is not None:
        record["lanes"] = {"machine": lanes_for.describe(), "longest_lane_s": lanes.longest_lane_s,
                           "total_s": lanes.total_s}
    if args.plan_only:
        return record
    if getattr(args, "machine", None):
        from challenge.errors import DataError

        raise DataError("--machine describes another machine: plan for it with --plan-only; to run here, "
                        "drop --machine (--workers plans for this machine's own cores and GPUs).")
    from folds.atomic import save_json
    from planner.run import run_plan
    from recipebook.steps import stack_and_submit

    def is_complete(step) -> bool:
        return (Path(args.run_dir) / step.name / "metrics.json").is_file()

    Path(args.run_dir).mkdir(parents=True, exist_ok=True)
    record.update(started=time.strftime("%Y-%m-%d %H:%M:%S"), started_s=time.time())
    save_json(Path(args.run_dir) / "plan.json", record)

    def finish(names: list[str]):
        return stack_and_submit(args.run_dir, STACK_METHOD, names)

    if lanes_for is not None:
        from planner.run_on_ray import run_plan_on_ray

        summary = run_plan_on_ray(plan, args, is_complete, finish)
    else:
        summary = run_plan(plan, fold_trainer(args), is_complete, finish,
                           step_finished=lambda step: print_step_table(args.run_dir, step.name))
        if any(s.estimate.basis.endswith((" x probe", " x past run")) for s in plan.steps):  # probed: it learns
            PastRuns().record(this_machine().key, plan.data_key, measured_steps(plan, summary.results, args.run_dir),
                              about={"data_dir": str(args.data_dir)}, versions=plan.figure_versions)
    print(summary.format())
    record["outcome"] = [vars(r) for r in summary.results]
    record.update(stacked=summary.stacked, submission=str(summary.submission), elapsed_s=summary.elapsed_s)
    save_json(Path(args.run_dir) / "plan.json", json.loads(json.dumps(record, default=str)))
    return record
