"""Secrets out of everything the runner and the recorder write, without corrupting the rest.

A secret is removed where it sits: credential headers, fields that carry credentials, the userinfo
and query string of URLs. In free text (bodies, messages, excerpts, events) it is replaced as a
substring only when it is long enough that a match cannot be chance (`MIN_FREE_TEXT`
characters): with `--api-key x`, `"index"` must stay `"index"`. JSON object keys are never
touched. A shorter key is reported once (`short_key_note`) instead.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

REDACTED = "***"
MIN_FREE_TEXT = 8
# Header names whose values are credentials, whatever the server calls them.
CREDENTIAL_HEADER = re.compile(r"auth|cookie|token|secret|session|api-?key|password|credential", re.I)
# JSON field names that carry credentials. Narrower than the header pattern: a logprob's
# `token` or a response's `session_id`-like fields are data, not credentials.
CREDENTIAL_FIELD = re.compile(
    r"authorization|api[-_]?key|password|passwd|secret|credential|cookie|access[-_]?token|refresh[-_]?token|bearer",
    re.I,
)
_SCHEMES = ("Bearer ", "Basic ", "Token ")
_URL = re.compile(r"https?://[^\s\"'<>]+")


def _core(secret: str) -> str:
    """The key inside an auth header value: 'Bearer KEY' -> 'KEY'."""
    for scheme in _SCHEMES:
        if secret.startswith(scheme):
            return secret[len(scheme) :]
    return secret


def secret_forms(secret: str) -> set[str]:
    """Every form in which a secret could leak: as is, URL-quoted, and base64 (standard,
    URL-safe, with and without padding, alone and as Basic `user:key`)."""
    if not secret:
        return set()
    out = {secret, quote(secret, safe="")}
    core = _core(secret).encode()
    for blob in (core, b":" + core):
        for encoded in (base64.b64encode(blob), base64.urlsafe_b64encode(blob)):
            out.add(encoded.decode())
            out.add(encoded.rstrip(b"=").decode())
    return out


class Redactor:
    """Removes a run's secrets (the API key and the header value that carries it)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        long: set[str] = set()
        exact: set[str] = set()
        self.short: list[str] = []
        for secret in secrets:
            if not secret:
                continue
            forms = secret_forms(secret)
            exact |= forms
            if len(_core(secret)) >= MIN_FREE_TEXT:
                long |= forms
            elif _core(secret) not in self.short:
                self.short.append(_core(secret))
        # Longest first, so "Bearer KEY" is replaced whole before "KEY".
        self.long = sorted(long, key=len, reverse=True)
        self.long_bytes = [form.encode() for form in self.long]
        self.exact = frozenset(exact)

    def __bool__(self) -> bool:
        return bool(self.exact)

    # -- strings -----------------------------------------------------------------------------

    def text(self, value: str) -> str:
        """Free text: long secrets anywhere; any secret in a URL's userinfo or query string."""
        for form in self.long:
            if form in value:
                value = value.replace(form, REDACTED)
        if self.exact and ("?" in value or "@" in value):
            value = _URL.sub(lambda m: self._url(m.group(0)), value)
        return value

    def credential(self, value: str) -> str:
        """A value that carries credentials: all of it goes when it holds a secret."""
        if any(form in value for form in self.exact):
            return REDACTED
        return self.text(value)

    def _url(self, url: str) -> str:
        try:
            parts = urlsplit(url)
        except ValueError:
            return url
        netloc, query = parts.netloc, parts.query
        user, at, host = netloc.rpartition("@")
        if at and any(form in unquote_plus(user) for form in self.exact):
            netloc = f"{REDACTED}@{host}"
        if query:
            pairs = []
            for pair in query.split("&"):
                name, eq, val = pair.partition("=")
                pairs.append(f"{name}={REDACTED}" if eq and self._is_secret(unquote_plus(val)) else pair)
            query = "&".join(pairs)
        if (netloc, query) == (parts.netloc, parts.query):
            return url
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

    def _is_secret(self, value: str) -> bool:
        return value in self.exact or _core(value) in self.exact or any(form in value for form in self.long)

    # -- structures ----------------------------------------------------------------------------

    def value(self, value: Any, field: str | None = None) -> Any:
        """A JSON-like value with secrets removed from its strings; keys are left alone."""
        if not self:
            return value
        if isinstance(value, str):
            return self.credential(value) if field and CREDENTIAL_FIELD.search(field) else self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v, k if isinstance(k, str) else None) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.value(v, field) for v in value)
        return value

    def header(self, name: str, value: str) -> str:
        return self.credential(value) if CREDENTIAL_HEADER.search(name) else self.text(value)

    def bytes(self, data: bytes) -> tuple[bytes, bool]:
        """Recorded bytes: only a long secret is replaced (it really is there); whether one was."""
        hit = False
        for form in self.long_bytes:
            if form in data:
                data = data.replace(form, REDACTED.encode())
                hit = True
        return data, hit

    def short_key_note(self) -> str | None:
        """One line for the terminal when a key is too short to look for in free text."""
        if not self.short:
            return None
        return (
            f"note: the API key is shorter than {MIN_FREE_TEXT} characters, too short to search for in "
            "free text without corrupting it: it is removed from credential headers and fields and "
            "from URLs only (a target that echoes it in a body or message would show it)"
        )
