"""A fake run over the demo fixture with designed predictions, and its report: shared by the
report's HTML tests (test_report.py) and the test that opens it in a browser (test_in_browser.py)."""
import shutil

import numpy as np
import pandas as pd
import pytest

from challenge import read_challenge
from folds import FoldOutput, RunDir
from reporting import build_report
from reporting.names import DEFAULT_NAMES


def add_model(run, name, probs, folds, y, n_test, histories=False, config=None):
    store = run.model(name)
    store.save_config(config or {"model": name})
    rng = np.random.default_rng(1)
    for k in range(int(folds.max()) + 1):
        rows = folds.to_numpy() == k
        test = rng.dirichlet(np.ones(probs.shape[1]), n_test)
        store.save_fold(k, FoldOutput(probs[rows], test, info={"seconds": 30.0, "epochs_run": 3}), y[rows])
        if histories:
            # Epoch 1 logged twice, as after a resumed fold: the last entry must win.
            pd.DataFrame({"epoch": [0, 1, 1, 2], "loss": [1.5, 9.9, 1.0, 0.8],
                          "weighted_f1": [0.4, 0.0, 0.6, 0.7], "val_loss": [1.6, 9.9, 1.2, 1.1],
                          "val_weighted_f1": [0.35, 0.0, 0.55, 0.6]}).to_csv(
                store.fold_dir(k) / "history.csv", index=False)
            (store.fold_dir(k) / "tensorboard" / "train").mkdir(parents=True)
    store.assemble(folds, y)


@pytest.fixture(scope="module")
def fake_run(demo_dir, tmp_path_factory):
    """A run over the demo fixture (6 classes: 10, 40, 50, 60, 1140, 1160) with two models:
    'careful' is right except that 40% of class 40 goes to 50, and it is sure of its mistake on a
    product whose title holds HTML; 'lazy' predicts the majority class for 90% of rows."""
    root = tmp_path_factory.mktemp("fake")
    data_dir = root / "data"
    shutil.copytree(demo_dir, data_dir)
    x_train = pd.read_csv(data_dir / "X_train_update.csv", index_col=0)
    x_train.iloc[0, x_train.columns.get_loc("designation")] = "Piscine <script>alert(1)</script> & spa"
    x_train.to_csv(data_dir / "X_train_update.csv")
    data = read_challenge(data_dir)
    run = RunDir(root / "run")
    classes, folds = run.prepare(data, n_folds=3)
    y = classes.encode(data.labels)
    n = len(classes)
    rng = np.random.default_rng(0)

    careful = np.eye(n)[y] * 0.7 + 0.3 / n
    of_40 = np.flatnonzero(y == classes.codes.index(40))
    moved = of_40[: int(round(0.4 * len(of_40)))]
    careful[moved] = np.eye(n)[classes.codes.index(50)] * 0.6 + 0.4 / n
    careful[0] = np.eye(n)[(y[0] + 1) % n] * 0.99 + 0.01 / n  # the most confident mistake
    add_model(run, "careful", careful, folds, y, len(data.test), histories=True)

    majority = np.bincount(y).argmax()
    lazy = rng.dirichlet(np.ones(n), len(y)) * 0.2
    lazy[rng.random(len(y)) < 0.9, majority] += 1.0
    add_model(run, "lazy", lazy, folds, y, len(data.test))

    index = build_report(run.root, names_csv=DEFAULT_NAMES)
    return {"run": run, "index": index, "html": index.read_text(), "moved": len(moved),
            "class_40_rows": len(of_40), "majority": classes.codes[majority]}
