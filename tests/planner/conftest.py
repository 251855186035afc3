"""A synthetic cost table with round numbers: every figure is fixed seconds a fold (or a fold and an
epoch), so the tests can do the planner's arithmetic by hand."""
from __future__ import annotations

import pytest

from planner.costs import CostModel, DataSize


def per_fold(seconds: float, per: str = "fold") -> dict:
    return {"parts": {"work": {"seconds": seconds, "per": per, "scale": "fixed", "measured": True, "source": "test"}},
            "peak_gb": {"value": 1.0, "rows": 1}, "probe": None}


def synthetic_table() -> dict:
    cpu = {
        "tfidf": per_fold(60),  # 5 folds: 5 min
        "text_cnn": per_fold(60, "fold_epoch"),  # 5 min an epoch
        "e5": per_fold(120),  # 10 min
        "effnet_lite0_128": per_fold(60),  # 5 min
        "e5_finetune": per_fold(300, "fold_epoch"),  # 4 epochs: 100 min
        "stack_lgbm": {"parts": {"model": {"seconds": 30, "per": "model", "scale": "fixed", "measured": False,
                                           "source": "test"}}, "probe": None},  # 0.5 min a model
        "submit": {"parts": {"write": {"seconds": 30, "per": "step", "scale": "fixed", "measured": True,
                                       "source": "test"}}, "probe": None},  # 0.5 min
    }
    cpu["tfidf"]["probe"] = "tfidf"
    gpu = {"text_cnn": per_fold(6, "fold_epoch"), "e5": per_fold(12), "effnet_lite0_224": per_fold(12),
           "e5_full": per_fold(60, "fold_epoch")}
    for entry in gpu.values():
        entry["parts"]["work"]["measured"] = False
    return {"runner": {}, "cpu": cpu, "gpu": gpu, "probe": {"cpu": {"seconds": {"tfidf": 10.0}}, "gpu": {}}}


@pytest.fixture
def table() -> dict:
    return synthetic_table()


@pytest.fixture
def costs(table) -> CostModel:
    # 80,000 training rows a fold: every epoch count is offered (planner/plan.py: min_row_passes)
    return CostModel(table, DataSize(train_rows=100_000, test_rows=200, images=1200))
