"""challenge.quiet: TensorFlow's start-up logging is hidden, everything else still reaches stderr.
(tests/test_start_up.py runs a real training command and reads its stderr.)"""
import os

import pytest

from challenge import quiet

# As TensorFlow 2.21 prints them on a machine without a GPU.
STARTUP = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796175109.875284    4911 port.cc:153] oneDNN custom operations are on. You may see "
    "slightly different numerical results due to floating-point round-off errors.\n"
    "I0000 00:00:1796175109.875651    4911 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used.\n"
    "E0000 00:00:1796175122.288641    5059 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)\n"
    "I0000 00:00:1796175116.033384    5059 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to "
    "use available CPU instructions in performance-critical operations.\n"
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with "
    "the appropriate compiler flags.\n"
    "2024-03-01 10:00:00.123456: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] TF-TRT Warning: "
    "Could not find TensorRT\n"
)
OURS = "/venv/lib/python3.11/site-packages/keras/src/saving.py:12: UserWarning: something real\n  warnings.warn(\n"


def test_only_tensorflow_start_up_lines_are_dropped():
    assert quiet.without_startup_lines(STARTUP) == ""
    assert quiet.without_startup_lines(STARTUP + OURS + "error: a message of ours\n") == (
        OURS + "error: a message of ours\n")


def test_the_onednn_bool_line_of_cpus_without_avx512_is_dropped():
    # TensorFlow 2.21 logs it once a process (tensorflow/core/util/util.cc, DataTypeUnsupportedWarning) on
    # a CPU without AVX-512; this machine has AVX-512, so the line is fed through the filter as printed there.
    line = ("E0000 00:00:1796530899.799179   22038 util.cc:137] oneDNN supports DT_BOOL only on platforms with "
            "AVX-512. Falling back to the default Eigen-based implementation if present.\n")
    assert quiet.without_startup_lines(line + "error: a message of ours\n") == "error: a message of ours\n"


def test_descriptor_2_is_hidden_and_the_rest_written_back(capfd):
    with quiet.startup_logging_hidden():
        os.write(2, STARTUP.encode())
        os.write(2, b"a line from C that is not logging\n")
    assert capfd.readouterr().err == "a line from C that is not logging\n"
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_everything_is_written_back_when_the_import_fails(capfd):
    with pytest.raises(ImportError):
        with quiet.startup_logging_hidden():
            os.write(2, STARTUP.encode())
            raise ImportError("libcudnn.so.9: cannot open shared object file")
    assert capfd.readouterr().err == STARTUP


def test_the_first_tensorflow_import_gets_the_quiet_loader(monkeypatch):
    monkeypatch.delenv(quiet.VERBOSE_ENV, raising=False)
    finder = quiet._QuietFirstImport()
    assert finder.find_spec("numpy") is None
    spec = finder.find_spec("tensorflow")  # finds it, imports nothing
    assert isinstance(spec.loader, quiet._QuietLoader)
    assert finder.find_spec("tensorflow") is None  # only the first


@pytest.mark.parametrize("value", ["1", "yes"])
def test_verbose_leaves_tensorflow_alone(monkeypatch, value):
    monkeypatch.setenv(quiet.VERBOSE_ENV, value)
    assert quiet.verbose()
    assert quiet._QuietFirstImport().find_spec("tensorflow") is None


def test_verbose_flag_sets_the_environment(monkeypatch):
    import argparse

    from challenge.cli import add_verbose

    monkeypatch.delenv(quiet.VERBOSE_ENV, raising=False)
    parser = argparse.ArgumentParser()
    add_verbose(parser)
    assert parser.parse_args([]).verbose is False and not quiet.verbose()
    assert parser.parse_args(["--verbose"]).verbose is True and quiet.verbose()


def test_the_retracing_notice_of_a_new_model_per_fold_is_hidden_unless_verbose(monkeypatch, tensorflow_log):
    import logging

    from challenge import quiet

    quiet.install()
    logger = logging.getLogger("tensorflow")
    monkeypatch.delenv(quiet.VERBOSE_ENV, raising=False)
    logger.warning("5 out of the last 9 calls to <function f> triggered tf.function retracing. Tracing ...")
    logger.warning("something else")
    monkeypatch.setenv(quiet.VERBOSE_ENV, "1")
    logger.warning("6 out of the last 11 calls to <function f> triggered tf.function retracing.")
    assert tensorflow_log == ["something else",
                              "6 out of the last 11 calls to <function f> triggered tf.function retracing."]


class _NoOpLoader:
    """Stands for TensorFlow's own loader: tensorflow is imported already, nothing to execute."""

    def exec_module(self, module):
        pass


def start_up_stderr(monkeypatch, capfd, devices: list) -> list[str]:
    """stderr lines of the quiet loader's start-up with `tf.config.list_physical_devices("GPU")`
    returning `devices` (H200 details for each)."""
    import types

    import tensorflow as tf

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: devices if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda device: {"device_name": "NVIDIA H200"})
    module = types.ModuleType("tensorflow")  # the real module keeps its own __spec__
    module.__spec__, module.config = types.SimpleNamespace(loader=None), tf.config
    capfd.readouterr()
    quiet._QuietLoader(_NoOpLoader()).exec_module(module)
    return capfd.readouterr().err.splitlines()


def test_a_gpu_run_names_its_devices_in_one_line(monkeypatch, capfd):
    import tensorflow as tf

    gpus = [tf.config.PhysicalDevice(f"/physical_device:GPU:{k}", "GPU") for k in range(2)]
    assert start_up_stderr(monkeypatch, capfd, gpus) == ["TensorFlow uses 2 GPUs: GPU:0 NVIDIA H200, GPU:1 NVIDIA H200"]
    assert start_up_stderr(monkeypatch, capfd, gpus[:1]) == ["TensorFlow uses 1 GPU: GPU:0 NVIDIA H200"]


def test_a_cpu_run_prints_no_device_line(monkeypatch, capfd):
    assert start_up_stderr(monkeypatch, capfd, []) == []
