"""The `llamacpp` system kind on a tiny GGUF: registered, fingerprinted, greedy output equal to
the native engine's on the same f32 weights; skipped with one line when the module is absent."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sse.artifacts.convert import convert
from sse.artifacts.tiny import make_tiny_gguf
from sse.core.records import Example
from sse.runtime.generate import GenRequest, generate
from sse.runtime.loader import load_native
from sse.systems.base import build_adapter, known_kinds
from sse.systems.llamacpp import MISSING
from sse.task.spec import Decoding, Prompt, SystemSpec


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory, tiny_folder: Path) -> Path:
    return make_tiny_gguf(tiny_folder, tmp_path_factory.mktemp("g") / "tiny.gguf", qtype="F32")


def _spec(gguf: Path, **opts: object) -> SystemSpec:
    return SystemSpec(
        name="tiny-llamacpp",
        kind="llamacpp",
        options={"gguf": str(gguf), "n_ctx": 256, "threads": 1, "prompt_style": "chat", **opts},
    )


def _prompt(max_tokens: int = 8) -> Prompt:
    ex = Example(id="add", python="def add(a: int, b: int) -> int:\n    return a + b\n", entry_point="add")
    return Prompt(
        system="",
        user="Translate to Rust: def add",
        example=ex,
        run=0,
        decoding=Decoding(temperature=0.0, max_tokens=max_tokens),
    )


def test_kind_is_registered_and_absent_module_is_one_line(
    tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "llamacpp" in known_kinds()
    import sse.systems.llamacpp as mod

    monkeypatch.setattr(mod, "llama_cpp_version", lambda: None)
    a = build_adapter(_spec(tiny_gguf), None)
    assert a.unavailable_reason() == MISSING and "\n" not in MISSING
    (c,) = a.generate([_prompt()])
    assert c.error == MISSING


def test_missing_gguf_path_is_a_reason(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed (optional llamacpp extra)")
    a = build_adapter(_spec(tmp_path / "nope.gguf"), None)
    reason = a.unavailable_reason()
    assert reason is not None and "GGUF not found" in reason and "\n" not in reason


def test_greedy_equals_native_engine(tiny_gguf: Path, tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed (optional llamacpp extra)")
    a = build_adapter(_spec(tiny_gguf), None)
    assert a.unavailable_reason() is None
    fp = a.fingerprint()
    assert fp.startswith(f"llamacpp:{hashlib.sha256(tiny_gguf.read_bytes()).hexdigest()}:llama-cpp-python-")
    (c,) = a.generate([_prompt(8)])
    assert c.error is None and c.tokens_in and c.tokens_out and c.ttft_s is not None and c.cpu_s is not None
    convert([tiny_gguf], tmp_path / "t.apr", "f32")
    nm = load_native(tmp_path / "t.apr")
    ids = nm.tokenizer.encode(nm.chat.render([{"role": "user", "content": "Translate to Rust: def add"}]))
    assert c.tokens_in == len(ids)
    (r,) = generate(nm.model, nm.tokenizer, [GenRequest(tuple(ids), max_tokens=8)], nm.eos_ids)
    assert c.text == r.text and c.tokens_out == r.tokens_out


def test_threads_default_to_the_machine(tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No `threads` option: llama.cpp gets the machine's free cores, chosen at load; the option wins."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed (optional llamacpp extra)")
    import os

    monkeypatch.delenv("SSE_NATIVE_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2})
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 0.0, 0.0))
    free = build_adapter(
        SystemSpec(name="t", kind="llamacpp", options={"gguf": str(tiny_gguf), "n_ctx": 256}), None
    )
    (c,) = free.generate([_prompt(2)])
    assert c.error is None and c.meta["threads"] == 2
    (c,) = build_adapter(_spec(tiny_gguf), None).generate([_prompt(2)])
    assert c.meta["threads"] == 1
