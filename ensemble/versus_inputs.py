"""Does a stack beat what it combines? A stack scoring below its best input on its own
cross-validation is a trap (a user submits it because it is "the ensemble"), so every stack is
judged, after its cross-fit, against two kinds of candidates scored on the same OOF rows:

- each input model (or stack) as it is;
- the plain calibrated log-loss blend of the inputs, cross-fitted on the same folds (the cheapest
  combiner: a learnt stack that cannot beat it is learning noise).

A candidate with a higher OOF weighted F1 counts against the stack only when the difference is more
than noise: the paired-bootstrap 95% interval of (stack minus candidate), on the same OOF rows, lies
wholly below 0. Otherwise the two are tied within noise, which is said but is no warning: on the
test rows such a stack is as likely to be the better one.

The verdict, with the paired-bootstrap gain over the best input, goes into the stack's
metrics.json (`versus_inputs`). With fallback, a stack that loses beyond noise has its outputs
(folds, oof.npy, test.npy) replaced by the best such candidate's, and metrics.json records that it
was done and what the stack itself scored.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ensemble.bootstrap import PairedGain, paired_gain
from ensemble.cross_fit import fold_predictions
from ensemble.inputs import StackInputs, probability_features
from folds.atomic import save_json
from folds.scoring import score
from folds.store import FoldOutput, ModelStore, RunDir

CALIBRATED_BLEND = "calibrated blend"


class Candidate(NamedTuple):
    name: str
    oof: np.ndarray
    weighted_f1: float
    fold_outputs: Callable[[], list]  # -> [(validation probabilities, test probabilities)] per fold


def best_input(run: RunDir, names: list[str]) -> tuple[str, float]:
    """The input with the best OOF weighted F1 (first listed on a tie)."""
    scores = {name: run.model(name).metrics()["oof"]["weighted_f1"] for name in names}
    name = max(scores, key=scores.get)
    return name, scores[name]


def input_candidates(run: RunDir, inputs: StackInputs, y: np.ndarray, n_folds: int) -> list[Candidate]:
    def outputs(store: ModelStore):
        return lambda: [(store.load_fold(k), store.load_fold(k, "test_probs")) for k in range(n_folds)]

    return [Candidate(name, oof, score(y, oof)["weighted_f1"], outputs(run.model(name)))
            for name, oof in zip(inputs.names, inputs.oof)]


def blend_candidate(run: RunDir, inputs: StackInputs, y: np.ndarray, seed: int) -> Candidate:
    """The calibrated log-loss blend of the inputs, cross-fitted on the run's folds (in memory)."""
    from ensemble.blend import blend_fit_predict_factory

    fold_of_row = run.folds().to_numpy()
    x_oof, x_test = probability_features(inputs.oof), probability_features(inputs.test)
    oof = np.zeros_like(inputs.oof[0])
    outputs = []
    for _, rows, result in fold_predictions(fold_of_row, y, oof.shape[1], x_oof, x_test,
                                            blend_fit_predict_factory(len(inputs.names)), seed):
        oof[rows] = result.predictions[0]
        outputs.append(tuple(result.predictions))
    return Candidate(CALIBRATED_BLEND, oof, score(y, oof)["weighted_f1"], lambda: outputs)


def described(candidate: Candidate) -> str:
    return f"the {candidate.name}" if candidate.name == CALIBRATED_BLEND else f"its input {candidate.name}"


def _versus(pairs: list[tuple[Candidate, PairedGain]]) -> str:
    return " and ".join(f"{described(c)} ({c.weighted_f1:.4f}; stack minus it {g.text()})" for c, g in pairs)


def verdict_text(stack_f1: float, beaten_by: list[tuple[Candidate, PairedGain]],
                 tied: list[tuple[Candidate, PairedGain]] = ()) -> str:
    """BELOW the candidates that beat the stack beyond noise, tied with those ahead within it."""
    if beaten_by:
        ties = f"; tied with {_versus(tied)} within noise" if tied else ""
        return f"BELOW {_versus(beaten_by)}: {stack_f1:.4f} OOF weighted F1{ties}"
    if tied:
        return f"tied with {_versus(tied)} within noise: {stack_f1:.4f} OOF weighted F1"
    return "at least as good as every input and the calibrated blend"


def submitted_because(stack: str, record: dict) -> str:
    """Whose predictions a submission of `stack` holds, and why, after judge_stack(fallback=True)."""
    if "fallback" in record:
        to = record["fallback"]["to"]
        whose = f"the {to}'s" if to == CALIBRATED_BLEND else f"{to}'s"
        return f"{whose} predictions (--fallback best), since {stack} itself was {record['fallback']['stack_verdict']}"
    return f"{stack}'s own predictions, {record['verdict']}"


def judge_stack(run: RunDir, stack: str, inputs: StackInputs, seed: int = 42, fallback: bool = False) -> dict:
    """Compare the assembled stack `stack` with its candidates, record the verdict (and the
    fallback, if asked for and needed) in its metrics.json and return that record."""
    y, folds = run.train_labels(), run.folds()
    store = run.model(stack)
    n_folds = int(folds.max()) + 1
    candidates = input_candidates(run, inputs, y, n_folds) + [blend_candidate(run, inputs, y, seed)]
    stack_f1, stack_oof = store.metrics()["oof"]["weighted_f1"], store.oof()
    ahead = sorted((c for c in candidates if c.weighted_f1 > stack_f1), key=lambda c: -c.weighted_f1)
    versus = [(c, paired_gain(y, stack_oof, c.oof)) for c in ahead]
    beaten_by = [(c, g) for c, g in versus if g.significant_loss]
    tied = [(c, g) for c, g in versus if not g.significant_loss]
    best = max(candidates[:-1], key=lambda c: c.weighted_f1)
    record = {
        "best_input": best.name, "best_input_weighted_f1": round(best.weighted_f1, 4),
        "calibrated_blend_weighted_f1": round(candidates[-1].weighted_f1, 4),
        "below": [c.name for c, _ in beaten_by], "tied": [c.name for c, _ in tied],
        "versus_ahead": {c.name: g.as_dict() for c, g in versus},
        "verdict": verdict_text(stack_f1, beaten_by, tied),
    }
    if fallback and beaten_by:
        replacement = beaten_by[0][0]
        fold_of_row = folds.to_numpy()
        for k, (val, test) in enumerate(replacement.fold_outputs()):
            store.save_fold(k, FoldOutput(val, test, info={"fallback_to": replacement.name}), y[fold_of_row == k])
        store.assemble(folds, y)
        record["fallback"] = {"to": replacement.name, "stack_weighted_f1": round(stack_f1, 4),
                              "stack_verdict": record["verdict"]}
        record["verdict"] = (f"replaced by {described(replacement)}'s predictions (--fallback best): the stack "
                             f"itself was {record['verdict']}")
    record["gain_over_best_input"] = paired_gain(y, store.oof(), best.oof).as_dict()  # after any fallback
    with run.lock:
        save_json(store.dir / "metrics.json", {**store.metrics(), "versus_inputs": record})
    return record
