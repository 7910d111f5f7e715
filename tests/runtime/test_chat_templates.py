"""The families' chat layouts render exactly (ChatML, Gemma turns, Llama 3 headers, Phi-3), and a
model without a template falls back to a plain layout. Templates are written here in each
family's published layout, using the constructs their real templates use (namespace, loop
controls, raise_exception, system folding)."""

from __future__ import annotations

import pytest

from sse.core.errors import ArtifactError
from sse.runtime.chat import ChatTemplate

CHATML = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
GEMMA = ("{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set first = messages[0]['content'] + '\\n\\n' %}"
         "{% set loop_messages = messages[1:] %}{% else %}{% set first = '' %}{% set loop_messages = messages %}"
         "{% endif %}{% for m in loop_messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
         "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
         "{% set role = 'model' if m['role'] == 'assistant' else m['role'] %}"
         "{{ '<start_of_turn>' + role + '\\n' + (first if loop.first else '') + m['content'] | trim + "
         "'<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}")
LLAMA3 = ("{{ bos_token }}{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
          "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] | trim + '<|eot_id|>' }}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
          "{% endif %}")
PHI3 = ("{% for m in messages %}{% if m['role'] == 'tool' %}{% continue %}{% endif %}"
        "{{ '<|' + m['role'] + '|>\\n' + m['content'] + '<|end|>\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}")

MSGS = [{"role": "system", "content": "You translate Python to Rust."}, {"role": "user", "content": "def f(): pass"}]


@pytest.mark.parametrize(("source", "bos", "eos", "want"), [
    (CHATML, "", "", "<|im_start|>system\nYou translate Python to Rust.<|im_end|>\n<|im_start|>user\ndef f(): pass"
                     "<|im_end|>\n<|im_start|>assistant\n"),
    (GEMMA, "<bos>", "<eos>", "<bos><start_of_turn>user\nYou translate Python to Rust.\n\ndef f(): pass<end_of_turn>\n"
                              "<start_of_turn>model\n"),
    (LLAMA3, "<|begin_of_text|>", "<|eot_id|>",
     "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou translate Python to Rust.<|eot_id|>"
     "<|start_header_id|>user<|end_header_id|>\n\ndef f(): pass<|eot_id|><|start_header_id|>assistant"
     "<|end_header_id|>\n\n"),
    (PHI3, "<s>", "<|endoftext|>", "<|system|>\nYou translate Python to Rust.<|end|>\n<|user|>\ndef f(): pass<|end|>\n"
                                   "<|assistant|>\n"),
])
def test_family_layouts(source: str, bos: str, eos: str, want: str) -> None:
    assert ChatTemplate(source, bos_token=bos, eos_token=eos).render(MSGS) == want


def test_template_errors_and_fallback() -> None:
    bad = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    with pytest.raises(Exception, match="alternate"):
        ChatTemplate(GEMMA, bos_token="<bos>").render(bad)
    with pytest.raises(ArtifactError, match="chat template does not parse"):
        ChatTemplate("{% for %}")
    assert ChatTemplate(None).render(MSGS) == "system: You translate Python to Rust.\nuser: def f(): pass\nassistant: "
    assert ChatTemplate(PHI3, eos_token="<|endoftext|>").render(MSGS[1:], add_generation_prompt=False) == \
        "<|user|>\ndef f(): pass<|end|>\n<|endoftext|>"


def test_sandbox_refuses_attribute_escapes() -> None:
    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(Exception):  # noqa: B017 - jinja's SecurityError
        ChatTemplate(evil).render(MSGS)
