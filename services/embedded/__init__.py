"""The whole service on one machine without Docker: the gateway and every worker as local processes."""
