"""The fetal-denoise services: gateway, N2N and N2V workers, metrics worker."""
