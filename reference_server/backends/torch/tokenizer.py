"""The harmony vocabulary as an llguidance tokenizer, built offline once per process.

tiktoken's o200k_base ranks and split pattern plus the harmony special tokens 199998..201087
(their strings come from the harmony encoding itself). Building takes about 1.3 s here, so it
is cached; `build_seconds()` reports what it cost.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...vocab import HARMONY_VOCAB_SIZE, harmony_encoding, o200k_base_dir

FIRST_SPECIAL = 199998
# Harmony ids the grammar and the scheduler refer to.
START, END, MESSAGE, CHANNEL, CONSTRAIN = 200006, 200007, 200008, 200005, 200003
RETURN, CALL, ENDOFTEXT = 200002, 200012, 199999


@dataclass(frozen=True)
class HarmonyTokenizer:
    ll: Any  # llguidance.LLTokenizer
    encoding: Any  # tiktoken.Encoding with the harmony special tokens
    # Token classes the length budget steers towards once a message is over budget (bool [V]).
    specials: np.ndarray  # harmony special tokens (message ends)
    quote_closers: np.ndarray  # `"` then only `"}],`: ends the open JSON string
    closers: np.ndarray  # only `}` / `]`: closes an object or array
    separators: np.ndarray  # only `}`, `]`, `,`: ends a value, moves to the next one
    quotes: np.ndarray  # only `"}],`: e.g. an empty string value
    build_seconds: float


_lock = threading.Lock()
_cached: HarmonyTokenizer | None = None


def harmony_tokenizer() -> HarmonyTokenizer:
    global _cached
    with _lock:
        if _cached is None:
            _cached = _build()
        return _cached


def _o200k_pattern(ranks: dict[bytes, int]) -> str:
    """o200k_base's split pattern, taken from tiktoken's own constructor (fed our local ranks,
    so nothing is fetched)."""
    from unittest import mock

    import tiktoken_ext.openai_public as public

    with mock.patch.object(public, "load_tiktoken_bpe", lambda *_a, **_k: ranks):
        return str(public.o200k_base()["pat_str"])


def _build() -> HarmonyTokenizer:
    import tiktoken
    from llguidance.tiktoken import lltokenizer_from_encoding
    from tiktoken.load import load_tiktoken_bpe

    started = time.perf_counter()
    ranks = load_tiktoken_bpe(str(o200k_base_dir() / "o200k_base.tiktoken"))
    harmony = harmony_encoding()
    special = {harmony.decode([i]): i for i in range(FIRST_SPECIAL, HARMONY_VOCAB_SIZE)}
    encoding = tiktoken.Encoding(
        name="o200k_harmony_offline",
        pat_str=_o200k_pattern(ranks),
        mergeable_ranks=ranks,
        special_tokens=special,
    )
    ll = lltokenizer_from_encoding(encoding, n_vocab=HARMONY_VOCAB_SIZE, eos_token=ENDOFTEXT)
    classes = {name: np.zeros(HARMONY_VOCAB_SIZE, dtype=bool)
               for name in ("quote_closers", "closers", "separators", "quotes", "specials")}
    for token_bytes, rank in ranks.items():
        if not token_bytes or token_bytes.strip(b'"}],'):
            continue  # some other character: never a closing token
        classes["quotes"][rank] = True
        if token_bytes.startswith(b'"'):
            classes["quote_closers"][rank] = True
        if b'"' not in token_bytes:
            classes["separators"][rank] = True
            if b"," not in token_bytes:
                classes["closers"][rank] = True
    classes["specials"][FIRST_SPECIAL:] = True
    return HarmonyTokenizer(ll=ll, encoding=encoding, build_seconds=time.perf_counter() - started, **classes)
