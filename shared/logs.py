"""The service's own log lines: one per job event, with the job id, the step, the duration and the outcome.

Never a file name (it may carry a patient's) nor an error's text (a DICOM member's name may be quoted in
it): the error's class says what kind of failure it was, GET /jobs/{id} says the rest to its owner.
"""

from __future__ import annotations

import logging

from shared.errors import InputError
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


class InputErrorsWithoutText(logging.Filter):
    """On Celery's task log (`celery.app.trace`): a task that failed on its input is logged by the error's
    class alone, without its text or traceback. Such a text may quote a name from inside an upload (a DICOM
    zip's member names); the job's owner reads it in GET /jobs/{id}. Other failures keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, InputError) and isinstance(record.args, dict) and "exc" in record.args:
            record.args = {**record.args, "exc": f"{type(error).__name__} (its message: GET /jobs/<id>)"}
            record.exc_info = None
            record.exc_text = None
        return True


def configure_worker_logging(settings: Settings) -> None:
    """The project's log lines, and Celery's task failures on input without their text (see above)."""
    configure_logging(settings)
    trace = logging.getLogger("celery.app.trace")
    if not any(isinstance(f, InputErrorsWithoutText) for f in trace.filters):
        trace.addFilter(InputErrorsWithoutText())


def job_event(logger: logging.Logger, job_id: str, step: str, outcome: str, seconds: float) -> None:
    """One line for one event of a job: `job <id> <step>: <outcome> after <s>s`."""
    logger.info("job %s %s: %s after %.1fs", job_id, step, outcome, seconds)
