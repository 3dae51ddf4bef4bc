"""A deterministic text that matches a custom tool's lark or regex grammar, for the scripted
backend (a real model is constrained by the same grammar instead; see torch/grammar.py).

llguidance walks the grammar one byte at a time over a 256-byte vocabulary: at each step it
stops as soon as the text so far is a complete match, and otherwise picks one allowed byte with
a random generator seeded from the grammar (lowercase words in free text, printable ASCII
preferred elsewhere), so the same grammar always yields the same text.
"""

from __future__ import annotations

import functools
import random
import zlib
from typing import Any

import numpy as np

MAX_BYTES = 2000
_EOS = 256
# Where the grammar allows at least _FREE_TEXT printable bytes (free text), bytes are drawn from
# plain words; elsewhere (a choice between structures) from every allowed printable byte, or
# from every allowed byte.
_FREE_TEXT = 60
_WORDY = np.zeros(_EOS, dtype=bool)
_WORDY[list(b"abcdefghijklmnopqrstuvwxyz \n.")] = True
_PRINTABLE = np.zeros(_EOS, dtype=bool)
_PRINTABLE[32:127] = True
_PRINTABLE[10] = True


class GrammarTextError(ValueError):
    """No text could be produced for the grammar."""


@functools.lru_cache(maxsize=1)
def _byte_tokenizer() -> Any:
    import tiktoken
    from llguidance.tiktoken import lltokenizer_from_encoding

    encoding = tiktoken.Encoding(name="bytes", pat_str=r"[\s\S]",
                                 mergeable_ranks={bytes([i]): i for i in range(256)},
                                 special_tokens={"<|eos|>": _EOS})
    return lltokenizer_from_encoding(encoding, n_vocab=_EOS + 1, eos_token=_EOS)


@functools.lru_cache(maxsize=64)
def grammar_text(syntax: str, definition: str, *, max_bytes: int = MAX_BYTES) -> str:
    """A text matching the grammar (`syntax` "lark" or "regex"); GrammarTextError when none is
    found within `max_bytes` bytes. Deterministic, so cached: a tool sent on every request (an
    agent's patch tool) costs its walk (about 13 ms for a patch grammar here) once."""
    import llguidance
    from llguidance.numpy import allocate_token_bitmask, fill_next_token_bitmask

    grammar = (llguidance.LLMatcher.grammar_from_lark(definition) if syntax == "lark"
               else llguidance.LLMatcher.grammar_from_regex(definition))
    matcher = llguidance.LLMatcher(_byte_tokenizer(), grammar, log_level=0)
    if matcher.is_error():
        raise GrammarTextError(matcher.get_error().splitlines()[0])
    rng = random.Random(zlib.crc32(f"{syntax}\0{definition}".encode()))
    bitmask = allocate_token_bitmask(1, _EOS + 1)
    out = bytearray()
    while not matcher.is_accepting():
        if len(out) >= max_bytes:
            raise GrammarTextError(f"no text matching the grammar within {max_bytes} bytes "
                                   f"(it ends {bytes(out)[-60:]!r})")
        fill_next_token_bitmask(matcher, bitmask, 0)
        allowed = np.unpackbits(bitmask.view(np.uint8), bitorder="little")[:_EOS].astype(bool)
        if not allowed.any():
            raise GrammarTextError(f"the grammar allows nothing after {bytes(out)[-40:]!r}")
        printable = allowed & _PRINTABLE
        if printable.sum() >= _FREE_TEXT:
            tier = allowed & _WORDY  # free text (almost anything goes): plain words
        else:
            tier = printable if printable.any() else allowed  # a choice of structure: any of it
        choices = np.flatnonzero(tier)
        byte = int(choices[rng.randrange(len(choices))])
        if not matcher.consume_token(byte):
            raise GrammarTextError(matcher.get_error().splitlines()[0] or "byte rejected")
        out.append(byte)
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GrammarTextError(f"the text is not UTF-8: {exc}") from None
