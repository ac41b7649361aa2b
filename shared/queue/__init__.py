"""The job queue: Celery app, queue and task names, and the payloads that travel on it."""
