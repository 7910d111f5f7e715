"""Build tiny input folders from hand-written outcome grids (real Sample dicts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sse.core.records import Sample


def write_dir(
    root: Path,
    grids: dict[str, list[list[int]]],
    *,
    levels: list[int] | None = None,
    deterministic: dict[str, bool] | None = None,
    systems: dict[str, dict[str, Any]] | None = None,
    task: dict[str, Any] | None = None,
    sample_extra: dict[str, dict[str, Any]] | None = None,
    statuses: dict[tuple[str, int, int], str] | None = None,
) -> Path:
    """grids[system][run][problem] = 1 (pass) / 0 (compile_error)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, runs in grids.items():
        for r, row in enumerate(runs):
            for p, ok in enumerate(row):
                status = (statuses or {}).get((name, r, p), "pass" if ok else "compile_error")
                s = Sample(
                    task="t",
                    system=name,
                    example_id=f"p{p:02d}",
                    run=r,
                    level=(levels[p] if levels else 3),
                    status=status,  # type: ignore[arg-type]
                    completion_key=f"c-{name}-{r}-{p}",
                    verdict_key=f"v-{status}",
                    example_key=f"e{p}",
                    rust_key=f"r-{name}-{p}",
                    tests_passed=3 if ok else 0,
                    tests_total=3,
                    tokens_in=100,
                    tokens_out=50,
                    latency_s=1.0 + p / 10,
                    ttft_s=None,
                    cpu_s=0.5,
                    dollars=None,
                    cost_source="unpriced",
                    deterministic=(deterministic or {}).get(name, False),
                    error_codes=() if ok else ("E0308",),
                )
                d = s.to_dict()
                d.update((sample_extra or {}).get(name, {}))
                lines.append(json.dumps(d))
    (root / "samples.jsonl").write_text("\n".join(lines) + "\n")
    ctx = {
        "task": {
            "id": "t",
            "runs": max(len(g) for g in grids.values()),
            "machine_price_per_hour": 0.36,
            "seed": 0,
            "bootstrap_resamples": 2000,
            **(task or {}),
        },
        "systems": [
            {
                "name": n,
                "kind": "native",
                "deterministic": False,
                "fingerprint": "f",
                "prices": {},
                **(systems or {}).get(n, {}),
            }
            for n in grids
        ],
        "corpus": {"name": "c", "key": "k", "n_examples": len(next(iter(grids.values()))[0])},
        "manifest": {},
    }
    (root / "context.json").write_text(json.dumps(ctx))
    return root
