"""Typed build entries: one line of a generate shard (GenEntry) and of a verify shard (VerifyEntry).

Build files are the run layer's cache: `to_json()` writes exactly the dicts the shards have always
held (same keys, same order, same absent-vs-null), so a cache written before these types existed
is read, reused and written back byte for byte (tests/pipeline/test_entries.py).

RETRY is the typed form of the `<retry>` line of a `.keys` sidecar: an entry the harness failed on,
which keeps its target out of date until it is redone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from sse.core.records import Completion, Verdict


class Retry:
    """The marker of an entry to redo (harness failure, skipped system) in a sidecar's key list."""

    LINE = "<retry>"  # how a sidecar spells it

    def __repr__(self) -> str:
        return "RETRY"


RETRY = Retry()
SidecarKey = str | Retry  # a store key, or RETRY


def sidecar_line(k: SidecarKey) -> str:
    return Retry.LINE if isinstance(k, Retry) else k


def sidecar_key(line: str) -> SidecarKey:
    return RETRY if line == Retry.LINE else line


@dataclass(frozen=True)
class GenEntry:
    """A completion of one example in a generate shard (`key`: its store key)."""

    key: str
    example_id: str
    example_key: str
    completion: Completion

    @property
    def kept(self) -> bool:
        """A completion the store keeps: no error, or the system's own timeout (a harness failure
        is retried)."""
        c = self.completion
        return not c.error or c.error_kind == "timeout"

    def sidecar_key(self) -> SidecarKey:
        return self.key if self.kept else RETRY

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "example_id": self.example_id,
            "example_key": self.example_key,
            "completion": self.completion.to_dict(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GenEntry:
        return cls(
            key=d["key"],
            example_id=d["example_id"],
            example_key=d["example_key"],
            completion=Completion.from_dict(d["completion"]),
        )


@dataclass(frozen=True)
class PlusCheck:
    """The base+plus judgement of an answer that passed base: its verdict key and verdict (None
    while it waits for the judge)."""

    key: str
    verdict: Verdict | None = None


#: judged: Rust was extracted and judged; timeout: the system timed out, a synthetic verdict with no
#: Rust; unverified: the completion is a harness failure, nothing judged (retried)
VerifyKind = Literal["judged", "timeout", "unverified"]


@dataclass(frozen=True)
class VerifyEntry:
    """The verdict of one completion in a verify shard (`key`: the verdict's store key)."""

    example_id: str
    example_key: str
    completion_key: str
    kind: VerifyKind
    key: str = ""
    rust_key: str = ""
    rust: str | None = None
    verdict: Verdict | None = None
    plus: PlusCheck | None = None

    @property
    def status(self) -> str | None:
        return None if self.verdict is None else self.verdict.status

    def with_verdict(self, verdict: Verdict) -> VerifyEntry:
        return dataclasses.replace(self, verdict=verdict)

    def with_plus(self, key: str, verdict: Verdict | None) -> VerifyEntry:
        return dataclasses.replace(self, plus=PlusCheck(key, verdict))

    def sidecar_keys(self) -> list[SidecarKey]:
        """The store keys this entry stands on; RETRY for a missing or harness-failed verdict."""
        out: list[SidecarKey] = []
        if self.verdict is None or self.verdict.status == "infra_error":
            out.append(RETRY)
        elif self.key and self.kind != "timeout":  # a synthetic verdict is not stored
            out.append(self.key)
        if self.plus is not None and self.plus.verdict is not None:
            out.append(RETRY if self.plus.verdict.status == "infra_error" else self.plus.key)
        return out

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "example_id": self.example_id,
            "example_key": self.example_key,
            "completion_key": self.completion_key,
            "key": self.key,
            "rust_key": self.rust_key,
        }
        if self.kind == "judged":
            d["rust"] = self.rust
        d["verdict"] = None if self.verdict is None else self.verdict.to_dict()
        if self.kind == "timeout":
            d["synthetic"] = True
        if self.plus is not None:
            d["plus_key"] = self.plus.key
            d["plus_verdict"] = None if self.plus.verdict is None else self.plus.verdict.to_dict()
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> VerifyEntry:
        kind: VerifyKind = "timeout" if d.get("synthetic") else "judged" if "rust" in d else "unverified"
        v, pv = d.get("verdict"), d.get("plus_verdict")
        return cls(
            example_id=d["example_id"],
            example_key=d["example_key"],
            completion_key=d["completion_key"],
            kind=kind,
            key=d.get("key", ""),
            rust_key=d.get("rust_key", ""),
            rust=d.get("rust"),
            verdict=None if v is None else Verdict.from_dict(v),
            plus=PlusCheck(d["plus_key"], None if pv is None else Verdict.from_dict(pv))
            if "plus_key" in d
            else None,
        )
