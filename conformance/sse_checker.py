"""Bytes in, findings out: the one way to check a raw SSE stream (sans-IO).

`SSEStreamChecker` owns an `SSEParser` and a `StreamChecker` and passes each read's messages
*and* the parser's anomalies (`SSEAnomaly` events: a BOM, a block openai-python dispatches with
no data, bytes that are not UTF-8) to the checker together, so no caller can lose the
anomalies by feeding messages alone. `check_sse`, `conformance check`, the live runner, the
checking proxy and the pytest plugin all go through it.

    sc = SSEStreamChecker("openai", request, content_type="text/event-stream")
    for chunk in reads:
        findings = sc.feed(chunk)        # what this read made certain
    result = sc.finish()                 # close() + the end-of-stream judgement
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.checker import CheckResult, StreamChecker
from conformance.sse import SSEMessage, SSEParser

if TYPE_CHECKING:
    from conformance.findings import Finding
    from conformance.profiles import Profile
    from conformance.state import StreamState

__all__ = ["SSEStreamChecker"]


class SSEStreamChecker:
    """Feed network reads with `feed()`, end with `finish()` (or `close()` then `finish()`).

    `messages`: the SSE messages the latest `feed()`/`close()` completed, for callers that
    also keep the events (the runner's transcript); `n_messages`: all of them so far.
    """

    def __init__(
        self,
        profile: str | Profile = "openai",
        request: dict[str, Any] | None = None,
        *,
        content_type: str | None = None,
        max_per_rule: int = 20,
        fast_path: bool = True,
    ) -> None:
        self.checker = StreamChecker(profile, request, max_per_rule=max_per_rule, fast_path=fast_path)
        self.parser = SSEParser()
        self.messages: list[SSEMessage] = []
        self.n_messages = 0
        self._closed = False
        if content_type is not None:
            self.checker.feed_content_type(content_type)

    @property
    def state(self) -> StreamState:
        return self.checker.state

    def feed_content_type(self, value: str | None) -> list[Finding]:
        """The response's Content-Type header (None when it had none)."""
        return self.checker.feed_content_type(value)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Finding]:
        """One network read; returns the findings it made certain."""
        if self._closed:
            raise RuntimeError("SSEStreamChecker.feed() after close()")
        return self._judge(self.parser.feed(bytes(data)))

    def close(self) -> list[Finding]:
        """The bytes are over: a pending unterminated message is judged. Idempotent."""
        if self._closed:
            self.messages = []
            return []
        self._closed = True
        return self._judge(self.parser.close())

    def finish(self) -> CheckResult:
        """End of stream: `close()`, then the findings only the end can decide. Idempotent."""
        self.close()
        return self.checker.finish()

    def _judge(self, msgs: list[SSEMessage]) -> list[Finding]:
        self.messages = msgs
        self.n_messages += len(msgs)
        return self.checker.feed_messages(msgs, self.parser.anomalies)
