"""Converter + SPC gate + validator on a tiny random Llama written in the test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sse.artifacts.convert import check_tokenizer, convert, load_gguf, load_hf_folder
from sse.artifacts.stages import apr_path, convert_stage, ensure_apr, validate_stage
from sse.artifacts.tiny import make_tiny_gguf, make_tiny_llama
from sse.artifacts.validate import validate_apr
from sse.core.errors import ArtifactError
from sse.runtime.apr import AprFile, write_apr
from sse.runtime.loader import load_native
from sse.task.spec import SystemSpec


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_llama(tmp_path_factory.mktemp("tiny") / "model", seed=3)


@pytest.mark.parametrize("quant", ["f32", "f16", "q8_0"])
def test_hf_folder_converts_and_validates(tiny: Path, tmp_path: Path, quant: str) -> None:
    out = tmp_path / f"m.{quant}.apr"
    rep = convert([tiny], out, quant)
    assert rep["passed"] and out.exists()
    assert {g["gate"] for g in rep["gates"]} == {"kl_mean", "kl_max", "cosine_mean", "top1", "top5"}
    apr = AprFile(out)
    md = apr.metadata
    assert md["quantization"] == quant and md["provenance"]["format"] == "hf-safetensors"
    assert all(len(f["sha256"]) == 64 for f in md["provenance"]["files"])
    assert "<|im_start|>" in md["chat_template"]
    assert md["gate"]["measured"]["kl_mean"] == rep["measured"]["kl_mean"]
    v = validate_apr(out)
    assert v["passed"] and v["top5_agreement"] >= 0.9
    if quant == "f32":
        assert rep["measured"]["kl_max"] < 1e-9
    if quant == "q8_0":
        assert any(n.endswith(".q8") for n in apr.names())
        assert apr.tensor("layers.0.wq.q8").dtype == np.int8
    assert list(tmp_path.glob(".*.tmp")) == []


def test_gguf_source_matches_hf_source(tiny: Path, tmp_path: Path) -> None:
    """The GGUF path (permuted Q/K, tokenizer rebuilt from metadata) gives the same model."""
    g = make_tiny_gguf(tiny, tmp_path / "m.gguf", qtype="F32")
    a = convert([g], tmp_path / "g.apr", "f32")
    b = convert([tiny], tmp_path / "h.apr", "f32")
    assert a["passed"] and b["passed"]
    ma, mb = load_native(tmp_path / "g.apr"), load_native(tmp_path / "h.apr")
    text = "def add(a: int, b: int) -> int:\n    return a + b  # 2024"
    ids = ma.tokenizer.encode(text)
    assert ids == mb.tokenizer.encode(text)
    np.testing.assert_allclose(ma.model.teacher_forced_logits(ids), mb.model.teacher_forced_logits(ids),
                               atol=1e-5)
    assert AprFile(tmp_path / "g.apr").metadata["provenance"]["format"] == "gguf"


def test_gguf_q8_source_is_dequantised(tiny: Path, tmp_path: Path) -> None:
    g = make_tiny_gguf(tiny, tmp_path / "m8.gguf", qtype="Q8_0")
    src, ref = load_gguf(g), load_hf_folder(tiny)
    err = max(float(np.abs(src.weights[k] - ref.weights[k]).max()) for k in ref.weights)
    assert 0 < err < 0.01  # dequantised, not raw bytes
    assert "Q8_0" in src.provenance["source_tensor_types"]


def test_failing_gate_names_gate_value_threshold_and_leaves_no_file(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "m.apr"
    with pytest.raises(ArtifactError) as e:
        convert([tiny], out, "q8_0", thresholds={"kl_mean": 1e-12})
    msg = str(e.value)
    assert "gate kl_mean failed" in msg and "threshold <= 1e-12" in msg and "measured" in msg
    assert "\n" not in msg
    assert not out.exists() and (not out.parent.exists() or list(out.parent.iterdir()) == [])


def test_unknown_gate_and_quantization_refused(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="unknown gate"):
        convert([tiny], tmp_path / "m.apr", "q8_0", thresholds={"perplexity": 1.0})
    with pytest.raises(ArtifactError, match="quantization 'q2_k' is not supported"):
        convert([tiny], tmp_path / "m.apr", "q2_k")


def test_unsupported_architectures(tiny: Path, tmp_path: Path) -> None:
    g = make_tiny_gguf(tiny, tmp_path / "q.gguf", arch="mamba")
    with pytest.raises(ArtifactError, match=r"architecture 'mamba' is not supported \(supported: gemma3, llama, "
                                            r"phi3, qwen2, qwen3\)") as e:
        convert([g], tmp_path / "q.apr", "f32")
    assert "\n" not in e.value.one_line()
    bad = tmp_path / "gpt2"
    bad.mkdir()
    cfg = json.loads((tiny / "config.json").read_text())
    cfg.update(model_type="gpt2", architectures=["GPT2LMHeadModel"])
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ArtifactError, match="model_type 'gpt2' is not supported .supported: gemma3, gemma3_text, "
                                            "llama, mistral, phi3, qwen2, qwen3"):
        convert([bad], tmp_path / "b.apr", "f32")
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf at all" * 10)
    with pytest.raises(ArtifactError, match="not a readable GGUF"):
        convert([junk], tmp_path / "j.apr", "f32")
    assert not list(tmp_path.glob("*.apr"))


def test_tokenizer_mismatch_with_source_is_an_error(tiny: Path) -> None:
    src = load_hf_folder(tiny)
    from sse.runtime.tokenizer import Tokenizer

    tok = Tokenizer(src.tokenizer_json)
    assert check_tokenizer(src, tok, "x")["reference"] == "source"
    src.reference_tokenizer = lambda t: [0] + tok.encode(t)
    with pytest.raises(ArtifactError, match="rebuilt tokenizer encodes"):
        check_tokenizer(src, tok, "x")


def test_validator_catches_wrong_weights_with_valid_checksums(tiny: Path, tmp_path: Path) -> None:
    good = tmp_path / "g.apr"
    convert([tiny], good, "f32")
    apr = AprFile(good)
    tensors = {n: np.array(apr.tensor(n)) for n in apr.names()}
    rng = np.random.default_rng(9)
    for n in tensors:
        if n.startswith("layers.") and tensors[n].ndim == 2:
            tensors[n] = rng.standard_normal(tensors[n].shape).astype(np.float32)
    tensors["tok_embd"] = rng.standard_normal(tensors["tok_embd"].shape).astype(np.float32)
    bad = write_apr(tmp_path / "bad.apr", apr.metadata, tensors)
    AprFile(bad, verify_tensors=True)  # checksums are fine ...
    with pytest.raises(ArtifactError, match="logit check failed: top-5 agreement"):
        validate_apr(bad)  # ... but the logits are not


def test_stages(tiny: Path, tmp_path: Path) -> None:
    spec = SystemSpec(name="tiny/x", kind="native", source={"path": str(tiny)}, options={"quantization": "f16"})
    p = apr_path(spec, tmp_path)
    assert p.name.startswith("tiny_x.f16.") and p.suffix == ".apr"
    assert apr_path(spec, tmp_path) == p
    other = SystemSpec(name="tiny/x", kind="native", source={"path": str(tiny)}, options={"quantization": "q8_0"})
    assert apr_path(other, tmp_path) != p
    rep = convert_stage(spec, [tiny / "config.json", tiny / "model.safetensors"], p)
    assert rep["passed"] and validate_stage(p)["passed"]
    explicit = SystemSpec(name="e", kind="native", options={"apr": str(p)})
    assert ensure_apr(explicit, tmp_path) == p
    bad = SystemSpec(name="e", kind="native", options={"quantization": "q3"})
    with pytest.raises(ArtifactError, match="options.quantization"):
        apr_path(bad, tmp_path)
