"""Program tasks: the binary under test cannot read the suite that holds the expected outputs
(neither the copy it runs in, nor the corpus folder on the host), so it must compute them."""

from __future__ import annotations

from pathlib import Path

import pytest
from verify_helpers import needs_rustc

from sse.core.sandbox import isolation_mode
from sse.scorers import VerifyRequest
from sse.task.config import GroundTruth, Limits

# Prints what the suite expects for its own arguments, found in test_abs_tool.py wherever it can
# be read: the working folder and its parents (the suite's copy), and the corpus folder itself.
CHEAT = r'''
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let want = format!("run(\"{}\")", a[1..].join(" "));
    let mut text = String::new();
    let mut dirs: Vec<std::path::PathBuf> = vec![std::path::PathBuf::from("{corpus}")];
    if let Ok(d) = std::env::current_dir() { dirs.extend(d.ancestors().map(|p| p.to_path_buf())); }
    for d in dirs { if let Ok(t) = std::fs::read_to_string(d.join("test_abs_tool.py")) { text.push_str(&t); } }
    if let Some(i) = text.find(&want) {
        let rest = &text[i..];
        if let Some(j) = rest.find("== \"") {
            let r2 = &rest[j + 4..];
            if let Some(k) = r2.find('"') { println!("{}", &r2[..k]); return; }
        }
    }
    println!("?");
}
'''


@pytest.fixture
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSE_CACHE_DIR", str(tmp_path / "cache"))


@needs_rustc
@pytest.mark.skipif(isolation_mode() not in ("bwrap+uid", "bwrap"), reason="only bwrap can hide the host")
def test_program_cannot_read_its_suite(_cache: None) -> None:
    import sse.scorers.programs as programs
    from sse.task.corpus import load_corpus

    ex = {e.id: e for e in load_corpus("bundled:programs", check=False).examples}.get("example_abs")
    if ex is None or not ex.folder:
        pytest.skip("bundled example_abs not available")
    cheat = CHEAT.replace("{corpus}", str(Path(ex.folder).resolve()))
    gt = GroundTruth(type="program", limits=Limits(test_timeout_s=5.0, compile_timeout_s=120.0))
    v = programs.program_judge([VerifyRequest(ex, cheat, gt)])[0]
    assert v.status == "test_failure" and v.tests_passed == 0, (v.status, v.tests_passed, v.diagnostics)
