"""Metrics worker: PSNR, RMSE and SSIM of a job's result against its ground truth."""
