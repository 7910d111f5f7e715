"""Find the Rust in a model's completion.

Rules (documented in docs/ground-truth.md):
1. `<think>...</think>` reasoning is dropped.
2. Fenced blocks: ```rust / ```rs / unlabelled fences count as Rust; fences labelled with
   another language (python, toml, bash, text, ...) are ignored. An unclosed fence (truncated
   output) runs to the end of the text.
3. Several Rust blocks: the LAST block that defines `fn <entry_point>` wins (models revise:
   "here is the corrected version"), and any other Rust block that only adds items the
   chosen block does not define (helpers, `use` lines, structs) is prepended. When no block
   defines the entry point, all Rust blocks are joined in order (the model split its answer).
4. No fences: if the text looks like Rust, the code runs from the first line that starts an
   item (`use`, `fn`, `pub`, `#[`, `struct`, ...) to the last line that closes a brace, so
   prose before and after is dropped.
5. For function tasks, a stray `fn main` is removed (it was not asked for, and a broken one
   must not fail a correct function); for program tasks it is the point and is kept.
6. Nothing left but whitespace -> None, the verdict `no_code` (an empty file compiles).
"""

from __future__ import annotations

import re

from sse.core.records import Example
from sse.task.rust_text import FENCE_RE, RUST_LANGS, skip_literal

THINK_RE = re.compile(r"<think>.*?(</think>|\Z)", re.S)
ITEM_START_RE = re.compile(
    r"^\s*(pub(\([^)]*\))?\s+|#!?\[|use\s|fn\s|struct\s|enum\s|impl[\s<]|trait\s|const\s|static\s|mod\s|type\s|"
    r"extern\s|macro_rules!|//|/\*)"
)
ITEM_DEF_RE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+|async\s+|unsafe\s+)*(fn|struct|enum|trait|type|const|static|mod)\s+([A-Za-z_][A-Za-z0-9_]*)", re.M)


def _blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block, in order; an unclosed last fence runs to the end."""
    out: list[tuple[str, str]] = []
    pos = 0
    while True:
        m = FENCE_RE.search(text, pos)
        if not m:
            break
        fence, lang = m.group(1), m.group(2).lower()
        body_start = m.end() + 1
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.M)
        c = close.search(text, body_start)
        if c is None:
            out.append((lang, text[body_start:]))
            break
        out.append((lang, text[body_start:c.start()]))
        pos = c.end()
    return out


def _defines(code: str, name: str) -> bool:
    return re.search(rf"\bfn\s+{re.escape(name)}\s*[<(]", code) is not None


def _defined_items(code: str) -> set[tuple[str, str]]:
    return {(m.group(1), m.group(2)) for m in ITEM_DEF_RE.finditer(code)}


def _unfenced(text: str) -> str | None:
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ITEM_START_RE.match(ln)), None)
    if start is None or not re.search(r"\bfn\s+\w+", text):
        return None
    end = max((i for i, ln in enumerate(lines) if ln.rstrip().endswith("}")), default=len(lines) - 1)
    if end < start:
        end = len(lines) - 1
    return "\n".join(lines[start:end + 1])


def remove_main(code: str) -> str:
    """Drop a top-level `fn main() { ... }` (brace-matched, skipping strings and comments)."""
    m = re.search(r"^(?:pub\s+)?fn\s+main\s*\(\s*\)[^{;]*\{", code, re.M)
    if not m:
        return code
    depth, i = 1, m.end()
    while i < len(code) and depth:
        j = skip_literal(code, i)
        if j != i:
            i = j
            continue
        if code[i] == "{":
            depth += 1
        elif code[i] == "}":
            depth -= 1
        i += 1
    if depth:
        return code[: m.start()].rstrip() + "\n"  # truncated main: drop what there is
    return code[: m.start()] + code[i:]


def extract_rust(text: str, example: Example | None = None) -> str | None:
    """The Rust to compile, or None when the completion holds no code."""
    if not text or not text.strip():
        return None
    text = THINK_RE.sub("", text)
    entry = example.entry_point if example is not None else None
    blocks = _blocks(text)
    code: str | None
    if blocks:
        rust = [b for lang, b in blocks if lang in RUST_LANGS and b.strip()]
        if not rust:
            return None
        defining = [b for b in rust if entry and _defines(b, entry)]
        if defining:
            chosen = defining[-1]
            have = _defined_items(chosen)
            extra = [b for b in rust if b is not chosen and not (entry and _defines(b, entry))
                     and _defined_items(b) and not (_defined_items(b) & have)]
            code = "\n\n".join([*extra, chosen])
        else:
            code = "\n\n".join(rust)
    else:
        code = _unfenced(text)
    if code is None:
        return None
    if (example is None or example.kind == "function") and entry != "main":
        code = remove_main(code)
    code = code.strip("\n")
    return code + "\n" if code.strip() else None
