"""Chat templates rendered with jinja2 in a sandbox, as Hugging Face renders them.

Same environment as transformers' renderer (trim_blocks, lstrip_blocks, loop controls,
raise_exception, strftime_now), so the families' own templates -- ChatML (Qwen,
SmolLM), Gemma turns, Llama 3 headers, Phi -- render as their authors intended.
"""

from __future__ import annotations

import datetime
from typing import Any

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sse.core.errors import ArtifactError


def _raise(msg: str) -> None:
    raise jinja2.exceptions.TemplateError(msg)


def _strftime_now(fmt: str) -> str:
    return datetime.datetime.now().strftime(fmt)


class ChatTemplate:
    """A model's chat template; falls back to a plain 'role: text' layout when the model has none."""

    def __init__(self, source: str | None, *, bos_token: str = "", eos_token: str = "") -> None:
        self.source = source
        self.bos_token = bos_token
        self.eos_token = eos_token
        self._tpl: jinja2.Template | None = None
        if source:
            env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                extensions=[jinja2.ext.loopcontrols])
            env.globals["raise_exception"] = _raise
            env.globals["strftime_now"] = _strftime_now
            try:
                self._tpl = env.from_string(source)
            except jinja2.TemplateError as e:
                raise ArtifactError(f"chat template does not parse: {e}", field="metadata.chat_template",
                                    fix="convert from a source with a valid template") from e

    def render(self, messages: list[dict[str, str]], *, add_generation_prompt: bool = True,
               **extra: Any) -> str:
        if self._tpl is None:
            text = "".join(f"{m['role']}: {m['content']}\n" for m in messages)
            return text + ("assistant: " if add_generation_prompt else "")
        return self._tpl.render(messages=messages, add_generation_prompt=add_generation_prompt,
                                bos_token=self.bos_token, eos_token=self.eos_token, **extra)
