"""Tokenizer wrapper over the `tokenizers` library (the tokenizer.json travels inside the .apr)."""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import Tokenizer as _HFTokenizer


class Tokenizer:
    """Encode/decode with the model's own BPE; knows its special ids."""

    def __init__(self, tokenizer_json: str, *, add_bos: bool = False, bos_token_id: int | None = None) -> None:
        self.json = tokenizer_json
        self._tok = _HFTokenizer.from_str(tokenizer_json)
        self.add_bos = add_bos
        self.bos_token_id = bos_token_id

    @property
    def vocab_size(self) -> int:
        return int(self._tok.get_vocab_size(with_added_tokens=True))

    def encode(self, text: str) -> list[int]:
        ids = list(self._tok.encode(text, add_special_tokens=False).ids)
        if self.add_bos and self.bos_token_id is not None and (not ids or ids[0] != self.bos_token_id):
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
