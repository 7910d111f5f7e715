"""Tokenizers over the `tokenizers` library (the tokenizer.json travels inside the .apr).

Two families, built either from a model's own tokenizer.json or from GGUF metadata:
byte-level BPE (`tokenizer.ggml.model = gpt2`: Qwen, Llama 3, SmolLM), whose
pre-tokenizer regexes llama.cpp selects by `tokenizer.ggml.pre`, and
SentencePiece-style BPE with byte fallback (`llama`: Gemma, Mistral, Phi-3), whose
merges are derived from the piece scores the way llama.cpp's bigram merger ranks
them. Control, unknown and user-defined tokens become added tokens, so they are
split out of the text before the model sees it, as llama.cpp does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tokenizers import Tokenizer as _HFTokenizer

from sse.core.errors import ArtifactError

# llama.cpp's token types (tokenizer.ggml.token_type)
T_NORMAL, T_UNKNOWN, T_CONTROL, T_USER, T_UNUSED, T_BYTE = 1, 2, 3, 4, 5, 6

_GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
_CONTRACTIONS = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
_LLAMA3 = (_CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2 = (_CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_DEEPSEEK_CODER = [r"[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+", r"\p{N}"]

# tokenizer.ggml.pre -> the regexes llama.cpp splits with, in order (each splits the pieces further)
BPE_PRE_REGEXES: dict[str, list[str]] = {
    **{k: [_GPT2] for k in ("gpt2", "gpt-2", "default", "mpt", "olmo", "jais")},
    **{k: [_LLAMA3] for k in ("llama-bpe", "llama3", "smaug-bpe", "dbrx")},
    **{k: [_QWEN2] for k in ("qwen2", "stablelm2", "deepseek-r1-qwen")},
    **{k: [r"\p{N}", _GPT2] for k in ("smollm", "starcoder", "refact", "codeshell", "command-r", "exaone")},
    "deepseek-coder": _DEEPSEEK_CODER,
}

# The fixed text set a rebuilt tokenizer must encode exactly as the source (llama.cpp or the
# model's tokenizer.json) does: code in several languages, Unicode, whitespace runs, specials.
TOKENIZER_TEXTS: tuple[str, ...] = (
    "def f(x):\n\treturn {'a': [1, 2, 3]}  # comment\n",
    "fn main() -> Result<(), Box<dyn Error>> {\n    let s: &str = \"héllo\";\n    Ok(())\n}\n",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }\n",
    "const add = (a, b) => a + b; // JavaScript\nconsole.log(`${add(1, 2)}`);\n",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;",
    "Ünïcödé: naïve café, Straße, ĳ, Ελληνικά, русский, 日本語のテキスト, 한국어, العربية, emoji 🦀🐍✨",
    "    four spaces\n        eight\n\n\n\ttab\t\ttabs   trailing   \r\nCRLF",
    "numbers 0 1 12 123 1234 12345 3.14159 1e-10 0xFF -7",
    "I'm sure it's what we'd've DON'T they'll You're",
    "<|im_start|>user\nhi<|im_end|>\n<start_of_turn>model\nok<end_of_turn>\n<|eot_id|>",
    "  leading spaces\tand\ttabs\n\n end 12345",
    "a",
    " ",
)


class Tokenizer:
    """Encode/decode with the model's own tokenizer; knows its special ids."""

    def __init__(self, tokenizer_json: str, *, add_bos: bool = False, bos_token_id: int | None = None) -> None:
        self.json = tokenizer_json
        self._tok = _HFTokenizer.from_str(tokenizer_json)
        self.add_bos = add_bos
        self.bos_token_id = bos_token_id

    @property
    def vocab_size(self) -> int:
        return int(self._tok.get_vocab_size(with_added_tokens=True))

    def encode(self, text: str, *, add_bos: bool | None = None) -> list[int]:
        """Special tokens written in the text are parsed (a rendered chat template contains them)."""
        ids = list(self._tok.encode(text, add_special_tokens=False).ids)
        bos = self.add_bos if add_bos is None else add_bos
        if bos and self.bos_token_id is not None and (not ids or ids[0] != self.bos_token_id):
            ids.insert(0, self.bos_token_id)
        return ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = True) -> str:
        return str(self._tok.decode(list(ids), skip_special_tokens=skip_special_tokens))

    def token_to_id(self, token: str) -> int | None:
        v = self._tok.token_to_id(token)
        return None if v is None else int(v)

    def id_to_token(self, i: int) -> str | None:
        return self._tok.id_to_token(int(i))


def _added(tk: Any, tokens: Sequence[str], types: Sequence[int]) -> None:
    from tokenizers import AddedToken

    specials = [AddedToken(tokens[i], special=True, normalized=False)
                for i, t in enumerate(types) if t in (T_CONTROL, T_UNKNOWN) and tokens[i]]
    user = [AddedToken(tokens[i], special=False, normalized=False)
            for i, t in enumerate(types) if t == T_USER and tokens[i]]
    if specials:
        tk.add_special_tokens(specials)
    if user:
        tk.add_tokens(user)


def _bpe_json(field: Callable[[str, Any], Any], file: str) -> str:
    from tokenizers import Regex, decoders, models, pre_tokenizers, processors

    pre = str(field("tokenizer.ggml.pre", "default"))
    regexes = BPE_PRE_REGEXES.get(pre)
    if regexes is None:
        raise ArtifactError(f"BPE pre-tokenizer {pre!r} is not supported (supported: "
                            f"{', '.join(sorted(BPE_PRE_REGEXES))})", file=file, field="tokenizer.ggml.pre",
                            fix="convert from a Hugging Face folder with tokenizer.json")
    tokens: list[str] = list(field("tokenizer.ggml.tokens", ...))
    types = list(field("tokenizer.ggml.token_type", [T_NORMAL] * len(tokens)))
    merges = [tuple(m.split(" ", 1)) for m in field("tokenizer.ggml.merges", ...)]
    vocab = {t: i for i, t in enumerate(tokens)}
    tk = _HFTokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False,
                                 ignore_merges=False))
    tk.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(r), behavior="isolated") for r in regexes]
        + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tk.decoder = decoders.ByteLevel()
    tk.post_processor = processors.ByteLevel(trim_offsets=False)
    _added(tk, tokens, types)
    return str(tk.to_str())


def spm_merges(tokens: Sequence[str], scores: Sequence[float], types: Sequence[int]) -> list[tuple[str, str]]:
    """Merges for a score-ranked SentencePiece vocabulary.

    llama.cpp merges the adjacent pair whose joined text is a token of highest score;
    a BPE merge list ranked by the joined token's score (then by id) does the same.
    """
    ids = {t: i for i, t in enumerate(tokens) if types[i] != T_BYTE}
    found: list[tuple[float, int, str, str]] = []
    for t, i in ids.items():
        if len(t) < 2:
            continue
        for k in range(1, len(t)):
            a, b = t[:k], t[k:]
            if a in ids and b in ids:
                found.append((-float(scores[i]), i, a, b))
    found.sort()
    return [(a, b) for _, _, a, b in found]


def _spm_json(field: Callable[[str, Any], Any], file: str) -> str:
    from tokenizers import decoders, models, normalizers

    tokens: list[str] = list(field("tokenizer.ggml.tokens", ...))
    types = list(field("tokenizer.ggml.token_type", [T_NORMAL] * len(tokens)))
    scores = list(field("tokenizer.ggml.scores", [0.0] * len(tokens)))
    add_prefix = bool(field("tokenizer.ggml.add_space_prefix", True))
    unk_id = field("tokenizer.ggml.unknown_token_id", None)
    vocab = {t: i for i, t in enumerate(tokens)}
    unk = tokens[int(unk_id)] if unk_id is not None and 0 <= int(unk_id) < len(tokens) else None
    tk = _HFTokenizer(models.BPE(vocab=vocab, merges=spm_merges(tokens, scores, types), unk_token=unk,
                                 fuse_unk=True, byte_fallback=True, ignore_merges=False))
    norm = [normalizers.Replace(" ", "\u2581")]
    if add_prefix:
        norm.insert(0, normalizers.Prepend("\u2581"))
    tk.normalizer = normalizers.Sequence(norm)
    dec = [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
    if add_prefix:
        dec.append(decoders.Strip(" ", 1, 0))
    tk.decoder = decoders.Sequence(dec)
    _added(tk, tokens, types)
    return str(tk.to_str())


def tokenizer_json_from_gguf(field: Callable[[str, Any], Any], file: str) -> tuple[str, dict[str, Any]]:
    """tokenizer.json and special-token metadata from GGUF `tokenizer.ggml.*` keys.

    `field(key, default)` reads a metadata value (default `...` = required).
    """
    model = field("tokenizer.ggml.model", None)
    builders = {"gpt2": _bpe_json, "llama": _spm_json}
    if model not in builders:
        raise ArtifactError(f"tokenizer model {model!r} is not supported (supported: gpt2 byte-level BPE, "
                            "llama SentencePiece BPE)", file=file, field="tokenizer.ggml.model",
                            fix="convert from a Hugging Face folder with tokenizer.json")
    tok_json = builders[model](field, file)
    tokens = field("tokenizer.ggml.tokens", ...)

    def tok_str(key: str) -> str | None:
        i = field(key, None)
        return str(tokens[int(i)]) if i is not None and 0 <= int(i) < len(tokens) else None

    meta = {"bos_token_id": field("tokenizer.ggml.bos_token_id", None),
            "eos_token_id": field("tokenizer.ggml.eos_token_id", None),
            "bos_token": tok_str("tokenizer.ggml.bos_token_id"), "eos_token": tok_str("tokenizer.ggml.eos_token_id"),
            "add_bos": bool(field("tokenizer.ggml.add_bos_token", model == "llama")),
            "source": "gguf-metadata", "model": model, "pre": field("tokenizer.ggml.pre", None)}
    eot = [tok_str(k) for k in ("tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id")]
    meta["extra_eos"] = sorted({int(field(k)) for k, s in zip(("tokenizer.ggml.eot_token_id",
                                                               "tokenizer.ggml.eom_token_id"), eot, strict=True)
                                if s is not None})
    return tok_json, meta
