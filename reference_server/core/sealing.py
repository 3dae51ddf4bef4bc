"""`reasoning.encrypted_content`: reasoning sealed for a stateless client to carry to the next turn.

With `include: ["reasoning.encrypted_content"]` (Codex sends it with `store: false`), every
reasoning item carries its reasoning sealed with a server key; given back as input, the blob is
opened and the reasoning re-enters the prompt as it would from the store (not in proxy mode with
an upstream that signs its own reasoning: `ResponseSource.upstream_seals_reasoning`). Fernet
(AES-128-CBC with HMAC-SHA256, from `cryptography`) is authenticated, so a tampered or foreign
blob is detected rather than fed to the model, and its tokens look like the live API's (`gAAAAA…`).

The key comes from `--encryption-key` / the environment (any string: its SHA-256 is the key
material), or is generated once and kept in the response store, so blobs survive restarts when
the store is a file.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from ..protocol.errors import APIError

ENCRYPTION_KEY_ENV = "REFERENCE_SERVER_ENCRYPTION_KEY"
STORE_SECRET_NAME = "reasoning-encryption-key"
_VERSION = 1


def key_from_passphrase(passphrase: str) -> bytes:
    """A Fernet key (urlsafe base64 of 32 bytes) from any operator-chosen string."""
    return base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest())


def new_key() -> str:
    return Fernet.generate_key().decode()


class ReasoningSealer:
    def __init__(self, key: bytes | str) -> None:
        self._fernet = Fernet(key)

    def seal(self, item: dict[str, Any]) -> str:
        """The sealed form of a reasoning item's text (its content and summary parts)."""
        payload = {"v": _VERSION, "id": item.get("id"), "content": item.get("content") or [],
                   "summary": item.get("summary") or []}
        return self._fernet.encrypt(json.dumps(payload, separators=(",", ":")).encode()).decode()

    def seal_window(self, items: list[dict[str, Any]]) -> str:
        """A compaction item's `encrypted_content`: the conversation window it stands for."""
        payload = {"v": _VERSION, "kind": "compaction", "items": items}
        return self._fernet.encrypt(json.dumps(payload, separators=(",", ":")).encode()).decode()

    def open_window(self, blob: str, param: str) -> list[dict[str, Any]]:
        """The items sealed by `seal_window`, or a 400 naming `param`."""
        payload = self._decrypt(blob, None, param)
        if not isinstance(payload, dict) or payload.get("kind") != "compaction" or \
                not isinstance(payload.get("items"), list):
            raise APIError(400, f"The encrypted content in '{param}' is not a compaction.", param=param,
                           code="invalid_encrypted_content")
        return [item for item in payload["items"] if isinstance(item, dict)]

    def _decrypt(self, blob: str, item_id: str | None, param: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(blob.encode()))
        except (InvalidToken, ValueError, UnicodeError):
            shown = f" for item {item_id}" if item_id else ""
            raise APIError(400, f"The encrypted content{shown} could not be verified: it was not made by this "
                                "server, or it was altered.", param=param, code="invalid_encrypted_content") from None

    def open(self, blob: str, item_id: str | None, param: str) -> dict[str, Any]:
        """The `content` and `summary` sealed in `blob`, or a 400 naming `param`."""
        payload = self._decrypt(blob, item_id, param)
        if not isinstance(payload, dict) or payload.get("v") != _VERSION or "kind" in payload:
            raise APIError(400, f"The encrypted content in '{param}' has an unknown format.", param=param,
                           code="invalid_encrypted_content")
        return {"content": list(payload.get("content") or []), "summary": list(payload.get("summary") or [])}
