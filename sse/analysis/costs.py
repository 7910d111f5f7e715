"""Dollar costs per sample, and latency summaries.

Every system is priced on one *basis* (BASES), declared per system in context.json
(`pricing_basis`); a task picks CPU or wall seconds for its local systems
(`task.local_cost_basis`). A sample that its basis cannot price is unpriced, never
priced some other way, so one system's figure never mixes bases. Older inputs
without `pricing_basis` keep the old per-sample precedence, each figure marked
with its source:
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
# What a system's dollars measure; the label is what the report prints beside the figure.
BASES: dict[str, str] = {
    "tokens": "list prices x tokens",
    "provider": "cost reported by the provider",
    "cpu_seconds": "CPU seconds x machine price",
    "wall_seconds": "wall seconds x machine price",
    "none": "not priced (oracle)",
}
LOCAL_COST_BASES = {"cpu": "cpu_seconds", "wall": "wall_seconds"}  # task.local_cost_basis -> basis
_MACHINE_BASES = frozenset(LOCAL_COST_BASES.values())
# the basis a legacy (per-sample precedence) figure ended up on
_SOURCE_BASIS = {"provider": "provider", "tokens": "tokens", "machine_time:cpu_s": "cpu_seconds",
                 "machine_time:latency_s": "wall_seconds"}


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


def is_local(meta: dict[str, Any], samples: Iterable[Sample] = ()) -> bool:
    """The declared `local` field; for older inputs, the kind or machine-time samples."""
    if meta.get("local") is not None:
        return bool(meta["local"])
    return str(meta.get("kind", "")).lower() in LOCAL_KINDS or any(s.cost_source == "machine_time" for s in samples)


def resolve_basis(declared: Any, local: bool, oracle: bool, local_cost_basis: str | None) -> str | None:
    """The basis a system is priced on; None means an older input: the per-sample precedence.

    The task's `local_cost_basis` decides CPU vs wall seconds for every local system
    priced by machine time (declared so, or undeclared); an oracle without a
    declaration is not priced at all. `declared` and `local_cost_basis` are
    validated by the caller."""
    task_basis = LOCAL_COST_BASES.get(local_cost_basis or "")
    if declared is not None:
        return task_basis if task_basis and local and declared in _MACHINE_BASES else str(declared)
    if oracle:
        return "none"
    return task_basis if task_basis and local else None


@dataclass(frozen=True)
class SampleCost:
    dollars: float | None
    source: str  # provider | tokens | machine_time | unpriced | none
    detail: str  # e.g. "cpu_s", "latency_s", "registry", "price table", "pipeline"
    dollars_in: float | None = None
    dollars_out: float | None = None


_UNPRICED = SampleCost(None, "unpriced", "")


def _machine(seconds: float | None, detail: str, machine_price_per_hour: float | None) -> SampleCost:
    if seconds is None or machine_price_per_hour is None:
        return _UNPRICED
    return SampleCost(float(seconds) * machine_price_per_hour / 3600, "machine_time", detail)


def token_dollars(tokens_in: int | None, tokens_out: int | None, price: Price | None) -> tuple[float, float] | None:
    """(input, output) dollars of one answer at per-million-token prices; None when it cannot be priced."""
    if price is None or tokens_in is None or tokens_out is None:
        return None
    return tokens_in * price.input_per_mtok / 1e6, tokens_out * price.output_per_mtok / 1e6


def _tokens(s: Sample, price: Price | None) -> SampleCost | None:
    split = token_dollars(s.tokens_in, s.tokens_out, price)
    if split is not None and price is not None:
        din, dout = split
        return SampleCost(din + dout, "tokens", price.origin, din, dout)
    if s.cost_source == "tokens" and s.dollars is not None:
        return SampleCost(float(s.dollars), "tokens", "pipeline")
    return None


def sample_cost(s: Sample, price: Price | None, local: bool, machine_price_per_hour: float | None,
                basis: str | None = None) -> SampleCost:
    """One sample's dollars on `basis`; basis None is the older per-sample precedence."""
    if basis == "none":
        return SampleCost(None, "none", "")
    if basis == "provider":
        ok = s.cost_source == "provider" and s.dollars is not None
        return SampleCost(float(s.dollars), "provider", "provider-reported") if ok else _UNPRICED  # type: ignore[arg-type]
    if basis == "tokens":
        return _tokens(s, price) or _UNPRICED
    if basis == "cpu_seconds":
        return _machine(s.cpu_s, "cpu_s", machine_price_per_hour)
    if basis == "wall_seconds":
        return _machine(s.latency_s, "latency_s", machine_price_per_hour)
    if s.cost_source == "provider" and s.dollars is not None:
        return SampleCost(float(s.dollars), "provider", "provider-reported")
    tok = _tokens(s, price)
    if tok is not None:
        return tok
    if local and machine_price_per_hour is not None:
        return _machine(s.cpu_s if s.cpu_s is not None else s.latency_s,
                        "cpu_s" if s.cpu_s is not None else "latency_s", machine_price_per_hour)
    return _UNPRICED


def spent(samples: list[Sample]) -> list[bool]:
    """Which samples were paid for: a deterministic system's runs after the first are copies
    of one generation per problem, so only the first (lowest) run of each problem counts."""
    first: dict[str, int] = {}
    for s in samples:
        if s.deterministic:
            first[s.example_id] = min(first.get(s.example_id, s.run), s.run)
    out, seen = [], set()
    for s in samples:
        copy = s.deterministic and (s.run != first[s.example_id] or s.example_id in seen)
        if s.deterministic and not copy:
            seen.add(s.example_id)
        out.append(not copy)
    return out


def basis_of(costs: list[SampleCost], basis: str | None) -> str:
    """The declared basis, or what an older input's samples were priced on ("mixed" if several)."""
    if basis is not None:
        return basis
    found = {_SOURCE_BASIS.get(f"{c.source}:{c.detail}", _SOURCE_BASIS.get(c.source, c.source))
             for c in costs if c.dollars is not None}
    return found.pop() if len(found) == 1 else "mixed" if found else "unpriced"


def _pct(x: np.ndarray, q: float) -> float | None:
    return float(np.percentile(x, q)) if x.size else None


def summarize_costs(costs: list[SampleCost], samples: list[Sample], basis: str | None = None) -> dict[str, Any]:
    """Per-system dollar figures; `how` names every source that contributed, `basis` what they measure.

    `per_example` is the mean over priced samples; `total` is what was spent: a
    deterministic system's copied runs are not added again (see `spent`)."""
    priced = [c for c in costs if c.dollars is not None]
    n = len(costs)
    how = sorted({f"{c.source}:{c.detail}" if c.detail else c.source for c in priced})
    b = basis_of(costs, basis)
    paid = spent(samples)
    copies = paid.count(False)
    if not priced:
        return {"status": "not_applicable" if b == "none" else "unpriced", "basis": b,
                "basis_label": BASES.get(b, b), "how": ["none" if b == "none" else "unpriced"],
                "per_example": None, "per_mtok": None, "input_per_example": None, "output_per_example": None,
                "priced_samples": 0, "samples": n, "total": None, "copies_not_counted": copies}
    mean = float(sum(c.dollars for c in priced if c.dollars is not None)) / len(priced)
    total = float(sum(c.dollars for c, p in zip(costs, paid, strict=True) if p and c.dollars is not None))
    tok = sum((s.tokens_in or 0) + (s.tokens_out or 0) for s, c in zip(samples, costs, strict=True)
              if c.dollars is not None and s.tokens_in is not None and s.tokens_out is not None)
    tok_dollars = sum(c.dollars for s, c in zip(samples, costs, strict=True)
                      if c.dollars is not None and s.tokens_in is not None and s.tokens_out is not None)
    din = [c.dollars_in for c in priced if c.dollars_in is not None]
    dout = [c.dollars_out for c in priced if c.dollars_out is not None]
    return {
        "status": "priced" if len(priced) == n else "partial",
        "basis": b,
        "basis_label": BASES.get(b, "several bases" if b == "mixed" else b),
        "how": how,
        "per_example": mean,
        "per_mtok": tok_dollars / tok * 1e6 if tok else None,
        "input_per_example": float(np.mean(din)) if din else None,
        "output_per_example": float(np.mean(dout)) if dout else None,
        "priced_samples": len(priced),
        "samples": n,
        "total": total,
        "copies_not_counted": copies,
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
