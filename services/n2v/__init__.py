"""The N2V worker: Noise2Void with the n2v package on TensorFlow (config, train, predict, fit)."""
