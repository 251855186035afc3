"""`tune.py` as a Keras Tuner chief that notices its workers have left within half a second:

    python tests/prompt_chief_tune.py TUNE_ARGS...

Keras Tuner's chief (keras_tuner/src/distribute/oracle_chief.py) checks every 20 s whether the
workers are gone once the search is over. That is right for a cluster and 20 idle seconds for a test;
this runs the same chief, its poll shortened, so the distributed test stays real and quick.
"""
from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from keras_tuner.src.distribute import oracle_chief

    oracle_chief.time = SimpleNamespace(sleep=lambda seconds: time.sleep(min(seconds, 0.5)))
    sys.argv = [str(ROOT / "tune.py"), *sys.argv[1:]]
    runpy.run_path(sys.argv[0], run_name="__main__")
