"""Dollar costs per sample, and latency summaries.

Order of precedence for a sample's dollars, each figure marked with its source:
  1. "provider": the provider reported the cost (Sample.cost_source == "provider").
  2. "tokens": tokens_in x input price + tokens_out x output price, priced apart,
     from the system's registry prices (context.json) or else the dated price table.
  3. "machine_time": for local systems and transpilers, measured seconds
     (cpu_s where recorded, else wall-clock latency_s; the figure says which)
     x the task's machine price per hour.
  4. "unpriced": none of the above. Never $0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sse.core.errors import ConfigError
from sse.core.records import Sample

# Kinds that run on the evaluating machine and so are priced by machine time.
LOCAL_KINDS = frozenset({"reference", "transpiler", "py2many", "native", "apr", "local", "llama_cpp", "ollama"})
PRICE_FIELDS = ("provider", "model", "input_per_mtok", "output_per_mtok", "date", "source")


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float
    date: str | None
    source: str | None
    origin: str  # "registry" or "price table"


@dataclass(frozen=True)
class PriceTable:
    rows: tuple[dict[str, Any], ...]
    path: str | None

    @property
    def dates(self) -> list[str]:
        return sorted({str(r["date"]) for r in self.rows if r.get("date")})

    def lookup(self, *names: str | None) -> Price | None:
        for name in names:
            if not name:
                continue
            for r in self.rows:
                if str(r.get("model")) == name:
                    return Price(float(r["input_per_mtok"]), float(r["output_per_mtok"]), str(r.get("date")),
                                 r.get("source"), "price table")
        return None


def load_price_table(path: str | Path) -> PriceTable:
    """Read a dated price table (tasks/prices.yaml): `prices:` rows with every field of PRICE_FIELDS."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError:
        raise ConfigError("price table not found", file=str(p), fix="point price_table at tasks/prices.yaml") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"malformed YAML: {str(e).splitlines()[0]}", file=str(p), fix="fix the YAML") from None
    rows = (raw or {}).get("prices") if isinstance(raw, dict) else None
    if not isinstance(rows, list):
        raise ConfigError("expected a `prices:` list", file=str(p), field="prices",
                          fix="write `prices:` followed by rows of provider/model/prices/date/source")
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise ConfigError("expected a mapping", file=str(p), field=f"prices[{i}]", fix="write key: value rows")
        for k in PRICE_FIELDS:
            if r.get(k) is None:
                raise ConfigError("missing key", file=str(p), field=f"prices[{i}].{k}", fix=f"add `{k}:`")
        for k in ("input_per_mtok", "output_per_mtok"):
            v = r[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ConfigError(f"expected a non-negative number, got {v!r}", file=str(p),
                                  field=f"prices[{i}].{k}", fix="give USD per million tokens, e.g. 3.0")
        r["date"] = str(r["date"])
    return PriceTable(tuple(rows), str(p))


def table_from_context(context: dict[str, Any], root: Path) -> PriceTable | None:
    """The price table for a report: embedded in context.json, a prices.yaml beside the inputs,
    or the task's price_table path -- in that order."""
    emb = context.get("price_table")
    if isinstance(emb, dict) and isinstance(emb.get("rows"), list):
        return PriceTable(tuple(emb["rows"]), emb.get("path"))
    beside = root / "prices.yaml"
    if beside.exists():
        return load_price_table(beside)
    tp = (context.get("task") or {}).get("price_table")
    if tp and Path(tp).exists():
        return load_price_table(tp)
    return None


def system_price(meta: dict[str, Any], table: PriceTable | None) -> Price | None:
    """Registry prices (both input and output set) win; else the price table row for the system."""
    pr = meta.get("prices") or {}
    if pr.get("input_per_mtok") is not None and pr.get("output_per_mtok") is not None:
        return Price(float(pr["input_per_mtok"]), float(pr["output_per_mtok"]), pr.get("date"), pr.get("source"),
                     "registry")
    if table is None:
        return None
    return table.lookup(meta.get("price_model"), meta.get("model"), meta.get("name"))


def is_local(meta: dict[str, Any]) -> bool:
    if "local" in meta:
        return bool(meta["local"])
    return str(meta.get("kind", "")).lower() in LOCAL_KINDS


@dataclass(frozen=True)
class SampleCost:
    dollars: float | None
    source: str  # provider | tokens | machine_time | unpriced
    detail: str  # e.g. "cpu_s", "latency_s", "registry", "price table", "pipeline"
    dollars_in: float | None = None
    dollars_out: float | None = None


def sample_cost(s: Sample, price: Price | None, local: bool, machine_price_per_hour: float | None) -> SampleCost:
    if s.cost_source == "provider" and s.dollars is not None:
        return SampleCost(float(s.dollars), "provider", "provider-reported")
    if price is not None and s.tokens_in is not None and s.tokens_out is not None:
        din = s.tokens_in * price.input_per_mtok / 1e6
        dout = s.tokens_out * price.output_per_mtok / 1e6
        return SampleCost(din + dout, "tokens", price.origin, din, dout)
    if s.cost_source == "tokens" and s.dollars is not None:
        return SampleCost(float(s.dollars), "tokens", "pipeline")
    if local and machine_price_per_hour is not None:
        if s.cpu_s is not None:
            return SampleCost(float(s.cpu_s) * machine_price_per_hour / 3600, "machine_time", "cpu_s")
        if s.latency_s is not None:
            return SampleCost(float(s.latency_s) * machine_price_per_hour / 3600, "machine_time", "latency_s")
    return SampleCost(None, "unpriced", "")


def _pct(x: np.ndarray, q: float) -> float | None:
    return float(np.percentile(x, q)) if x.size else None


def summarize_costs(costs: list[SampleCost], samples: list[Sample]) -> dict[str, Any]:
    """Per-system dollar figures; `how` names every source that contributed."""
    priced = [c for c in costs if c.dollars is not None]
    n = len(costs)
    how = sorted({f"{c.source}:{c.detail}" if c.detail else c.source for c in priced})
    if not priced:
        return {"status": "unpriced", "how": ["unpriced"], "per_example": None, "per_mtok": None,
                "input_per_example": None, "output_per_example": None, "priced_samples": 0, "samples": n,
                "total": None}
    total = float(sum(c.dollars for c in priced if c.dollars is not None))
    tok = sum((s.tokens_in or 0) + (s.tokens_out or 0) for s, c in zip(samples, costs, strict=True)
              if c.dollars is not None and s.tokens_in is not None and s.tokens_out is not None)
    tok_dollars = sum(c.dollars for s, c in zip(samples, costs, strict=True)
                      if c.dollars is not None and s.tokens_in is not None and s.tokens_out is not None)
    din = [c.dollars_in for c in priced if c.dollars_in is not None]
    dout = [c.dollars_out for c in priced if c.dollars_out is not None]
    return {
        "status": "priced" if len(priced) == n else "partial",
        "how": how,
        "per_example": total / len(priced),
        "per_mtok": tok_dollars / tok * 1e6 if tok else None,
        "input_per_example": float(np.mean(din)) if din else None,
        "output_per_example": float(np.mean(dout)) if dout else None,
        "priced_samples": len(priced),
        "samples": n,
        "total": total,
    }


def summarize_latency(samples: Iterable[Sample]) -> dict[str, Any]:
    ss = list(samples)
    lat = np.array([s.latency_s for s in ss if s.latency_s is not None and math.isfinite(s.latency_s)], float)
    ttft = np.array([s.ttft_s for s in ss if s.ttft_s is not None], float)
    tps = np.array([s.tokens_out / s.latency_s for s in ss
                    if s.tokens_out is not None and s.latency_s and s.latency_s > 0], float)
    cpu = np.array([s.cpu_s for s in ss if s.cpu_s is not None], float)
    return {
        "p50_s": _pct(lat, 50), "p90_s": _pct(lat, 90), "p99_s": _pct(lat, 99),
        "mean_s": float(lat.mean()) if lat.size else None,
        "ttft_p50_s": _pct(ttft, 50), "ttft_known": int(ttft.size),
        "tokens_per_s_p50": _pct(tps, 50), "cpu_s_mean": float(cpu.mean()) if cpu.size else None,
        "n": int(lat.size),
    }
