"""The `sse` command (top layer): argument parsing and one-line error printing; see sse.cli.main."""

from sse.cli.main import main

__all__ = ["main"]
