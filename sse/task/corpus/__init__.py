"""Corpora: loading, validation against the Python, Py2Rs level classification.

Public seam (used by config, pipeline and CLI):
- `Corpus`: name, path, kind ("function" | "program"), examples, key().
- `load_corpus(spec)`: spec is "bundled:NAME", a folder, or a .jsonl file.
- `bundled_corpus_path(name)`: raises KeyError(list of names) when unknown.
"""

from __future__ import annotations

from sse.task.corpus.loader import Corpus, bundled_corpus_path, load_corpus

__all__ = ["Corpus", "bundled_corpus_path", "load_corpus"]
