"""Cost precedence, the price table, latency summaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from sse.analysis import costs as cst
from sse.core.errors import ConfigError
from sse.core.records import Sample


def sample(**kw: object) -> Sample:
    base = dict(task="t", system="s", example_id="e", run=0, level=1, status="pass", completion_key="c",
                verdict_key="v", example_key="k", rust_key="r", tests_passed=1, tests_total=1, tokens_in=1000,
                tokens_out=500, latency_s=2.0, ttft_s=None, cpu_s=1.5, dollars=None, cost_source="unpriced",
                deterministic=False)
    base.update(kw)
    return Sample(**base)  # type: ignore[arg-type]


PRICE = cst.Price(3.0, 15.0, "2026-11-29", "x", "registry")


def test_precedence_provider_tokens_machine_unpriced() -> None:
    p = cst.sample_cost(sample(dollars=0.5, cost_source="provider"), PRICE, False, 1.0)
    assert (p.dollars, p.source) == (0.5, "provider")
    t = cst.sample_cost(sample(), PRICE, False, 1.0)
    assert t.source == "tokens" and t.dollars_in == pytest.approx(1000 * 3 / 1e6)
    assert t.dollars_out == pytest.approx(500 * 15 / 1e6) and t.dollars == pytest.approx(0.003 + 0.0075)
    m = cst.sample_cost(sample(), None, True, 3.6)
    assert (m.source, m.detail) == ("machine_time", "cpu_s") and m.dollars == pytest.approx(1.5 * 3.6 / 3600)
    w = cst.sample_cost(sample(cpu_s=None), None, True, 3.6)
    assert w.detail == "latency_s" and w.dollars == pytest.approx(2.0 * 3.6 / 3600)
    u = cst.sample_cost(sample(), None, False, 3.6)
    assert u.dollars is None and u.source == "unpriced"  # never $0
    pipe = cst.sample_cost(sample(dollars=0.2, cost_source="tokens"), None, False, None)
    assert (pipe.source, pipe.detail, pipe.dollars) == ("tokens", "pipeline", 0.2)


def test_summaries_unpriced_and_partial() -> None:
    s = [sample(), sample()]
    assert cst.summarize_costs([cst.SampleCost(None, "unpriced", "")] * 2, s)["status"] == "unpriced"
    out = cst.summarize_costs([cst.SampleCost(0.1, "provider", "provider-reported"),
                               cst.SampleCost(None, "unpriced", "")], s)
    assert out["status"] == "partial" and out["per_example"] == pytest.approx(0.1)
    assert out["per_mtok"] == pytest.approx(0.1 / 1500 * 1e6)


def test_price_table_lookup_and_registry_precedence(tmp_path: Path) -> None:
    t = cst.load_price_table(Path(__file__).resolve().parents[2] / "tasks" / "prices.yaml")
    assert t.dates and all(r["source"] and r["date"] for r in t.rows)
    row = t.rows[0]
    got = cst.system_price({"name": "x", "price_model": row["model"]}, t)
    assert got is not None and got.origin == "price table" and got.input_per_mtok == row["input_per_mtok"]
    reg = cst.system_price({"name": row["model"], "prices": {"input_per_mtok": 1, "output_per_mtok": 2}}, t)
    assert reg is not None and reg.origin == "registry" and reg.input_per_mtok == 1.0
    assert cst.system_price({"name": "nobody"}, t) is None


def test_price_table_errors_name_file_and_field(tmp_path: Path) -> None:
    p = tmp_path / "prices.yaml"
    p.write_text("prices:\n  - {provider: a, model: m, input_per_mtok: -1, output_per_mtok: 2, date: x, source: y}\n")
    with pytest.raises(ConfigError, match=r"prices\.yaml: prices\[0\]\.input_per_mtok"):
        cst.load_price_table(p)
    p.write_text("prices:\n  - {provider: a, model: m, input_per_mtok: 1, output_per_mtok: 2, source: y}\n")
    with pytest.raises(ConfigError, match=r"prices\[0\]\.date"):
        cst.load_price_table(p)


def test_latency_percentiles() -> None:
    ss = [sample(latency_s=float(i), tokens_out=10, ttft_s=0.1) for i in range(1, 101)]
    lat = cst.summarize_latency(ss)
    assert lat["p50_s"] == pytest.approx(50.5) and lat["p99_s"] == pytest.approx(99.01)
    assert lat["ttft_known"] == 100 and lat["tokens_per_s_p50"] == pytest.approx(10 / 50.5, rel=0.02)
