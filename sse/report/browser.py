"""Open a report in headless Chromium through chromedriver's W3C WebDriver HTTP API.

Used by the report test and to produce screenshots. Only the standard library is
needed (urllib); the browser gets no network (a proxy that goes nowhere), no
sync, no component updates, and a throwaway profile.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def find_browser() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is missing."""
    chrome = next((p for p in CHROMIUM_CANDIDATES if Path(p).exists()), shutil.which("chromium"))
    driver = next((p for p in CHROMEDRIVER_CANDIDATES if Path(p).exists()), shutil.which("chromedriver"))
    return (chrome, driver) if chrome and driver else None


@dataclass
class PageCheck:
    """What the page looked like: console entries, DOM facts gathered by script, screenshot path."""

    console: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    screenshot: Path | None = None

    @property
    def console_errors(self) -> list[dict[str, Any]]:
        return [e for e in self.console if str(e.get("level", "")).upper() == "SEVERE"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(base: str, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 60) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read().decode() or "{}").get("value")
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"webdriver {method} {path}: {e.code} {e.read()[:300]!r}") from None


FACTS_SCRIPT = """
const svg = document.querySelector('#pareto-plot svg');
const box = svg ? svg.getBoundingClientRect() : null;
return {
  title: document.title,
  svg: !!svg,
  svg_width: box ? box.width : 0,
  svg_height: box ? box.height : 0,
  svg_paths: svg ? svg.querySelectorAll('path').length : 0,
  tables: document.querySelectorAll('table').length,
  rows: document.querySelectorAll('#systems-table tbody tr').length,
  text: document.body.innerText.slice(0, 20000)
};
"""


def check_page(html_path: Path, screenshot: Path | None = None, width: int = 1280, height: int = 2400,
               script: str = FACTS_SCRIPT, timeout: float = 90) -> PageCheck:
    """Load `html_path` (file://), run `script`, collect console logs, save a full-width screenshot."""
    found = find_browser()
    if not found:
        raise FileNotFoundError("chromium and chromedriver are needed (Debian: apt install chromium chromium-driver)")
    chrome, driver = found
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    profile = tempfile.mkdtemp(prefix="sse-chrome-")
    proc = subprocess.Popen([driver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    session = None
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                _call(base, "GET", "/status", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError("chromedriver did not start") from None
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chrome, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                f"--user-data-dir={profile}", f"--window-size={width},{height}"]},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}}
        sess = _call(base, "POST", "/session", caps, timeout=timeout)
        session = sess["sessionId"]
        s = f"/session/{session}"
        _call(base, "POST", s + "/url", {"url": Path(html_path).resolve().as_uri()}, timeout=timeout)
        facts = _call(base, "POST", s + "/execute/sync", {"script": script, "args": []}, timeout=timeout) or {}
        console = _call(base, "POST", s + "/se/log", {"type": "browser"}, timeout=timeout) or []
        shot = None
        if screenshot is not None:
            png = _call(base, "GET", s + "/screenshot", timeout=timeout)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(png))
            shot = screenshot
        return PageCheck(console=list(console), facts=dict(facts), screenshot=shot)
    finally:
        if session:
            try:
                _call(base, "DELETE", f"/session/{session}", timeout=20)
            except Exception:  # noqa: BLE001 - best effort cleanup
                pass
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
