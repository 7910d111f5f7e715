"""Child process that runs corpus code (confirmation, HumanEval import), inside the sandbox.

Why a separate, stdlib-only file: corpus and dataset code is untrusted, so it runs in
`sse.core.sandbox.run_sandboxed` (throw-away uid, no network, read-only host, limits),
started by path with an interpreter the sandbox user can run; it needs neither `sse`
nor its dependencies.

Protocol: argv `worker.py EVENTS`; stdin one JSON object {"op", "timeout", "items"}.
Results never share a stream with the code under test: they are appended as JSON
lines to the file EVENTS, opened before any corpus code runs, while fd 1 is
/dev/null (a print or a write to fd 1 is harmless). Events:
  {"start": i}            item i begins
  {"call": i, "n": j}     call j of item i begins (op confirm)
  {"done": i, "result": R}
  {"forked": i, "n": j}   item i (call j) forked; the child wrote this and exited at once
  {"end": true}           every item done
so when the interpreter dies (os._exit, a crash, a limit) or hangs in C code (a
watchdog thread ends it), the parent knows which item, and which call, did it.

Ops (one result R per item):
- confirm: item {python, entry_point, tests: [args text]}: runs the module, then the
  entry point on each args text, each call under `timeout` -> {"tests": [outcome]} with
  outcome {"value": repr} | {"raises", "mro", "message"} | {"timeout"} | {"not_literal"},
  or {"error": "module failed: ..."}.
- record: item {prompt, canonical, test, entry_point, seed}: prompt + canonical solution,
  the test module, then `check(candidate)` where `candidate` records every call
  (repr of each argument taken before the call, repr of the result).
- run: item {source, entry_point, args: [text]}: the entry point on each args text.
"""

from __future__ import annotations

import ast
import copy
import faulthandler
import json
import os
import random
import signal
import sys
import traceback
import types
from collections.abc import Callable
from typing import Any

WATCHDOG_GRACE_S = 2.0  # after the timer: the C-level watchdog ends a call that ignores signals


class _Timeout(BaseException):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise _Timeout()


def _guard(seconds: float) -> None:
    signal.signal(signal.SIGALRM, _alarm)  # re-armed: corpus code may have replaced the handler
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(seconds + WATCHDOG_GRACE_S, exit=True)


def _unguard() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)
    faulthandler.cancel_dump_traceback_later()


def _module(name: str) -> dict[str, Any]:
    """A registered module's namespace: dataclasses, typing and pickle look code up in sys.modules."""
    mod = types.ModuleType(name)
    sys.modules[name] = mod
    return mod.__dict__


def _args(src: str) -> tuple[list[Any], dict[str, Any]]:
    call = ast.parse("f(" + src + "\n)", mode="eval").body
    assert isinstance(call, ast.Call)
    return ([ast.literal_eval(a) for a in call.args],
            {str(k.arg): ast.literal_eval(k.value) for k in call.keywords})


def _confirm(item: dict[str, Any], timeout: float, call: Callable[[int], None]) -> dict[str, Any]:
    ns = _module("corpus_example")
    try:
        _guard(timeout)
        try:
            exec(compile(item["python"], "<" + str(item.get("id", "example")) + ">", "exec"), ns)
        finally:
            _unguard()
        fn = ns[item["entry_point"]]
    except BaseException as e:  # noqa: BLE001 - corpus code may raise anything
        return {"error": "module failed: " + type(e).__name__ + ": " + str(e)[:200]}
    out: list[dict[str, Any]] = []
    for j, src in enumerate(item["tests"]):
        call(j)
        try:
            args, kwargs = _args(src)
            _guard(timeout)
            try:
                value = fn(*args, **kwargs)
            finally:
                _unguard()
        except _Timeout:
            out.append({"timeout": timeout})
            continue
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                out.append({"raises": type(e).__name__, "mro": [type(e).__name__], "message": "exits"})
                continue
            out.append({"raises": type(e).__name__, "mro": [c.__name__ for c in type(e).__mro__],
                        "message": str(e)[:200]})
            continue
        text = repr(value)
        try:
            ok = ast.literal_eval(text) == value
        except Exception:  # noqa: BLE001
            ok = False
        out.append({"value": text} if ok else {"not_literal": type(value).__name__ + " " + text[:120]})
    return {"tests": out}


def _record(item: dict[str, Any]) -> dict[str, Any]:
    ns = _module("humaneval_problem")
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
    ns = _module("humaneval_problem")
    exec(compile(item["source"], "<source>", "exec"), ns)
    entry = ns[item["entry_point"]]
    out: list[dict[str, Any]] = []
    for text in item["args"]:
        args = ast.literal_eval(f"({text},)") if text.strip() else ()
        try:
            out.append({"result": repr(entry(*args))})
        except _Timeout:
            raise
        except Exception as e:  # noqa: BLE001 - the caller decides whether a raise is a finding
            out.append({"raises": type(e).__name__, "message": str(e)[:200]})
    return {"ok": True, "results": out}


def main() -> int:
    events = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    request = json.loads(sys.stdin.read())
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # the code under test has no stdout to share with us
    main_pid = os.getpid()
    current: list[int | None] = [-1, None]  # item, call

    def emit(obj: dict[str, Any]) -> None:
        if os.getpid() != main_pid:  # a fork that bypassed the at-fork hook (e.g. libc fork via ctypes)
            forked_child()
        os.write(events, (json.dumps(obj) + "\n").encode())

    def forked_child() -> None:
        os.write(events, (json.dumps({"forked": current[0], "n": current[1]}) + "\n").encode())
        os._exit(0)

    os.register_at_fork(after_in_child=forked_child)
    op = request["op"]
    timeout = float(request.get("timeout", 30))
    sys.setrecursionlimit(10_000)
    for i, item in enumerate(request["items"]):
        current[0], current[1] = i, None
        emit({"start": i})
        try:
            if op == "confirm":
                def call(j: int, i: int = i) -> None:
                    current[1] = j
                    emit({"call": i, "n": j})

                result = _confirm(item, timeout, call)
            else:
                _guard(timeout)
                result = {"record": _record, "run": _run}[op](item)
        except _Timeout:
            result = {"ok": False, "error": f"timed out after {timeout:g}s"}
        except BaseException as e:  # noqa: BLE001 - dataset code may raise anything
            tb = traceback.extract_tb(e.__traceback__)
            where = f" (line {tb[-1].lineno} of {tb[-1].filename})" if tb else ""
            result = {"ok": False, "error": f"{type(e).__name__}: {str(e)[:200]}{where}"}
        finally:
            _unguard()
        emit({"done": i, "result": result})
    emit({"end": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
