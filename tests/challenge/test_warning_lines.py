"""challenge.warning_lines: a warning prints as one line of ours, with no file, line number or quoted
source (tests/test_start_up.py reads a real command's stderr)."""
import warnings

import pytest

from challenge.errors import DataWarning
from challenge.warning_lines import one_line


def shown(category, filename: str, message: str = "X_train_update.csv is not UTF-8; read as cp1252.") -> str:
    """What warnings.showwarning writes with our format in place."""
    return one_line(message, category, filename, 66, "    warnings.warn(")


def test_a_warning_of_ours_is_its_message_after_warning_colon():
    assert shown(DataWarning, "/anywhere/challenge/reader.py") == (
        "warning: X_train_update.csv is not UTF-8; read as cp1252.\n")


@pytest.mark.parametrize("filename, package", [
    ("/opt/venv/lib/python3.11/site-packages/keras/src/trainers/trainer.py", "keras"),
    ("/usr/lib/python3/dist-packages/sklearn/utils/validation.py", "sklearn"),
    ("/opt/venv/lib/python3.11/site-packages/six.py", "six"),
    ("/somewhere/else/script.py", "script.py"),
])
def test_a_library_warning_keeps_its_category_and_names_its_package(filename, package):
    line = shown(UserWarning, filename, "something\n   happened")
    assert line == f"warning: something happened (UserWarning from {package})\n"


def test_the_commands_print_warnings_in_one_line():
    import challenge.cli  # noqa: F401  every command imports it first

    assert warnings.formatwarning is one_line
