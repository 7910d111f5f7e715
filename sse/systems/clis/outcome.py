"""What one call of a tool came to, and how its failures are told apart.

Failure classes (CallResult.failure), in the order they are recognised:

- `auth`      cannot log in / no key / unknown model: the system is skipped at once.
- `config`    the tool refuses how it was called (an option a plugin does not take, an
              untrusted folder): one configuration error for the system, skipped at once.
- `transient` rate limits, 5xx, network blips: retried with backoff.
- `unreachable` a remote service that could not be reached (connection errors, or nothing
              before the timeout and a connect probe that fails): infrastructure, never the
              model's failure.
- `timeout`   the model was reachable and slow: the model's failure.
- `permanent` anything else (400, malformed output, a crash of the tool).
"""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

AUTH = re.compile(
    r"invalid api key|invalid x-api-key|authentication|unauthori[sz]ed|\b401\b|/login|not logged in|"
    r"please log ?in|no api key|api key (is )?(missing|not (set|found|valid))|missing api key|"
    r"credentials? (not found|missing|invalid|expired)|oauth token (has )?expired|"
    r"auth(entication)? (failed|required)|No key found|not a known model|unknown model|"
    r"set an auth method|API_KEY_INVALID|api key not valid",
    re.IGNORECASE,
)
CONFIG = re.compile(
    r"not running in a trusted (directory|folder)|extra inputs are not permitted|"
    r"no such option|unknown (option|argument)s?:|unrecognized arguments?|"
    r"Error: Invalid value for|unexpected keyword argument|does not support (the )?options?",
    re.IGNORECASE,
)
# Connection-level failures: the service was not reached at all.
NETWORK = re.compile(
    r"fetch failed|econnrefused|enotfound|eai_again|ehostunreach|enetunreach|getaddrinfo|"
    r"name or service not known|temporary failure in name resolution|connection error|"
    r"could not resolve host|network is unreachable|no route to host|failed to establish a new connection|"
    r"connection refused|connecterror",
    re.IGNORECASE,
)
# Messages that mean "try again later". Checked after AUTH and CONFIG, so a 401 is never retried.
TRANSIENT = re.compile(
    r"\b(429|500|502|503|504|529)\b|rate.?limit|too many requests|overloaded|resource.?exhausted|"
    r"quota|temporar|try again|unavailable|internal server error|bad gateway|gateway time|"
    r"econnreset|etimedout|socket hang up|network|connection (reset|aborted)|timed out",
    re.IGNORECASE,
)


def one_line(text: str, limit: int = 300) -> str:
    s = " ".join(ANSI.sub("", text or "").split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def classify(message: str) -> str:
    """'auth' | 'config' | 'unreachable' | 'transient' | 'permanent' for a tool's error text."""
    m = message or ""
    if AUTH.search(m):
        return "auth"
    if CONFIG.search(m):
        return "config"
    if NETWORK.search(m):
        return "unreachable"
    if TRANSIENT.search(m):
        return "transient"
    return "permanent"


@dataclass
class CallResult:
    """One attempt's outcome. `failure` None means success."""

    text: str = ""
    tokens_in: int | None = None
    tokens_out: int | None = None
    dollars: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None  # see the module docstring
    message: str = ""
    latency_s: float = 0.0
    cpu_s: float | None = None
    ttft_s: float | None = None

    @classmethod
    def fail(cls, message: str, kind: str | None = None) -> CallResult:
        msg = one_line(message) or "no output"
        return cls(failure=kind or classify(msg), message=msg)


@dataclass
class Invocation:
    argv: list[str]
    stdin: str = ""
    env: dict[str, str] = field(default_factory=dict)


def as_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().replace(",", "").isdigit():
        return int(v.strip().replace(",", ""))
    return None


def total(*vals: int | None) -> int | None:
    got = [v for v in vals if v is not None]
    return sum(got) if got else None


def json_payload(text: str) -> Any:
    """Parse a tool's JSON output; tolerate log lines before it (find the first '{' or '[')."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    for opener in ("{", "["):
        i, tries = text.find(opener), 0
        while i != -1 and tries < 20:
            try:
                return json.loads(text[i:])
            except json.JSONDecodeError:
                i, tries = text.find(opener, i + 1), tries + 1
    raise ValueError(f"malformed JSON output: {one_line(text, 120) or 'empty output'}")


# ------------------------------------------------------------- reachability
def _endpoint(url: str) -> tuple[str, int] | None:
    u = urllib.parse.urlsplit(url if "://" in url else f"https://{url}")
    if not u.hostname:
        return None
    return u.hostname, u.port or (80 if u.scheme == "http" else 443)


def unreachable(urls: Iterable[str], env: dict[str, str], timeout_s: float = 5.0) -> str | None:
    """None when one of the services (or the HTTPS proxy that env names) accepts a TCP
    connection; else why none did. A connect-phase probe: no request is sent, nothing is paid."""
    proxy = env.get("HTTPS_PROXY") or env.get("https_proxy") or env.get("ALL_PROXY") or env.get("all_proxy")
    targets = [proxy] if proxy else list(urls)
    reasons = []
    for url in targets:
        ep = _endpoint(url)
        if ep is None:
            continue
        try:
            with socket.create_connection(ep, timeout=timeout_s):
                return None
        except OSError as e:
            reasons.append(f"{ep[0]}:{ep[1]} ({one_line(str(e), 80)})")
    if not reasons:
        return None  # nothing to probe: cannot tell
    via = " via proxy" if proxy else ""
    return f"cannot connect{via} to " + ", ".join(reasons)


def env_with(extra: dict[str, str]) -> dict[str, str]:
    """The process environment with a system's own variables on top."""
    env = dict(os.environ)
    env.update(extra)
    return env
