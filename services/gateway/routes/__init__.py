"""One router per resource: /denoise, /train, /jobs, /models, /metrics, /health."""
