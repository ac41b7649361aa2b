"""The one place TensorFlow and n2v are imported: legacy Keras switched on first, their logs kept quiet.

n2v 0.3.3 only works with Keras 2 (tf-keras), which TensorFlow picks only if TF_USE_LEGACY_KERAS=1 is in
the environment before TensorFlow is first imported. Every other module of this service takes `tf` and
the n2v names from here, so the order can never go wrong.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

from shared.errors import JobError

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    raise JobError(
        "TensorFlow was imported before services.n2v without TF_USE_LEGACY_KERAS=1; "
        "n2v needs legacy Keras: import services.n2v modules before anything that imports tensorflow"
    )
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # C++ INFO and WARNING lines; errors still show


_ABSL_PREINIT = "WARNING: All log messages before absl::InitializeLog() is called"
_log = logging.getLogger(__name__)


@contextlib.contextmanager
def _native_stderr_to_log() -> Iterator[None]:
    """Catch what TensorFlow's C++ side writes to file descriptor 2 while it loads, and log it instead.

    TensorFlow 2.21 logs through absl before absl is initialised, so TF_CPP_MIN_LOG_LEVEL no longer
    silences its banners ("oneDNN custom operations are on", twice per process on some CPUs). Those
    INFO lines go to the debug log; anything else it says while loading (a missing CUDA library, say)
    is logged as a warning, so nothing an operator needs is lost.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            said = sink.read().decode(errors="replace")
    for line in filter(str.strip, said.splitlines()):
        banner = line.startswith(_ABSL_PREINIT) or (line[:1] == "I" and line[1:5].isdigit())
        _log.log(logging.DEBUG if banner else logging.WARNING, "tensorflow: %s", line)


with _native_stderr_to_log():
    import absl.logging
    import tensorflow as tf

    absl.logging.set_verbosity(absl.logging.ERROR)
    tf.get_logger().setLevel(logging.ERROR)
    # Keras progress bars (one per predict call) would otherwise flood a worker's log.
    tf.keras.utils.disable_interactive_logging()

    from csbdeep.data import PadAndCropResizer
    from n2v.internals.N2V_DataWrapper import N2V_DataWrapper
    from n2v.models import N2V
    from n2v.models import N2VConfig as BackendConfig
    from n2v.utils import n2v_utils

__all__ = [
    "N2V",
    "BackendConfig",
    "N2V_DataWrapper",
    "PadAndCropResizer",
    "n2v_utils",
    "quiet",
    "tf",
    "versions",
]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Send n2v's and csbdeep's prints and tqdm bars to the debug log instead of the terminal."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield
    finally:
        if buffer.getvalue().strip():
            _log.debug("n2v said: %s", buffer.getvalue().strip())


def versions() -> str:
    """The framework string recorded in a manifest, e.g. 'tensorflow 2.21.0 / n2v 0.3.3'."""
    from n2v.version import __version__ as n2v_version

    return f"tensorflow {tf.__version__} / n2v {n2v_version}"
