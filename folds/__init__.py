"""Fold assignment and the out-of-fold (OOF) store: the run directory every stage meets at."""
from folds.splits import ensure_folds, make_folds
from folds.store import FoldOutput, ModelStore, RunDir
from folds.scoring import score

__all__ = ["ensure_folds", "make_folds", "FoldOutput", "ModelStore", "RunDir", "score"]
