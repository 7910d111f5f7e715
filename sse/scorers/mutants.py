"""Soundness of the ground truth: references must pass, and their mutants must not.

For each example with a reference solution, `make_mutants` derives small wrong programs:

- off_by_one: an integer literal n -> n + 1, or a comparison `<` <-> `<=`, `>` <-> `>=`;
- wrong_operator: `+` <-> `-`, `*` -> `+`, `/` -> `*`, `%` -> `/`, `&&` <-> `||`, `==` <-> `!=`;
- wrong_type: a type in the entry point's signature changed (i64 -> i32, f64 -> f32, String -> &str,
  bool -> i64, Vec -> HashSet ...), which must at least fail to compile against the tests.

Only binary operators written with spaces on both sides are mutated (`a < b`, never `Vec<i64>`),
and never inside strings or comments. A mutant is *caught* when its verdict is not `pass`.
Some mutants are equivalent (dead code, a bound that does not matter); the kill rate is reported
as measured, and an example with fewer than `min_caught` caught mutants is listed as weak: its
tests should be strengthened.

    python -m sse.scorers.mutants bundled:functions   # prints the report, exit 1 if unsound
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from sse.core.records import Example, Verdict
from sse.task.config import GroundTruth
from sse.task.rust_text import skip_literal

KINDS = ("off_by_one", "wrong_operator", "wrong_type")
OFF_BY_ONE_CMP = {" < ": " <= ", " <= ": " < ", " > ": " >= ", " >= ": " > "}
OPERATORS = {" + ": " - ", " - ": " + ", " * ": " + ", " / ": " * ", " % ": " / ", " && ": " || ",
             " || ": " && ", " == ": " != ", " != ": " == ", " += ": " -= ", " -= ": " += "}
TYPE_SWAPS = (("i64", "i32"), ("f64", "f32"), ("String", "&str"), ("&str", "String"), ("bool", "i64"),
              ("Vec<", "HashSet<"), ("HashMap<", "Vec<"), ("HashSet<", "Vec<"), ("Option<", "Vec<"))
INT_RE = re.compile(r"(?<![\w.])(\d+)(?![\w])(?!\.\d)")


@dataclass(frozen=True)
class Mutant:
    kind: str
    description: str
    rust: str


def _code_mask(code: str) -> list[bool]:
    """True where a character is code (not inside a string, char literal or comment)."""
    mask = [True] * len(code)
    i = 0
    while i < len(code):
        j = skip_literal(code, i)
        if j != i:
            for k in range(i, min(j, len(code))):
                mask[k] = False
            i = j
        else:
            i += 1
    return mask


def _sites(code: str, mask: list[bool], needle: str) -> list[int]:
    out, start = [], 0
    while (i := code.find(needle, start)) >= 0:
        if all(mask[i:i + len(needle)]):
            out.append(i)
        start = i + 1
    return out


def _spread(items: list, k: int) -> list:
    """Up to k items spread over the list (first, last, middle...): deterministic."""
    if len(items) <= k:
        return items
    if k == 1:
        return [items[0]]
    step = (len(items) - 1) / (k - 1)
    return [items[round(i * step)] for i in range(k)]


def _line_of(code: str, i: int) -> int:
    return code.count("\n", 0, i) + 1


def make_mutants(rust: str, entry_point: str, per_kind: int = 2) -> list[Mutant]:
    """Up to `per_kind` mutants of each kind (fewer when the code offers fewer sites)."""
    mask = _code_mask(rust)
    sig = re.search(rf"fn\s+{re.escape(entry_point)}\s*(<[^>]*>)?\s*\(", rust)
    body_from = 0
    sig_span = (0, 0)
    if sig:
        brace = rust.find("{", sig.end())
        sig_span = (sig.start(), brace if brace > 0 else len(rust))
        body_from = 0
    out: list[Mutant] = []

    # off by one
    cands: list[tuple[int, str, str]] = []
    for m in INT_RE.finditer(rust, body_from):
        if mask[m.start()] and not (sig_span[0] <= m.start() < sig_span[1]):
            cands.append((m.start(), m.group(1), str(int(m.group(1)) + 1)))
    for a, b in OFF_BY_ONE_CMP.items():
        cands += [(i, a, b) for i in _sites(rust, mask, a)]
    cands.sort()
    for i, a, b in _spread(cands, per_kind):
        out.append(Mutant("off_by_one", f"line {_line_of(rust, i)}: {a.strip()} -> {b.strip()}",
                          rust[:i] + b + rust[i + len(a):]))

    # wrong operator
    ops: list[tuple[int, str, str]] = []
    for a, b in OPERATORS.items():
        ops += [(i, a, b) for i in _sites(rust, mask, a) if not (sig_span[0] <= i < sig_span[1])]
    ops.sort()
    for i, a, b in _spread(ops, per_kind):
        out.append(Mutant("wrong_operator", f"line {_line_of(rust, i)}: {a.strip()} -> {b.strip()}",
                          rust[:i] + b + rust[i + len(a):]))

    # wrong type (in the entry point's signature)
    types: list[tuple[int, str, str]] = []
    if sig:
        s0, s1 = sig_span
        for a, b in TYPE_SWAPS:
            for i in _sites(rust[s0:s1], mask[s0:s1], a):
                j = s0 + i
                if (j == 0 or not (rust[j - 1].isalnum() or rust[j - 1] == "_")) and \
                        not (a[-1].isalnum() and j + len(a) < len(rust) and (rust[j + len(a)].isalnum())):
                    types.append((j, a, b))
    types.sort()
    for i, a, b in _spread(types, per_kind):
        out.append(Mutant("wrong_type", f"signature: {a} -> {b}", rust[:i] + b + rust[i + len(a):]))
    return [m for m in out if m.rust != rust]


@dataclass
class ExampleSoundness:
    example_id: str
    reference: Verdict | None
    mutants: list[tuple[Mutant, Verdict]] = field(default_factory=list)

    @property
    def caught(self) -> int:
        return sum(v.status != "pass" for _, v in self.mutants)

    def survivors(self) -> list[Mutant]:
        return [m for m, v in self.mutants if v.status == "pass"]


@dataclass
class SoundnessReport:
    examples: list[ExampleSoundness]
    min_caught: int = 2

    @property
    def reference_failures(self) -> list[ExampleSoundness]:
        return [e for e in self.examples if e.reference is not None and e.reference.status != "pass"]

    @property
    def missing_reference(self) -> list[str]:
        return [e.example_id for e in self.examples if e.reference is None]

    @property
    def weak(self) -> list[ExampleSoundness]:
        return [e for e in self.examples if e.reference is not None and e.caught < self.min_caught]

    def kill_rate(self, kind: str | None = None) -> tuple[int, int]:
        pairs = [(m, v) for e in self.examples for m, v in e.mutants if kind is None or m.kind == kind]
        return sum(v.status != "pass" for _, v in pairs), len(pairs)

    @property
    def sound(self) -> bool:
        return not self.reference_failures and not self.weak

    def render(self) -> str:
        lines = [f"examples: {len(self.examples)}  references failing: {len(self.reference_failures)}  "
                 f"without reference: {len(self.missing_reference)}  weak (< {self.min_caught} mutants caught): "
                 f"{len(self.weak)}"]
        k, n = self.kill_rate()
        lines.append(f"mutant kill rate: {k}/{n} = {k / n:.1%}" if n else "mutant kill rate: no mutants")
        for kind in KINDS:
            k, n = self.kill_rate(kind)
            if n:
                lines.append(f"  {kind}: {k}/{n} = {k / n:.1%}")
        for e in self.reference_failures:
            assert e.reference is not None
            lines.append(f"REFERENCE FAILS {e.example_id}: {e.reference.status} "
                         f"{' '.join(e.reference.error_codes)} {e.reference.diagnostics[:300]!r}")
        for e in self.weak:
            surv = "; ".join(f"{m.kind} {m.description}" for m in e.survivors())
            lines.append(f"WEAK {e.example_id}: {e.caught}/{len(e.mutants)} caught; survivors: {surv}")
        return "\n".join(lines)


def check_soundness(examples: Sequence[Example], ground_truth: GroundTruth | None = None, per_kind: int = 2,
                    min_caught: int = 2) -> SoundnessReport:
    """Verify every reference and its mutants in one batched call."""
    from sse.scorers.api import VerifyRequest, verify_batch

    gt = ground_truth or GroundTruth()
    reqs: list[VerifyRequest] = []
    owners: list[tuple[int, Mutant | None]] = []
    results = [ExampleSoundness(e.id, None) for e in examples]
    for idx, e in enumerate(examples):
        if e.kind != "function" or not e.rust_reference:
            continue
        reqs.append(VerifyRequest(e, e.rust_reference, gt))
        owners.append((idx, None))
        for m in make_mutants(e.rust_reference, e.entry_point, per_kind):
            reqs.append(VerifyRequest(e, m.rust, gt))
            owners.append((idx, m))
    verdicts = verify_batch(reqs)
    for (idx, m), v in zip(owners, verdicts, strict=True):
        if m is None:
            results[idx].reference = v
        else:
            results[idx].mutants.append((m, v))
    return SoundnessReport(results, min_caught=min_caught)


def main(argv: list[str] | None = None) -> int:
    from sse.task.corpus import load_corpus

    args = argv if argv is not None else sys.argv[1:]
    spec = args[0] if args else "bundled:functions"
    report = check_soundness(load_corpus(spec).examples)
    print(report.render())
    return 0 if report.sound else 1


if __name__ == "__main__":
    raise SystemExit(main())
