"""Code every fetal-denoise service uses: volume I/O, intensities, noise, metrics, schemas, settings."""
