"""The service's own log lines: one per job event, with the job id, the step, the duration and the outcome.

Never a file name (it may carry a patient's) nor an error's text (a DICOM member's name may be quoted in
it): the error's class says what kind of failure it was, GET /jobs/{id} says the rest to its owner.
"""

from __future__ import annotations

import logging

from shared.settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


PROJECT_LOGGERS = ("fetal_denoise", "shared", "services")


def configure_logging(settings: Settings) -> None:
    """Let the project's loggers log at LOG_LEVEL; when nothing handles the root logger (uvicorn and Celery
    set up only their own), give them a stderr handler of their own, once."""
    root_handled = bool(logging.getLogger().handlers)
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(settings.LOG_LEVEL.upper())
        if not root_handled and not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter(FORMAT))
            logger.addHandler(handler)


def job_event(logger: logging.Logger, job_id: str, step: str, outcome: str, seconds: float) -> None:
    """One line for one event of a job: `job <id> <step>: <outcome> after <s>s`."""
    logger.info("job %s %s: %s after %.1fs", job_id, step, outcome, seconds)
