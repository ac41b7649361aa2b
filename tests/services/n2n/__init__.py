"""Tests of the Noise2Noise worker core (services/n2n)."""
