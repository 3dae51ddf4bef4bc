"""The harmony vocabulary as an llguidance tokenizer, built offline once per process.

tiktoken's o200k_base ranks and split pattern plus the harmony special tokens 199998..201087
(their strings come from the harmony encoding itself). Building takes about 1.3 s here, so it
is cached; `build_seconds()` reports what it cost.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference_server.protocol.vocab import HARMONY_VOCAB_SIZE, harmony_encoding, o200k_base_dir

FIRST_SPECIAL = 199998
# Harmony ids the grammar and the scheduler refer to.
START, END, MESSAGE, CHANNEL, CONSTRAIN = 200006, 200007, 200008, 200005, 200003
RETURN, CALL, ENDOFTEXT = 200002, 200012, 199999

# Readable free text for random weights: whole words (with their leading space) and sentence
# punctuation. Everything else in o200k (word pieces, code, other scripts, fragments of URLs and of
# the spam sites its training crawl held) is left out, so random text reads as English word salad
# rather than token soup.
_READABLE = re.compile(rb"(?: [A-Za-z][a-z]{0,13}|[.,;:!?]| -)")
# Between JSON strings: ASCII identifiers, numbers and JSON punctuation (a token such as `"<<` that
# opens a string with junk is not one).
_JSON_STRUCTURE = re.compile(rb'[A-Za-z0-9_{}\[\]:,".+\-]+')
# Words that are parts of web addresses, or belong to the spam pages the crawl picked up.
_UNREADABLE_WORDS = frozenset(
    b"www http https com org net html htm php asp xyz url href casino porn xxx viagra cialis "
    b"betting lottery loans escort".split())


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
    readable: np.ndarray  # words, punctuation and the specials (see _READABLE)
    json_structure: np.ndarray  # readable, plus identifiers, numbers and JSON punctuation
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
               for name in ("quote_closers", "closers", "separators", "quotes", "specials", "readable",
                                          "json_structure")}
    for token_bytes, rank in ranks.items():
        if _READABLE.fullmatch(token_bytes) and token_bytes.strip().lower() not in _UNREADABLE_WORDS:
            classes["readable"][rank] = True
        if _JSON_STRUCTURE.fullmatch(token_bytes):
            classes["json_structure"][rank] = True
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
    classes["readable"][FIRST_SPECIAL:] = True  # a text must be able to end
    classes["json_structure"] |= classes["readable"]
    return HarmonyTokenizer(ll=ll, encoding=encoding, build_seconds=time.perf_counter() - started, **classes)
