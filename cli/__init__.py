"""The `fetal-denoise` command line: the same core functions as the services, in-process."""
