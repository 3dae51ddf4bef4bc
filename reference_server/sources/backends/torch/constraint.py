"""Per-sequence constrained decoding: an llguidance matcher over the harmony grammar, the token
budget per message, and the steering that makes an over-budget JSON body finish.

Sans-IO: `allowed()` turns a computed bitmask row into the tokens the sampler may pick;
`commit(token)` advances the state. The scheduler computes bitmasks for a whole batch at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from reference_server.protocol.token_backend import BackendError, OutputSpec

from .grammar import matcher_grammar
from .tokenizer import CHANNEL, CONSTRAIN, FIRST_SPECIAL, MESSAGE, HarmonyTokenizer

_templates: OrderedDict[tuple[int, str], Any] = OrderedDict()
_templates_lock = threading.Lock()
_MAX_TEMPLATES = 64


def compile_matcher(tok: HarmonyTokenizer, spec: OutputSpec, budget: int, tight: bool = True) -> Any:
    """A fresh matcher for `spec` (compiled grammars are cached; each request gets a copy)."""
    import llguidance

    last_error = ""
    for lenient in (False, True):
        grammar = matcher_grammar(spec, budget, tight=tight, lenient=lenient)
        key = (id(tok.ll), grammar)
        with _templates_lock:
            template = _templates.get(key)
            if template is not None:
                _templates.move_to_end(key)
        if template is None:
            template = llguidance.LLMatcher(tok.ll, grammar, log_level=0)
            if template.is_error():
                last_error = template.get_error().splitlines()[0] if template.get_error() else "invalid grammar"
                continue
            with _templates_lock:
                _templates[key] = template
                while len(_templates) > _MAX_TEMPLATES:
                    _templates.popitem(last=False)
        return template.deep_copy()
    raise BackendError(f"cannot constrain generation to the requested schema: {last_error}")


class Constraint:
    """Grammar state of one sequence plus the per-message budget."""

    def __init__(self, tok: HarmonyTokenizer, matcher: Any, budget: int, *, json_final: bool = False) -> None:
        self.tok = tok
        self.matcher = matcher
        self.budget = budget
        self.json_final = json_final  # the final channel's body is JSON (a text.format)
        self.body_tokens: int | None = None  # tokens since <|message|>; None inside a header
        # The current body is text (reasoning, a preamble, a plain answer, a custom tool's
        # free-form input), not JSON (a function call's arguments after <|constrain|>json, or a
        # final answer under a JSON text.format): decided from its header.
        self.free_text = False
        self._header = b""
        self._constrained = False
        self.in_string = False  # JSON lexical state of the current body (for steering)
        self.escaped = False

    def over_budget(self) -> bool:
        return self.body_tokens is not None and self.body_tokens >= self.budget

    def allowed(self, row_bits: np.ndarray) -> np.ndarray:
        """Bool [V] of allowed tokens from one unpacked bitmask row; past the budget, narrowed to
        the tokens that close the body fastest (message end, closing quote, `}`/`]`, `,`)."""
        allowed = row_bits
        if not self.over_budget():
            return allowed
        tiers = (self.tok.specials, self.tok.quote_closers) if self.in_string else (
            self.tok.specials, self.tok.closers, self.tok.separators, self.tok.quotes)
        for tier in tiers:
            narrowed = allowed & tier
            if narrowed.any():
                return narrowed
        return allowed

    def commit(self, token: int) -> None:
        if not self.matcher.consume_token(token):
            raise BackendError(f"constrained decoding failed: {self.error() or 'token rejected'}")
        if token == MESSAGE:
            self.body_tokens, self.in_string, self.escaped = 0, False, False
            header = self._header.strip()
            self.free_text = not (self._constrained or (self.json_final and header.startswith(b"final")))
            self._header, self._constrained = b"", False
        elif token >= FIRST_SPECIAL:
            self.body_tokens, self.free_text = None, False
            if token == CONSTRAIN:
                self._constrained = True
            elif token != CHANNEL:  # <|start|>, a message end: a new header begins
                self._header, self._constrained = b"", False
        elif self.body_tokens is None:
            self._header += self.tok.encoding.decode_single_token_bytes(token)
        else:
            self.body_tokens += 1
            self._scan(self.tok.encoding.decode_single_token_bytes(token))

    def _scan(self, data: bytes) -> None:
        if not self.escaped and b'"' not in data and b"\\" not in data:
            return  # most tokens: no quote, no backslash, nothing changes
        for byte in data:
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif byte == 0x5C:  # backslash
                    self.escaped = True
                elif byte == 0x22:  # quote
                    self.in_string = False
            elif byte == 0x22:
                self.in_string = True

    def finished(self) -> bool:
        return bool(self.matcher.is_stopped())

    def error(self) -> str:
        err = self.matcher.get_error() if self.matcher.is_error() else ""
        return err.splitlines()[0] if err else ""
