"""Child process of the HumanEval importer: runs dataset code, never the parent.

Why a separate, stdlib-only file: the canonical solutions and `check` bodies are
executed, so they run in a subprocess (per-item time limit, their prints kept off
the result channel), started by path so it needs neither `sse` nor its
dependencies on the child's import path.

Protocol: one JSON object on stdin {"op": "record" | "run", "timeout": s, "items": [...]},
one JSON list on stdout (one result per item, same order).

- record: item {prompt, canonical, test, entry_point, seed}. Executes prompt +
  canonical solution, then the test module, then `check(candidate)` where
  `candidate` calls the canonical solution and records every call:
  (repr of each argument taken before the call, repr of the result).
- run: item {source, entry_point, args: [text, ...]}. Calls the entry point on
  each `args` text (Python literals as written inside f(...)) and returns the repr
  of each result (or the exception).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import json
import random
import signal
import sys
import traceback
from typing import Any


class _Timeout(Exception):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise _Timeout()


def _record(item: dict[str, Any]) -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "humaneval_problem"}
    exec(compile(item["prompt"] + item["canonical"], "<solution>", "exec"), ns)
    entry = ns[item["entry_point"]]
    calls: list[dict[str, Any]] = []

    def candidate(*args: Any, **kwargs: Any) -> Any:
        before = copy.deepcopy(args)
        if kwargs:
            raise TypeError("keyword arguments in check() are not translated")
        result = entry(*args)
        calls.append({"args": [repr(a) for a in before], "result": repr(result),
                      "result_type": type(result).__name__})
        return result

    random.seed(item.get("seed", 0))
    exec(compile(item["test"], "<test>", "exec"), ns)
    ns["check"](candidate)
    return {"ok": True, "calls": calls}


def _run(item: dict[str, Any]) -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "humaneval_problem"}
    exec(compile(item["source"], "<source>", "exec"), ns)
    entry = ns[item["entry_point"]]
    out: list[dict[str, Any]] = []
    for text in item["args"]:
        args = ast.literal_eval(f"({text},)") if text.strip() else ()
        try:
            out.append({"result": repr(entry(*args))})
        except _Timeout:
            raise
        except Exception as e:  # the caller decides whether a raise is a finding
            out.append({"raises": type(e).__name__, "message": str(e)[:200]})
    return {"ok": True, "results": out}


def main() -> int:
    request = json.load(sys.stdin)
    op = {"record": _record, "run": _run}[request["op"]]
    timeout = float(request.get("timeout", 30))
    signal.signal(signal.SIGALRM, _alarm)
    real_stdout = sys.stdout
    results: list[dict[str, Any]] = []
    sys.setrecursionlimit(10_000)
    for item in request["items"]:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                results.append(op(item))
        except _Timeout:
            results.append({"ok": False, "error": f"timed out after {timeout:g}s"})
        except BaseException as e:  # noqa: BLE001 - dataset code may raise anything
            tb = traceback.extract_tb(e.__traceback__)
            where = f" (line {tb[-1].lineno} of {tb[-1].filename})" if tb else ""
            results.append({"ok": False, "error": f"{type(e).__name__}: {str(e)[:200]}{where}"})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    json.dump(results, real_stdout)
    real_stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
