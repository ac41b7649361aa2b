"""What docker/gpu-image-check.sh checks inside one GPU image, with no GPU: prints one JSON line, exits 1 on a fault.

    python inside.py worker-n2n    (in the image: its venv, its numpy, its CUDA wheels)

worker-n2n: torch is a CUDA build, and its CUDA runtime and cuDNN libraries load (cuDNN reports its version).
worker-n2v: TensorFlow is built with CUDA and imports with n2v and csbdeep under the pinned numpy (< 2).
gateway and worker-metrics: no torch and no TensorFlow in the image (the gateway never imports them).
Standard library only, plus what the image holds.
"""

from __future__ import annotations

import importlib.util
import json
import sys


def n2n() -> dict[str, object]:
    import torch

    cuda = torch.version.cuda
    cudnn = torch.backends.cudnn.version()  # loads libcudnn: None when it cannot
    return {
        "torch": torch.__version__,
        "cuda": cuda,
        "cudnn": cudnn,
        "cuda_available": torch.cuda.is_available(),
        "ok": cuda is not None and cudnn is not None and torch.backends.cudnn.is_available(),
    }


def n2v() -> dict[str, object]:
    import csbdeep
    import n2v as n2v_package
    import numpy
    import tensorflow as tf
    from n2v.models import N2V, N2VConfig  # noqa: F401 (the import is the check)

    build = tf.sysconfig.get_build_info()
    built_with_cuda = bool(tf.test.is_built_with_cuda())
    return {
        "tensorflow": tf.__version__,
        "built_with_cuda": built_with_cuda,
        "cuda": build.get("cuda_version"),
        "cudnn": build.get("cudnn_version"),
        "gpus": len(tf.config.list_physical_devices("GPU")),
        "n2v": n2v_package.__version__,
        "csbdeep": csbdeep.__version__,
        "numpy": numpy.__version__,
        "ok": built_with_cuda and int(numpy.__version__.split(".")[0]) < 2,
    }


def cpu_only() -> dict[str, object]:
    present = [name for name in ("torch", "tensorflow") if importlib.util.find_spec(name) is not None]
    return {"frameworks": present, "ok": not present}


CHECKS = {"worker-n2n": n2n, "worker-n2v": n2v, "gateway": cpu_only, "worker-metrics": cpu_only}


def main() -> int:
    target = sys.argv[1]
    found = {"target": target, **CHECKS[target]()}
    print(json.dumps(found), flush=True)
    return 0 if found["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
