"""single-shot-eval: can a small local model replace a frontier model on one job? Measured, not claimed."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sse")  # one source: pyproject.toml's [project] version, as installed
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
