"""An image feature extraction killed with SIGKILL resumes from its last recorded chunk, and a
progress record that belongs to another extraction is ignored."""
import json
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.image.image_features import cache_key, partial_path, progress_path

CHILD = Path(__file__).with_name("feature_extraction_child.py")
child = runpy.run_path(str(CHILD))
CHUNK, extract = child["CHUNK"], child["extract"]
IMAGES = 120
HALT_AT = 72  # the child hangs here: 4 chunks recorded (64 rows), one batch written past them
FEATURES = 16


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("jpegs")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(IMAGES):
        path = folder / f"image_{i:03d}.jpg"
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(path, quality=90)
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def whole(jpegs, tmp_path_factory) -> np.ndarray:
    """The features of an uninterrupted extraction."""
    table, predicted = extract(jpegs, tmp_path_factory.mktemp("whole"))
    assert predicted == IMAGES
    return np.array(table.rows(jpegs))


def _target(cache_dir: Path, paths) -> Path:
    key = cache_key("tiny", child["SIZE"], sorted(paths), weights=None)
    return cache_dir / "features" / f"{key}.npy"


def _wait_for_rows(progress: Path, rows: int, process: subprocess.Popen, log: Path, timeout: float = 600):
    """Poll the progress record until it shows `rows` done; generous, as the machine may be slow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the extraction ended early:\n{log.read_text()[-3000:]}"
        try:
            if json.loads(progress.read_text())["rows_done"] >= rows:
                return
        except (OSError, ValueError):
            pass  # not written yet
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"no progress record of {rows} rows after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def test_a_killed_extraction_resumes_without_redoing_its_finished_chunks(jpegs, whole, tmp_path):
    cache = tmp_path / "cache"
    listing, log = tmp_path / "paths.json", tmp_path / "child.log"
    listing.write_text(json.dumps(jpegs))
    target = _target(cache, jpegs)
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, str(CHILD), str(listing), str(cache), str(HALT_AT)],
                                   stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    _wait_for_rows(progress_path(target), HALT_AT // CHUNK * CHUNK, process, log)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    done = json.loads(progress_path(target).read_text())["rows_done"]
    assert done == HALT_AT // CHUNK * CHUNK and not target.exists() and partial_path(target).is_file()
    table, predicted = extract(jpegs, cache)
    assert predicted == IMAGES - done  # the finished chunks were not predicted again
    assert json.loads(target.with_suffix(".json").read_text())["resumed_from_row"] == done
    np.testing.assert_allclose(table.rows(jpegs), whole, rtol=1e-6, atol=1e-6)
    assert not progress_path(target).exists() and not partial_path(target).exists()


@pytest.mark.parametrize("record", ["matching", "other shape", "other key", "no partial file"])
def test_a_progress_record_is_used_only_when_it_matches_the_key_and_shape(jpegs, whole, tmp_path, record):
    cache = tmp_path / "cache"
    target = _target(cache, jpegs)
    target.parent.mkdir(parents=True)
    width = FEATURES + 1 if record == "other shape" else FEATURES
    if record != "no partial file":
        partial = np.lib.format.open_memmap(partial_path(target), mode="w+", dtype=np.float32,
                                            shape=(IMAGES, width))
        partial[:] = 7.0  # wrong everywhere...
        partial[:64, :FEATURES] = whole[:64]  # ...but the rows the record vouches for
        partial.flush()
        del partial
    key = "another-extraction" if record == "other key" else target.stem
    progress_path(target).write_text(json.dumps({"key": key, "shape": [IMAGES, width], "rows_done": 64}))

    table, predicted = extract(jpegs, cache)
    assert predicted == (IMAGES - 64 if record == "matching" else IMAGES)
    np.testing.assert_allclose(table.rows(jpegs), whole, rtol=1e-6, atol=1e-6)
    assert not progress_path(target).exists()
