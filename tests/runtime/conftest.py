from __future__ import annotations

from pathlib import Path

import pytest

from sse.artifacts.convert import convert
from sse.artifacts.tiny import make_tiny_llama
from sse.runtime.loader import NativeModel, load_native


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_llama(tmp_path_factory.mktemp("tiny") / "model", seed=5)


@pytest.fixture(scope="session")
def tiny_apr(tiny_folder: Path) -> Path:
    out = tiny_folder.parent / "tiny.f32.apr"
    convert([tiny_folder], out, "f32")
    return out


@pytest.fixture(scope="session")
def tiny_native(tiny_apr: Path) -> NativeModel:
    return load_native(tiny_apr)
