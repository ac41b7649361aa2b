"""FastAPI gateway: accepts uploads, validates them, queues jobs by task name, serves results and models.

It imports no torch and no tensorflow (tests/services/gateway/test_imports.py proves it).
"""
