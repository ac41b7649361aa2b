"""Quality and speed benchmarks whose output the README quotes."""
