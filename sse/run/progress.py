"""A progress bar for long stages: done/total, cache hits and failures (and, for local models,
the decoding rate in tokens/s), on stderr.

Rich draws it live on a terminal; elsewhere (CI, doit capturing) it prints a
line every 10% so logs stay short.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress


class Progress:
    def __init__(self, label: str, *, total: int, done: int = 0, hits: int = 0) -> None:
        self.label, self.total, self.done, self.hits, self.failures = label, total, done, hits, 0
        self._console = Console(stderr=True)
        self._live = self._console.is_terminal and total > done
        self._rich: RichProgress | None = None
        self._last_pct = -1
        self._t0 = time.perf_counter()
        self.tokens = 0
        self.busy_s = 0.0

    def __enter__(self) -> Progress:
        if self._live:
            self._rich = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[extra]}"),
                TimeElapsedColumn(),
                console=self._console,
                transient=False,
            )
            self._rich.start()
            self._id = self._rich.add_task(
                self.label, total=self.total, completed=self.done, extra=self._extra()
            )
        return self

    @property
    def tokens_per_s(self) -> float | None:
        """Generated tokens over the seconds spent generating them (None until some are reported)."""
        return self.tokens / self.busy_s if self.tokens and self.busy_s > 0 else None

    def _extra(self) -> str:
        rate = self.tokens_per_s
        return f"hits {self.hits} fail {self.failures}" + (f" {rate:.1f} tok/s" if rate is not None else "")

    def advance(self, n: int = 1, *, tokens: int = 0, seconds: float = 0.0) -> None:
        """n more done; `tokens` generated in `seconds` of wall time (a local model's batch) feed the rate."""
        self.done += n
        self.tokens += tokens
        self.busy_s += seconds
        if self._rich is not None:
            self._rich.update(self._id, completed=self.done, extra=self._extra())
        elif self.total:
            pct = int(100 * self.done / self.total) // 10 * 10
            if pct != self._last_pct and self.done > 0:
                self._last_pct = pct
                rate = self.tokens_per_s
                print(
                    f"{self.label}: {self.done}/{self.total} (cache hits {self.hits}, failures {self.failures}"
                    + (f", {rate:.1f} tokens/s)" if rate is not None else ")"),
                    file=sys.stderr,
                    flush=True,
                )

    def fail(self) -> None:
        self.failures += 1

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._rich is not None:
            self._rich.update(self._id, completed=self.done, extra=self._extra())
            self._rich.stop()
