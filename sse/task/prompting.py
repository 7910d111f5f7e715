"""Prompt styles and answer-shaped stop policies: what a task asks for and how a model is driven.

Two prompt styles:
- `chat`: the task's system prompt and user template, through the model's chat template;
- `completion` (what MultiPL-E and base code models use): the Python source as a comment, then
  the Rust signature and an opening brace, which the model continues; the answer is the
  signature plus the continuation. It needs a Rust signature, so program tasks cannot use it.
`auto` (the default) is `chat` when the model has a chat template, else `completion`.

Stop policies (part of the decoding, hence of every generation key):
- `code_block`: the answer is one fenced code block, so generation ends when the first Rust
  (or unlabelled) fenced block closes; for completion prompts, when the function body's braces
  close. Decided incrementally on the decoded text (`StopMatcher.feed`), never by trimming
  afterwards, so the tokens not needed are never computed.
- `none`: only EOS, stop strings and max_tokens end generation.

The fence and literal rules are the extractor's (sse.task.rust_text, shared with sse.scorers.extract), so a stop never cuts
what the extractor would take.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from sse.core.errors import ConfigError
from sse.task.rust_text import FENCE_RE, RUST_LANGS, skip_literal

PROMPT_STYLES = ("auto", "chat", "completion")
STOP_POLICIES = ("code_block", "none")
FINISH_REASONS = ("stop_on_block", "eos", "max_tokens", "stop_string")


def check_prompt_style(value: object, *, file: str | None, field: str, allow_auto: bool = True) -> str:
    """The style named by a config value, or a one-line ConfigError naming file and field."""
    allowed = PROMPT_STYLES if allow_auto else PROMPT_STYLES[1:]
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"unknown prompt style {value!r}", file=file, field=field,
                          fix=f"use one of {', '.join(allowed)}")
    return value


def check_stop_policy(value: object, *, file: str | None, field: str) -> str:
    """The stop policy named by a config value, or a one-line ConfigError naming file and field."""
    if not isinstance(value, str) or value not in STOP_POLICIES:
        raise ConfigError(f"unknown stop policy {value!r}", file=file, field=field,
                          fix=f"use one of {', '.join(STOP_POLICIES)}")
    return value


def check_completion_allowed(style: str, ground_truth_type: str, *, file: str | None, field: str) -> None:
    """A completion prompt continues a Rust signature: tasks without one (programs) cannot use it."""
    if style == "completion" and ground_truth_type != "compiler":
        raise ConfigError(f"a completion prompt needs a Rust signature, and {ground_truth_type!r} tasks have none",
                          file=file, field=field, fix="use `chat` (or `auto`) for this task")


def resolve_style(requested: str, has_chat_template: bool) -> str:
    """`auto` -> chat for models with a chat template, completion for base models."""
    if requested == "auto":
        return "chat" if has_chat_template else "completion"
    return requested


# ------------------------------------------------------------------------------------------------ completion
@dataclass(frozen=True)
class CompletionPrompt:
    """The text the model continues, and what its answer starts with (the code it was given)."""

    text: str
    answer_prefix: str


_COLLECTIONS = ("HashMap", "HashSet", "BTreeMap", "BTreeSet", "VecDeque")


def render_completion(python_code: str, signature: str) -> CompletionPrompt:
    """Python as a `//` comment, then the `use` lines the signature needs, the signature and `{`."""
    if not signature.strip():
        raise ValueError("a completion prompt needs a Rust signature")
    comment = "\n".join(f"// {line}".rstrip() for line in python_code.rstrip().splitlines())
    used = [c for c in _COLLECTIONS if re.search(rf"\b{c}\b", signature)]
    uses = f"use std::collections::{{{', '.join(used)}}};\n\n" if len(used) > 1 else \
        (f"use std::collections::{used[0]};\n\n" if used else "")
    code = f"{uses}{signature.strip()} {{"
    text = f"// Python:\n{comment}\n//\n// The same function in Rust:\n{code}"
    return CompletionPrompt(text=text, answer_prefix=code)


# ------------------------------------------------------------------------------------------------ stopping
class StopMatcher(Protocol):
    """Fed the decoded text so far (growing); returns where the answer ends once it has."""

    def feed(self, text: str) -> int | None:
        ...


def stable_length(text: str) -> int:
    """Length of the decoded text that later tokens cannot change (a split UTF-8 char decodes as U+FFFD)."""
    return len(text.rstrip("\ufffd"))


class CodeBlockStop:
    """Ends at the line closing the first Rust or unlabelled fenced block (other languages skipped)."""

    def __init__(self) -> None:
        self._pos = 0  # start of the first line not yet looked at
        self._close: re.Pattern[str] | None = None
        self._rust = False

    def feed(self, text: str) -> int | None:
        end = stable_length(text)
        while True:
            nl = text.find("\n", self._pos, end)
            if nl < 0:
                return None  # judge only complete lines: "```" may still become "```rust"
            line = text[self._pos:nl]
            self._pos = nl + 1
            if self._close is None:
                m = FENCE_RE.match(line)
                if m:
                    fence = m.group(1)
                    self._close = re.compile(rf"[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*")
                    self._rust = m.group(2).lower() in RUST_LANGS
            elif self._close.fullmatch(line):
                if self._rust:
                    return nl
                self._close = None


class BodyCloseStop:
    """Ends at the brace closing the function whose opening brace ended the prompt.

    Braces inside strings, chars and comments do not count (the extractor's literal rules).
    A literal or comment still open at the end of the text waits for more text.
    """

    _CHAR_LOOKAHEAD = 12  # the longest char literal, '\u{10FFFF}', may still be arriving
    _RAW_OPENER = re.compile(r"b?r?#*")  # what may still grow into a raw/byte string opener

    def __init__(self, depth: int = 1) -> None:
        self._pos = 0
        self._depth = depth

    def feed(self, text: str) -> int | None:
        end = stable_length(text)
        code = text[:end]
        i = self._pos
        while i < end:
            j = skip_literal(code, i)
            if j != i:
                if j >= end:  # may be unfinished: look again when more text has come
                    break
                i = j
                continue
            if self._unfinished(code, i, end):
                break
            c = code[i]
            if c == "{":
                self._depth += 1
            elif c == "}":
                self._depth -= 1
                if self._depth == 0:
                    self._pos = i + 1
                    return i + 1
            i += 1
        self._pos = i
        return None

    def _unfinished(self, code: str, i: int, end: int) -> bool:
        """True when the text from i may still become a literal or comment opener."""
        c = code[i]
        if c == "/":
            return i == end - 1
        if c == "'":
            return end - i < self._CHAR_LOOKAHEAD
        if c in "rb" and (i == 0 or not (code[i - 1].isalnum() or code[i - 1] == "_")):
            return self._RAW_OPENER.fullmatch(code, i, end) is not None
        return False


def stop_matcher(policy: str, style: str) -> StopMatcher | None:
    """A fresh matcher for one request (None: the policy adds no stop)."""
    if policy == "none":
        return None
    return BodyCloseStop() if style == "completion" else CodeBlockStop()
