"""The `native` system kind through the adapter protocol."""

from __future__ import annotations

from pathlib import Path

from sse.core.records import Example
from sse.core.store import file_key
from sse.systems.base import Adapter, build_adapter
from sse.task.spec import Decoding, Prompt, SystemSpec


def _prompt(i: int, dec: Decoding) -> Prompt:
    ex = Example(id=f"ex{i}", python="def f(): pass", entry_point="f")
    return Prompt(system="You translate Python to Rust.", user=f"Translate example {i}: def f{i}(x): return x * {i}",
                  example=ex, run=0, decoding=dec)


def test_native_adapter_generates_in_batches(tiny_apr: Path) -> None:
    spec = SystemSpec(name="tiny", kind="native", options={"apr": str(tiny_apr), "batch_size": 2})
    ad = build_adapter(spec, None)
    assert isinstance(ad, Adapter)
    assert ad.unavailable_reason() is None
    assert ad.fingerprint() == f"native:{file_key(tiny_apr)}"
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
        assert c.meta["batch_size"] in (1, 2)
    again = build_adapter(spec, None).generate(prompts[::-1])
    assert [c.text for c in again[::-1]] == [c.text for c in out]


def test_native_adapter_missing_apr_is_a_reason(tmp_path: Path) -> None:
    spec = SystemSpec(name="gone", kind="native", options={"apr": str(tmp_path / "nope.apr")})
    ad = build_adapter(spec, None)
    reason = ad.unavailable_reason()
    assert reason is not None and "no such .apr file" in reason
    out = ad.generate([_prompt(0, Decoding())])
    assert out[0].error and out[0].text == ""
