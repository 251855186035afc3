"""Shared fixtures, each made once per session: a small generated challenge folder, a run with the
TF-IDF model trained on it, the converted multilingual-e5-small preset and the converted
EfficientNet-Lite0 weights. Session fixtures are shared by every test: never modify them; copy
them first (`data_copy`, `shutil.copytree`).

`make test` runs the tests in two pytest-xdist worker processes; the folders above are built once
for all workers (`built_once`), and each worker's TensorFlow gets its share of the cores."""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def share_cores_between_workers() -> None:
    """Under pytest-xdist, each worker's TensorFlow computes an op on cores / workers threads
    (default: every core, so two workers on two cores would each run two threads and oversubscribe).
    Set before TensorFlow starts; the processes the tests start inherit it."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))


share_cores_between_workers()

from challenge.demo import make_demo  # noqa: E402
from folds.atomic import locked  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# Files whose tests share a fixture too costly to build in each xdist worker: each group of files runs
# in one worker, which builds it once. bilstm_training and image_run are added to by their tests (so
# they cannot be shared between workers); the e5 conversion could be, but the other worker would
# only wait on its lock (15 s) in the meantime.
WORKER_GROUPS = {
    "tests/test_cli.py": "bilstm_training",
    "tests/models/test_no_library_warnings.py": "bilstm_training",
    "tests/models/test_image_models.py": "image_run",
    "tests/models/test_text_pretrained.py": "e5",
    "tests/models/test_gpu_rehearsal.py": "gpu_rehearsal",  # one rehearsal process for its three settings
}
# Under xdist the run ends when the test a worker started last ends: the long tests start first (after
# the groups), the many short ones fill in at the end.
START_FIRST = ("tests/test_gpu_recipe_rehearsal.py", "tests/benchmarks/test_gpu_check.py",
               "tests/models/test_gpu_rehearsal.py", "tests/test_tune.py", "tests/ensemble/test_fusion.py",
               "tests/test_reliability.py",
               "tests/models/test_image_finetune.py", "tests/test_start_up.py",
               "tests/models/test_text_architectures.py", "tests/models/test_models.py")


def pytest_collection_modifyitems(items):
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker sorts alike; a plain run keeps its order
        first = {path: rank for rank, path in enumerate(START_FIRST)}
        items.sort(key=lambda item: first.get(item.nodeid.split("::")[0], len(first)))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup` with the groups above: pytest-xdist 3.8 groups the tests it finds marked
    `xdist_group` by rewriting their node ids, which pytest 9 no longer reads, so its marks group nothing."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return WORKER_GROUPS.get(nodeid.split("::")[0], nodeid)

    return FileGroups(config, log)


def built_once(tmp_path_factory, name: str, build) -> Path:
    """The folder `name` that `build(folder)` fills, built once per test session: under pytest-xdist
    once for all workers (in the temporary folder they share, under a lock), not once per worker."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # each worker's base is a sub-folder of the session's
    folder, complete = root / f"shared-{name}", root / f"shared-{name}.complete"
    with locked(root / f".shared-{name}.lock"):
        if not complete.is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a worker that failed half-way
            folder.mkdir()
            build(folder)
            complete.touch()
    return folder


@pytest.fixture(autouse=True)
def machine_state_dir(tmp_path_factory, monkeypatch) -> Path:
    """Every test's own record of past runs (planner/past_runs.py), never the user's: budget runs in
    tests, and the processes they start, write there."""
    folder = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("ESHOPPYE_STATE_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """300 training and 60 test products over 6 classes, 32x32 images. Never modify it."""
    return built_once(tmp_path_factory, "demo", lambda folder: make_demo(
        folder, n_train=300, n_test=60, n_classes=6, image_size=32, seed=1))


@pytest.fixture
def data_copy(demo_dir, tmp_path) -> Path:
    """A private copy of the demo folder that a test may damage."""
    target = tmp_path / "data"
    shutil.copytree(demo_dir, target)
    return target


@pytest.fixture(scope="session")
def tfidf_run(demo_dir, tmp_path_factory) -> Path:
    """A run directory over `demo_dir` with `train.py --model tfidf` finished on all 5 folds (seed 42,
    the defaults). Never modify it: copy it (shutil.copytree) to add models."""
    import train

    def build(folder):
        train.main(["--model", "tfidf", "--fold", "all", "--data-dir", str(demo_dir), "--run-dir",
                    str(folder / "run"), "--quiet"])

    return built_once(tmp_path_factory, "tfidf_run", build) / "run"


@pytest.fixture(scope="session")
def e5_cache(tmp_path_factory) -> Path:
    """A cache folder (the models' `cache_dir`) holding the real multilingual-e5-small converted to a
    keras-hub preset: one conversion for the whole session (about 15 s). Encoder outputs the tests
    cache in it are keyed by their texts and settings, so sharing it changes no result."""
    from models.text.e5_weights import e5_preset

    return built_once(tmp_path_factory, "e5cache", e5_preset)


@pytest.fixture(scope="session")
def effnet_weights(tmp_path_factory) -> Path:
    """A cache folder holding only the EfficientNet-Lite0 ImageNet weights converted from the torch
    pickle (cache/weights/effnet_lite0.weights.h5), converted once a session. Never write into it."""
    from models.image.backbones.effnet_lite0 import converted_weights

    return built_once(tmp_path_factory, "effnet_weights", converted_weights)


@pytest.fixture
def image_cache(effnet_weights, tmp_path) -> Path:
    """A private cache folder that starts with the converted EfficientNet-Lite0 weights only (no
    image features): pass it as `--set cache_dir=...` to train an effnet_lite0 model."""
    target = tmp_path / "cache"
    shutil.copytree(effnet_weights, target)
    return target


@pytest.fixture(scope="session")
def tiny_e5_preset(e5_cache, tmp_path_factory) -> Path:
    """A local keras-hub preset folder with e5's own tokenizer and a 2-layer, 16-wide BERT with
    random weights: the code paths of the pretrained text models at a fraction of e5's 118M
    parameters (for tests where training every layer, not the weights, is the point)."""
    import keras_hub

    from models.text.encoder_cache import load_tokenizer

    def build(folder):
        tokenizer = load_tokenizer("multilingual_e5_small", e5_cache)
        keras_hub.models.BertBackbone(vocabulary_size=250037, num_layers=2, num_heads=2, hidden_dim=16,
                                      intermediate_dim=32, max_sequence_length=64).save_to_preset(str(folder))
        tokenizer.save_to_preset(str(folder))

    return built_once(tmp_path_factory, "tiny_e5", build)


@contextlib.contextmanager
def tensorflow_log_recorded():
    """The messages (warning and up) that TensorFlow's Python logger, where its retracing warnings go,
    writes during the block."""
    messages = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def tensorflow_log():
    """What TensorFlow's Python logger writes during the test (tensorflow_log_recorded)."""
    with tensorflow_log_recorded() as messages:
        yield messages


@dataclass
class Training:
    run_dir: Path
    user_warnings: list[str]  # the UserWarnings Python issued meanwhile
    tensorflow_log: list[str]  # what TensorFlow's logger wrote meanwhile


@pytest.fixture(scope="session")
def bilstm_training(demo_dir, tfidf_run, tmp_path_factory) -> Training:
    """The session's TF-IDF run (all folds), copied, plus a small BiLSTM trained on all folds by
    `train.main`, with what the libraries said while it trained (tests/models/test_no_library_warnings.py).
    The files that use it run in one xdist worker (WORKER_GROUPS), which trains it once."""
    import train

    run_dir = tmp_path_factory.mktemp("run") / "r"
    shutil.copytree(tfidf_run, run_dir)
    with warnings.catch_warnings(record=True) as caught, tensorflow_log_recorded() as tf_log:
        warnings.simplefilter("always", UserWarning)  # every one, even if it was issued before
        train.main(["--model", "bilstm", "--fold", "all", "--epochs", "2", "--set", "units=16",
                    "--set", "max_tokens=2000", "--data-dir", str(demo_dir), "--run-dir", str(run_dir), "--quiet"])
    return Training(run_dir, [str(w.message) for w in caught if issubclass(w.category, UserWarning)], tf_log)


@pytest.fixture
def trained_run(bilstm_training) -> Path:
    """A run with `tfidf` and `bilstm` on all folds. Shared: never modify what is already in it."""
    return bilstm_training.run_dir


class KillableTrain:
    """`train.py` in processes of their own: killed with SIGKILL in the middle of an epoch (at a point
    tests/killable_train.py stops it at), or run to the end."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}

    def kill_mid_epoch(self, train_args: list[str], fold: int, epoch: int | str, timeout: float = 600) -> None:
        """Kill `train.py TRAIN_ARGS` in epoch `epoch` of fold `fold`, after its first batch (epoch
        "after-fit": at its first prediction, once its fit has returned)."""
        stopped, log = self.folder / "stopped", self.folder / "killed.log"
        command = [sys.executable, str(REPO / "tests" / "killable_train.py"), str(stopped), str(fold), str(epoch),
                   *train_args]
        with open(log, "w") as out:
            job = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        deadline = time.monotonic() + timeout
        while not stopped.is_file() and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
        assert stopped.is_file(), f"train.py did not reach fold {fold} epoch {epoch}:\n{log.read_text()[-3000:]}"

    def run(self, train_args: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "train.py", *train_args], cwd=REPO, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    @staticmethod
    def epochs(history: Path) -> list[int]:
        """The epochs a fold's history.csv lists."""
        lines = history.read_text().strip().splitlines()[1:] if history.is_file() else []
        return [int(line.split(",")[0]) for line in lines if line]


@pytest.fixture
def killable_train(tmp_path) -> KillableTrain:
    """Runs `train.py` in processes of its own, killed mid-epoch or to the end (KillableTrain)."""
    return KillableTrain(tmp_path)
