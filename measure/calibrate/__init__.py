"""Thresholds and weights fitted on data the project did not write."""
