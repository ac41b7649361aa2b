"""The GPU figures in one run: benchmarks/gpu/run.sh OUT_DIR [--dry]."""
