"""Token counts with the MiniLM WordPiece tokenizer (the one the offline embedder uses)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from tokenizers import Encoding, Tokenizer

TOKENIZER_PATH = Path(__file__).resolve().parent / "providers" / "data" / "minilm-tokenizer.json"


@lru_cache(maxsize=1)
def tokenizer() -> Tokenizer:
    """The tokenizer without truncation or padding; shared, thread-safe for encoding."""
    tok = Tokenizer.from_file(str(TOKENIZER_PATH))
    tok.no_truncation()
    tok.no_padding()
    return tok


def encode(text: str) -> Encoding:
    return tokenizer().encode(text, add_special_tokens=False)


def count_tokens(text: str) -> int:
    return len(encode(text).ids) if text else 0


def count_many(texts: list[str]) -> list[int]:
    encodings = tokenizer().encode_batch(texts, add_special_tokens=False)
    return [len(encoding.ids) for encoding in encodings]


def truncate_tokens(text: str, limit: int) -> str:
    """The longest prefix of `text` that holds at most `limit` tokens (cut at a token end)."""
    if limit <= 0:
        return ""
    offsets = encode(text).offsets
    if len(offsets) <= limit:
        return text
    return text[: offsets[limit - 1][1]]


def tail_tokens(text: str, limit: int) -> str:
    """The shortest suffix of `text` (starting at a token) that holds at most `limit` tokens."""
    if limit <= 0:
        return ""
    offsets = encode(text).offsets
    if len(offsets) <= limit:
        return text
    return text[offsets[-limit][0]:]
