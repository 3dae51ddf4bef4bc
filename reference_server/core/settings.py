"""Server settings: the knobs `create_app` and the command line share.

Defaults reproduce the official API's observable behaviour (no `[DONE]`, flat `error` event).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Settings:
    # Require `Authorization: Bearer <api_key>` on every /v1 route when set.
    api_key: str | None = None
    # Bodies larger than this are refused with 413 before they are parsed.
    max_body_bytes: int = 16 * 1024 * 1024
    # Append `data: [DONE]` after the terminal event (Open Responses requires it; OpenAI does not).
    done_sentinel: bool = False
    # "flat": documented `{type:"error", code, message, param}`; "nested": Open Responses / live API.
    error_style: Literal["flat", "nested"] = "flat"
    # Output budget when a request sets no `max_output_tokens` (hitting it ends `incomplete`).
    default_max_output_tokens: int = 8192
    # Prompt plus output budget; longer prompts are refused with 400 `context_length_exceeded`.
    context_window: int = 131072
    # Seals `reasoning.encrypted_content` (any string; its SHA-256 is the key). None: a key
    # generated once and kept in the response store.
    encryption_key: str | None = None
    # Answer requests whose `model` differs from the backend's model id (echoing the request's).
    accept_any_model: bool = True
    # The folder of Markdown/HTML/text documents web search runs over (None: the bundled corpus).
    search_corpus: str | None = None
    # A WebSocket on /v1/responses is closed after this long (the API's limit is 60 minutes).
    websocket_max_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be positive")
        if self.error_style not in ("flat", "nested"):
            raise ValueError("error_style must be 'flat' or 'nested'")
        if self.websocket_max_seconds <= 0:
            raise ValueError("websocket_max_seconds must be positive")
        if self.default_max_output_tokens < 16:
            raise ValueError("default_max_output_tokens must be at least 16")
