"""Measurement outside the runtime: evaluation, benchmarks, calibration and model training."""
