"""TensorFlow stays inside the N2V worker."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

_PROBE = """
import importlib, pkgutil, sys
import shared
for info in pkgutil.walk_packages(shared.__path__, "shared."):
    importlib.import_module(info.name)
import services.n2v.tasks
from shared.methods import parse_config
parse_config("n2v", {"n2v2": True})
print(sorted(m for m in ("tensorflow", "n2v", "keras", "tf_keras") if m in sys.modules))
"""


@pytest.mark.slow
def test_importing_shared_and_the_n2v_tasks_never_imports_tensorflow() -> None:
    """A process that imports every shared module, the N2V config and the worker's tasks has no TensorFlow."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_the_n2v_modules_switch_legacy_keras_on_before_tensorflow_and_keep_it_quiet() -> None:
    """Importing the trainer in a fresh process gives n2v the Keras 2 it needs, and logs nothing."""
    probe = (
        "import os, services.n2v.train, tensorflow as tf; "
        "print(os.environ['TF_USE_LEGACY_KERAS'], type(tf.keras.optimizers.Adam()).__module__.split('.')[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "tf_keras"]
    assert done.stderr == ""


def test_native_loading_messages_go_to_the_log_by_severity(caplog: pytest.LogCaptureFixture) -> None:
    """What TensorFlow's C++ side prints while loading: INFO banners to debug, the rest as warnings."""
    from services.n2v.tf_env import _native_stderr_to_log

    caplog.set_level(logging.DEBUG, logger="services.n2v.tf_env")
    with _native_stderr_to_log():
        os.write(2, b"I0000 00:00:1 port.cc:153] oneDNN custom operations are on.\n")
        os.write(2, b"W0000 00:00:1 dso_loader.cc:64] Could not load dynamic library 'libcudart.so.12'\n")
    levels = {record.getMessage().split("] ")[-1]: record.levelno for record in caplog.records}
    assert levels == {
        "oneDNN custom operations are on.": logging.DEBUG,
        "Could not load dynamic library 'libcudart.so.12'": logging.WARNING,
    }
