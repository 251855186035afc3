"""A plan for a machine with several GPUs and cores: its folds packed into parallel lanes.

With `--workers` (or a described `--machine gpus=2,cpus=4`) the folds run as Ray tasks
(parallel/): a Keras model's fold on a GPU lane, one lane a GPU; the tfidf folds (and every fold on
a machine without a GPU) on CPU lanes, as many as the cores hold tasks of the size
parallel/resources.py asks for. The folds are dealt in the plan's order, each to the lane that is
free first; the run takes as long as its longest lane, not the sum of its steps. A CPU fold given
fewer cores than the 2-core reference machine that priced it is slowed in proportion; more cores
are not counted as faster.

The steps are chosen by the sequential planner's own rule (planner/plan.py, make_plan) given the
largest budget whose plan, packed into lanes, still ends within the real budget.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from challenge.errors import DataError
from parallel.resources import ClusterSize, fold_resources, gpu_fold_cpus, uses_gpu
from planner.plan import Plan, format_minutes, make_plan

REFERENCE_CORES = 2  # the reference machine whose figures price a fold (planner/reference_costs.json)


@dataclass(frozen=True)
class MachineShape:
    """The resources a parallel run has: this machine's, or a described one's (--machine)."""

    gpus: int
    cpus: int

    def describe(self) -> str:
        return f"{self.gpus} GPU + {self.cpus} CPU cores" if self.gpus else f"{self.cpus} CPU cores"


def parse_machine(text: str) -> MachineShape:
    """'gpus=2,cpus=4' -> MachineShape(2, 4); either part may be left out (0 GPUs, 1 core)."""
    parts = dict(re.findall(r"(gpus|cpus)=(\d+)", text))
    if not parts or re.sub(r"(gpus|cpus)=\d+|,|\s", "", text):
        raise DataError(f"--machine {text!r}: describe it as gpus=N,cpus=N, e.g. --machine gpus=2,cpus=4.")
    shape = MachineShape(gpus=int(parts.get("gpus", 0)), cpus=int(parts.get("cpus", 1)))
    if shape.cpus < 1:
        raise DataError(f"--machine {text!r}: a machine has at least one CPU core.")
    return shape


def lane_machine(args) -> MachineShape | None:
    """The machine a --budget plan packs lanes for: --machine as described, this machine's cores and
    GPUs under --workers or --cluster, None for a sequential run."""
    if getattr(args, "machine", None):
        return parse_machine(args.machine)
    if getattr(args, "workers", None) or getattr(args, "cluster", None):
        from planner.machine import this_machine

        here = this_machine()
        return MachineShape(gpus=len(here.gpus), cpus=here.cores)
    return None


@dataclass
class Lane:
    name: str  # "GPU 1", "CPU 2"
    folds: list[tuple[str, int, float, float]] = field(default_factory=list)  # (step, fold, start s, end s)

    @property
    def end_s(self) -> float:
        return self.folds[-1][3] if self.folds else 0.0


@dataclass
class LanePlan:
    plan: Plan
    machine: MachineShape
    lanes: list[Lane]

    @property
    def longest_lane_s(self) -> float:
        return max((lane.end_s for lane in self.lanes), default=0.0)

    @property
    def total_s(self) -> float:
        """The plan's time on this machine: the probe, the longest lane, the stack and the submission."""
        return self.plan.probe_s + self.longest_lane_s + self.plan.stack.seconds + self.plan.submit.seconds


def pack_lanes(plan: Plan, machine: MachineShape, workers: int | None = None) -> list[Lane]:
    """The plan's folds dealt to the lanes: each to the first free lane of its kind."""
    cluster = ClusterSize(cpus=machine.cpus, gpus=machine.gpus, largest_node_cpus=machine.cpus)
    gpu_lanes = [Lane(f"GPU {i + 1}") for i in range(machine.gpus)]
    feeding = len(gpu_lanes) * gpu_fold_cpus(cluster) if gpu_lanes else 0
    cpu_task = fold_resources("tfidf", cluster, workers, plan.n_folds).num_cpus
    cpu_lanes = [Lane(f"CPU {i + 1}") for i in range(max(1, (machine.cpus - feeding) // cpu_task))]
    for step in plan.steps:
        if not step.folds_left:
            continue
        on_gpu = uses_gpu(step.model, cluster)
        lanes = gpu_lanes if on_gpu else cpu_lanes
        task_cpus = fold_resources(step.model, cluster, workers, plan.n_folds).num_cpus
        slowdown = 1.0 if on_gpu else max(1.0, REFERENCE_CORES / task_cpus)
        per_fold = (step.estimate.seconds - step.estimate.once_seconds) / len(step.folds_left) * slowdown
        once = step.estimate.once_seconds * slowdown
        ready = 0.0  # the other folds wait for the first one's once-per-run part (a cache they read)
        for position, k in enumerate(step.folds_left):
            lane = min(lanes, key=lambda candidate: max(candidate.end_s, ready))
            start = max(lane.end_s, ready)
            lane.folds.append((step.name, k, start, start + per_fold + (once if position == 0 else 0.0)))
            ready = start + once if position == 0 else ready
    return [lane for lane in gpu_lanes + cpu_lanes if lane.folds]


def make_lane_plan(costs, budget_s: float, machine: MachineShape, workers: int | None = None,
                   **plan_options) -> LanePlan:
    """The largest sequential plan (make_plan) whose folds, packed into this machine's lanes, end
    within `budget_s`: a bisection on the budget given to make_plan, from a quarter of the real budget
    (a fold on fewer cores than the reference's is slower) to that budget times the lanes."""

    def packed(sequential_budget: float) -> LanePlan:
        plan = make_plan(costs, sequential_budget, **plan_options)
        plan.budget_s = budget_s
        return LanePlan(plan, machine, pack_lanes(plan, machine, workers))

    best, low, high = None, budget_s / 4, budget_s * max(2, machine.gpus + machine.cpus)
    for _ in range(24):
        middle = (low + high) / 2
        try:
            candidate = packed(middle)
        except DataError:  # too small for the plan's first step: more
            low = middle
            continue
        if candidate.total_s <= budget_s:
            best, low = candidate, middle
        else:
            high = middle
    if best is None:
        make_plan(costs, budget_s, **plan_options)  # its own refusal: the first step's time or memory
        raise DataError(f"A budget of {format_minutes(budget_s)} min is too small on {machine.describe()}: even "
                        f"the plan's first step, its folds side by side, takes longer.")
    return best


def format_lane_plan(plan_table: str, lane_plan: LanePlan) -> str:
    """The plan's table (planner/plan.py, format_plan) and its lanes below it: the table's total, one
    step after another, becomes the lanes' total's last words, and its unused time the lanes' own."""
    unused = f"unused: {format_minutes(lane_plan.plan.budget_s - lane_plan.total_s)} min;"
    kept = [unused + line.split(";", 1)[1] if line.startswith("unused: ") else line
            for line in plan_table.splitlines() if not line.startswith("total: about")]
    return "\n".join([*kept, format_lanes(lane_plan)])


def format_lanes(lane_plan: LanePlan) -> str:
    """Each lane's folds in order, and the time the run takes: its longest lane."""
    plan = lane_plan.plan
    width = max(len(lane.name) for lane in lane_plan.lanes) if lane_plan.lanes else 4
    lines = [f"lanes on {lane_plan.machine.describe()} (folds as Ray tasks, --workers; docs/parallel.md):"]
    for lane in lane_plan.lanes:
        runs = _grouped(lane.folds)
        lines.append(f"  {lane.name:{width}}  {format_minutes(lane.end_s):>6} min  {runs}")
    sequential = plan.total_s
    lines.append(f"total: about {format_minutes(lane_plan.total_s)} of {format_minutes(plan.budget_s)} min: the "
                 f"longest lane {format_minutes(lane_plan.longest_lane_s)} min + stack and submission"
                 f"{' + probe' if plan.probe_s else ''} (one fold after another: {format_minutes(sequential)} min)")
    return "\n".join(lines)


def _grouped(folds: list[tuple[str, int, float, float]]) -> str:
    """'tfidf f0 f2, text_cnn f1' from a lane's folds in order."""
    groups: list[tuple[str, list[int]]] = []
    for name, k, _, _ in folds:
        if groups and groups[-1][0] == name:
            groups[-1][1].append(k)
        else:
            groups.append((name, [k]))
    return ", ".join(f"{name} " + " ".join(f"f{k}" for k in ks) for name, ks in groups)
