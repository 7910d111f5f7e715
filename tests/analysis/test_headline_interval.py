"""Issue 19 item 6: the interval shown first includes problem sampling.

The cluster bootstrap (problems x runs) leads; the Student-t interval over runs is
kept and labelled as run-to-run noise; a deterministic system, whose runs are
copies, leads with the problem bootstrap over its one distinct run. The figures
themselves are unchanged: the headline is one of the already-computed intervals.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sse.analysis import analyze

MakeDir = Callable[..., Path]


def by_name(r: dict, name: str) -> dict:
    return next(s for s in r["systems"] if s["name"] == name)


def test_headline_is_the_cluster_interval_and_t_is_run_noise(make_dir: MakeDir) -> None:
    sto = [[1, 0, 1, 1, 0, 1, 0, 1], [1, 1, 0, 1, 0, 1, 0, 0], [0, 1, 1, 1, 0, 1, 1, 1]]
    det = [[1, 0, 1, 1, 0, 0, 1, 1]] * 3
    one = [[1, 0, 1, 1, 0, 0, 1, 0]]
    r = analyze(make_dir({"sto": sto, "det": det, "one": one}, deterministic={"det": True}), resamples=500)
    s, d, o = by_name(r, "sto"), by_name(r, "det"), by_name(r, "one")
    assert s["interval"] == {**s["cluster_interval"], "label": "problems x runs"}
    assert "run-to-run" in s["t_interval"]["label"]
    # deterministic: the copies add nothing, the headline is the problem bootstrap over the one distinct run
    assert {k: v for k, v in d["interval"].items() if k not in ("label", "note")} == \
        {k: v for k, v in d["bootstrap_interval"].items() if k != "note"}
    assert d["interval"]["label"] == "problems (one distinct run)" and "copies" in d["interval"]["note"]
    assert "copies" in d["cluster_interval"]["note"]  # kept for the record, marked as not an interval to read
    # one run: the cluster bootstrap already is the problem bootstrap
    assert o["interval"]["lo"] == o["bootstrap_interval"]["lo"] and o["interval"]["hi"] == o["bootstrap_interval"]["hi"]
