"""Job records and the model registry, both plain files in the data directory."""
