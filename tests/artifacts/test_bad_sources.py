"""Bad model sources: each is one line naming the file and field, and no .apr is left behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sse.artifacts.convert import convert
from sse.artifacts.tiny import make_tiny_gguf, make_tiny_llama
from sse.core.errors import ArtifactError
from sse.runtime.apr import AprFile, write_apr
from sse.runtime.loader import load_native


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_llama(tmp_path_factory.mktemp("tiny") / "model", seed=4)


def _refused(sources: list[Path], out: Path, pattern: str) -> str:
    with pytest.raises(ArtifactError, match=pattern) as e:
        convert(sources, out, "f32")
    line = e.value.one_line()
    assert "\n" not in line
    assert not out.exists() and not list(out.parent.glob(f".{out.name}*"))
    return line


def _with_rope_scaling(tiny: Path, d: Path, scaling: dict[str, object]) -> Path:
    shutil.copytree(tiny, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["rope_scaling"] = scaling
    (d / "config.json").write_text(json.dumps(cfg))
    return d


def test_unknown_rope_scaling_hf(tiny: Path, tmp_path: Path) -> None:
    d = _with_rope_scaling(tiny, tmp_path / "yarn", {"rope_type": "yarn", "factor": 4.0})
    line = _refused([d], tmp_path / "y.apr", r"RoPE scaling type 'yarn' is not supported \(supported: default, "
                                             r"linear, llama3, longrope, factors\)")
    assert "config.json" in line and "rope_scaling" in line


def test_unknown_rope_scaling_gguf(tiny: Path, tmp_path: Path) -> None:
    g = make_tiny_gguf(tiny, tmp_path / "y.gguf", rope_scaling_type="yarn")
    line = _refused([g], tmp_path / "y.apr", "RoPE scaling type 'yarn' is not supported")
    assert "llama.rope.scaling.type" in line


def test_gguf_with_a_missing_tensor(tiny: Path, tmp_path: Path) -> None:
    g = make_tiny_gguf(tiny, tmp_path / "m.gguf", drop=("blk.1.ffn_down.weight",))
    line = _refused([g], tmp_path / "m.apr", r"missing tensor layers\.1\.w_down")
    assert "m.gguf" in line


def test_incomplete_llama3_scaling_and_bad_apr_architecture(tiny: Path, tmp_path: Path) -> None:
    d = _with_rope_scaling(tiny, tmp_path / "l3", {"rope_type": "llama3", "factor": 8.0})
    _refused([d], tmp_path / "l3.apr", "RoPE scaling 'llama3' lacks low_freq_factor, high_freq_factor, "
                                       "original_max_position_embeddings")
    good = tmp_path / "good.apr"
    convert([tiny], good, "f32")
    apr = AprFile(good)
    md = dict(apr.metadata)
    md["architecture"] = {**md["architecture"], "architecture": "mamba"}
    bad = write_apr(tmp_path / "bad.apr", md, {n: apr.tensor(n) for n in apr.names()})
    with pytest.raises(ArtifactError, match=r"architecture 'mamba' is not supported \(supported: gemma3, llama, "
                                            r"mistral, phi3, qwen2, qwen3\)"):
        load_native(bad)
