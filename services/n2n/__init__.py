"""Noise2Noise worker core: the reference U-Net in PyTorch, training and inference on 2D slices."""
