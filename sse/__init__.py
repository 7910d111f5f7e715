"""single-shot-eval: can a small local model replace a frontier model on one job? Measured, not claimed."""

__version__ = "0.1.0"
