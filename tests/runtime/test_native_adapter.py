"""The `native` system kind through the adapter protocol."""

from __future__ import annotations

from pathlib import Path

import pytest

from sse.artifacts.stages import output_key
from sse.core.records import Example
from sse.core.store import file_key
from sse.runtime.apr import AprFile, write_apr
from sse.systems.base import Adapter, build_adapter
from sse.task.spec import Decoding, Prompt, SystemSpec


def _prompt(i: int, dec: Decoding) -> Prompt:
    ex = Example(id=f"ex{i}", python="def f(): pass", entry_point="f")
    return Prompt(
        system="You translate Python to Rust.",
        user=f"Translate example {i}: def f{i}(x): return x * {i}",
        example=ex,
        run=0,
        decoding=dec,
    )


def test_native_adapter_generates_in_batches(tiny_apr: Path) -> None:
    spec = SystemSpec(name="tiny", kind="native", options={"apr": str(tiny_apr), "batch_size": 2})
    ad = build_adapter(spec, None)
    assert isinstance(ad, Adapter)
    assert ad.unavailable_reason() is None
    assert ad.fingerprint() == f"native:{output_key(tiny_apr)}"
    dec = Decoding(temperature=0.0, max_tokens=6)
    assert not ad.is_stochastic(dec) and ad.is_stochastic(Decoding(temperature=0.7))
    prompts = [_prompt(i, dec) for i in range(5)]
    out = ad.generate(prompts)
    assert [c.example_id for c in out] == [f"ex{i}" for i in range(5)]
    for c in out:
        assert c.error is None and c.system == "tiny"
        assert c.tokens_in and c.tokens_in > 10 and c.tokens_out is not None and c.tokens_out <= 6
        assert c.ttft_s is not None and 0 < c.ttft_s <= c.latency_s
        assert c.cpu_s is not None and c.cpu_s >= 0 and c.dollars is None
        assert c.meta["slots"] == 2 and c.meta["prompt_style"] == "chat"
        assert c.meta["finish_reason"] in ("eos", "max_tokens") and c.meta["stop_policy"] == "none"
    assert ad.batch_size == 8  # prompts per call: a queue of 4 x the slots, so finished slots refill
    again = build_adapter(spec, None).generate(prompts[::-1])
    assert [c.text for c in again[::-1]] == [c.text for c in out]


def test_native_adapter_missing_apr_is_a_reason(tmp_path: Path) -> None:
    spec = SystemSpec(name="gone", kind="native", options={"apr": str(tmp_path / "nope.apr")})
    ad = build_adapter(spec, None)
    reason = ad.unavailable_reason()
    assert reason is not None and "no such .apr file" in reason
    out = ad.generate([_prompt(0, Decoding())])
    assert out[0].error and out[0].text == ""


def test_completion_style_prompt_answer_and_key(tiny_apr: Path) -> None:
    """A completion prompt continues the signature; the answer is the signature plus the continuation."""
    ex = Example(id="add", python="def add(a: int, b: int) -> int:\n    return a + b\n", entry_point="add")
    dec = Decoding(temperature=0.0, max_tokens=5, stop_policy="code_block")
    chat = build_adapter(SystemSpec(name="t", kind="native", options={"apr": str(tiny_apr)}), None)
    comp = build_adapter(
        SystemSpec(name="t", kind="native", options={"apr": str(tiny_apr), "prompt_style": "completion"}),
        None,
    )
    assert chat.prompt_style == "chat" and comp.prompt_style == "completion"
    assert chat.extra_key(ex) is None and "pub fn add(a: i64, b: i64) -> i64 {" in comp.extra_key(ex)["text"]
    assert comp.fingerprint() != chat.fingerprint()
    (c,) = comp.generate([Prompt(system="S", user="U", example=ex, run=0, decoding=dec)])
    assert c.error is None and c.text.startswith("pub fn add(a: i64, b: i64) -> i64 {")
    assert c.meta["prompt_style"] == "completion" and c.meta["stop_policy"] == "code_block"
    assert c.meta["finish_reason"] in ("stop_on_block", "eos", "max_tokens")


def test_bad_prompt_style_option_is_one_line(tiny_apr: Path) -> None:
    import pytest

    from sse.core.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"models.yaml: systems.t.options.prompt_style: unknown prompt style"
    ):
        build_adapter(
            SystemSpec(
                name="t",
                kind="native",
                options={"apr": str(tiny_apr), "prompt_style": "fim"},
                registry_file="models.yaml",
            ),
            None,
        )


def _rewritten(src: Path, out: Path, meta: dict[str, object] | None = None, bump: str | None = None) -> Path:
    """A copy of an .apr with some metadata replaced, or one tensor changed."""
    f = AprFile(src)
    tensors = {n: f.tensor(n).copy() for n in f.names()}
    if bump is not None:
        tensors[bump] = tensors[bump] + 1
    return write_apr(out, {**f.metadata, **(meta or {})}, tensors)


def test_fingerprint_is_what_determines_answers_not_the_file(tiny_apr: Path, tmp_path: Path) -> None:
    """A re-conversion whose header differs only in incidental facts (which tokenizer reference the
    gate had, provenance) keeps the fingerprint, so cached answers serve; weights, template and
    tokenizer settings change it."""
    md = AprFile(tiny_apr).metadata
    gate = dict(md["gate"], tokenizer_check={"texts": 3, "reference": "round-trip only"})
    again = _rewritten(
        tiny_apr,
        tmp_path / "again.apr",
        {"gate": gate, "provenance": {**md["provenance"], "fetched_at": "elsewhere"}},
    )

    def fp(apr: Path) -> str:
        return build_adapter(
            SystemSpec(name="t", kind="native", options={"apr": str(apr)}), None
        ).fingerprint()

    assert file_key(again) != file_key(tiny_apr)
    assert fp(again) == fp(tiny_apr)
    weights = _rewritten(tiny_apr, tmp_path / "w.apr", bump="norm")
    template = _rewritten(tiny_apr, tmp_path / "c.apr", {"chat_template": "{{ messages[0].content }}"})
    tok = _rewritten(tiny_apr, tmp_path / "t.apr", {"tokenizer": {**md["tokenizer"], "add_bos": True}})
    assert len({fp(tiny_apr), fp(weights), fp(template), fp(tok)}) == 4


def test_registry_leaves_slots_and_threads_to_the_machine() -> None:
    """Pinned sizes fit one machine only: the shipped registry leaves them to the defaults."""
    from sse.task.config import load_registry

    registry = load_registry(Path(__file__).resolve().parents[2] / "tasks" / "models.yaml")
    local = {n: s for n, s in registry.items() if s.kind in ("native", "llamacpp")}
    assert {"smollm2-135m", "gemma3-270m", "smollm2-135m-llamacpp"} <= set(local)
    for name, spec in local.items():
        assert not {"batch_size", "threads"} & set(spec.options), name


def test_native_adapter_sizes_itself_for_the_machine(tiny_apr: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without options, slots and threads follow the free cores and memory; options override both."""
    import os

    import sse.runtime.kvcache as kvcache

    monkeypatch.delenv("SSE_NATIVE_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2})
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(kvcache, "available_memory_bytes", lambda: 1 << 40)
    dec = Decoding(temperature=0.0, max_tokens=3)
    roomy = build_adapter(SystemSpec(name="t", kind="native", options={"apr": str(tiny_apr)}), None)
    assert roomy.n_slots == min(kvcache.MAX_SLOTS, 3 * kvcache.SLOTS_PER_THREAD)
    (c,) = roomy.generate([_prompt(0, dec)])
    assert c.error is None and c.meta["threads"] == 3 and c.meta["slots"] == roomy.n_slots

    monkeypatch.setattr(os, "getloadavg", lambda: (2.0, 0.0, 0.0))  # two of the three cores busy
    monkeypatch.setattr(kvcache, "available_memory_bytes", lambda: 1)
    tight = build_adapter(SystemSpec(name="t", kind="native", options={"apr": str(tiny_apr)}), None)
    assert tight.n_slots == 1 and tight.batch_size == 4
    (c,) = tight.generate([_prompt(0, dec)])
    assert c.meta["threads"] == 1 and c.meta["slots"] == 1

    pinned = build_adapter(
        SystemSpec(name="t", kind="native", options={"apr": str(tiny_apr), "batch_size": 5, "threads": 2}),
        None,
    )
    (c,) = pinned.generate([_prompt(0, dec)])
    assert pinned.n_slots == 5 and c.meta["threads"] == 2 and c.meta["slots"] == 5


def test_bad_size_option_is_one_line(tiny_apr: Path) -> None:
    from sse.core.errors import SseError

    for kind, opts in (
        ("native", {"apr": str(tiny_apr), "batch_size": "many"}),
        ("llamacpp", {"threads": "two"}),
    ):
        with pytest.raises(SseError) as e:
            build_adapter(SystemSpec(name="t", kind=kind, options=opts, registry_file="models.yaml"), None)
        line = e.value.one_line()
        assert f"systems.t.options.{next(k for k in opts if k != 'apr')}" in line and "\n" not in line
