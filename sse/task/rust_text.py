"""Rust text rules shared by the prompt's stop policy (sse.task.prompting) and the extractor
(sse.scorers.extract): which fences hold Rust, and where a literal or comment ends. One copy, so a
stop never cuts what the extractor would take.
"""

from __future__ import annotations

import re

FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([A-Za-z0-9_+.#-]*)[^\n]*$", re.M)
RUST_LANGS = {"rust", "rs", ""}


def skip_literal(code: str, i: int) -> int:
    """Index just past a string/char literal or comment starting at i (or i if none)."""
    c = code[i]
    if code.startswith("//", i):
        j = code.find("\n", i)
        return len(code) if j < 0 else j
    if code.startswith("/*", i):
        depth, j = 1, i + 2
        while j < len(code) and depth:
            if code.startswith("/*", j):
                depth, j = depth + 1, j + 2
            elif code.startswith("*/", j):
                depth, j = depth - 1, j + 2
            else:
                j += 1
        return j
    m = re.match(r'b?r(#*)"', code[i:])
    if m and (i == 0 or not (code[i - 1].isalnum() or code[i - 1] == "_")):
        end = code.find('"' + m.group(1), i + m.end())
        return len(code) if end < 0 else end + 1 + len(m.group(1))
    if c == '"':
        j = i + 1
        while j < len(code) and code[j] != '"':
            j += 2 if code[j] == "\\" else 1
        return j + 1
    if c == "'":
        m2 = re.match(r"'(\\.|\\u\{[0-9a-fA-F]+\}|\\x[0-9a-fA-F]{2}|[^\\'])'", code[i:])
        if m2:
            return i + m2.end()
    return i
