"""A quiet TensorFlow start-up: the project's own messages are the only ones on the terminal.

`import tensorflow` prints lines like `I0000 ... port.cc:153] oneDNN custom operations are on`,
`Could not find cuda drivers on your machine` and absl's `WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR` from C++, straight to file descriptor 2,
before TF_CPP_MIN_LOG_LEVEL is consulted; a user reads an `E0000` line as an error. So the first
`import tensorflow` of the process (however it comes: keras, keras_hub, keras_tuner...) runs with
descriptor 2 sent to a temporary file, together with the first look at the GPUs; then TensorFlow's
log lines are dropped and anything else (a Python warning, an error message) is written back.
A GPU run says which GPUs TensorFlow sees in one line of ours. Later C++ logging is left to
TF_CPP_MIN_LOG_LEVEL=3 (errors surface as Python exceptions).

`ESHOPPYE_VERBOSE=1` (or a command's --verbose) leaves TensorFlow's start-up and logging as they are.
`install()` runs when challenge.cli is imported, i.e. at the start of every command line.
"""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile

VERBOSE_ENV = "ESHOPPYE_VERBOSE"

# absl/TensorFlow log records ("I0000 00:00:1796175109.875284    4911 port.cc:153] ...", and the older
# "2024-01-01 12:00:00.000000: W tensorflow/...cc:42] ..."), absl's pre-initialisation notice and the
# second line of cpu_feature_guard's message.
STARTUP_LINE = re.compile(
    r"[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] \S+:\d+\]"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .*rebuild TensorFlow"
)


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def set_verbose() -> None:
    """Ask for TensorFlow's own logging; also for the processes this one starts."""
    os.environ[VERBOSE_ENV] = "1"


def without_startup_lines(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not STARTUP_LINE.match(line))


@contextlib.contextmanager
def startup_logging_hidden():
    """File descriptor 2 goes to a temporary file for the block; what is not TensorFlow's start-up
    logging is written back to sys.stderr afterwards (everything, if the block raised)."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 to borrow (closed): nothing to hide from
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        raised = True
        try:
            yield
            raised = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors="replace")
            kept = text if raised else without_startup_lines(text)
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def describe_gpus(tf) -> str | None:
    """One line naming the GPUs TensorFlow will use; None on a CPU-only machine."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    names = []
    for gpu in gpus:
        name = tf.config.experimental.get_device_details(gpu).get("device_name", "")
        names.append(f"{gpu.name.replace('/physical_device:', '')} {name}".strip())
    return f"TensorFlow uses {len(gpus)} GPU{'s' if len(gpus) > 1 else ''}: {', '.join(names)}"


class _QuietLoader(importlib.abc.Loader):
    """Runs tensorflow/__init__.py, and the first look at the GPUs, with start-up logging hidden."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__spec__.loader = module.__loader__ = self.loader  # TensorFlow sees its own loader
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with startup_logging_hidden():
            self.loader.exec_module(module)
            # the first look at the devices initialises CUDA, which logs too (cuInit on a machine
            # without a driver)
            gpus = describe_gpus(module)
        if gpus:
            print(gpus, file=sys.stderr, flush=True)


class _QuietFirstImport(importlib.abc.MetaPathFinder):
    """Wraps the loader of the first `import tensorflow` in _QuietLoader."""

    def __init__(self):
        self.used = False

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or self.used or verbose():
            return None
        self.used = True  # also keeps the search below from coming back here
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _QuietLoader(spec.loader)
        return spec


class _NoRetracingNotice(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls ... triggered tf.function retracing" notice.

    Every fold builds a new Keras model, and with it a new predict function whose first calls trace
    it: a run of several folds in one process trips TensorFlow's frequent-retracing heuristic (it
    counts traces per code location, not per model) although no function is traced twice for the
    same shapes, and the notice's advice does not apply. ESHOPPYE_VERBOSE=1 shows it again."""

    def filter(self, record: logging.LogRecord) -> bool:
        return verbose() or "triggered tf.function retracing" not in record.getMessage()


def install() -> None:
    """Make this process's first `import tensorflow` quiet, unless verbose() when it happens, and
    hide the retracing notice that a new model per fold sets off."""
    tensorflow_logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NoRetracingNotice) for f in tensorflow_logger.filters):
        tensorflow_logger.addFilter(_NoRetracingNotice())
    if "tensorflow" in sys.modules or any(isinstance(f, _QuietFirstImport) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietFirstImport())
