"""Sans-IO server-sent-events parser (WHATWG "event stream interpretation" rules).

Bytes go in chunk by chunk, `SSEMessage`s come out. Our own because the checker must see what
libraries hide: unterminated last events, `id:`/`retry:` use, the raw `event:` name.

Theory of operation
-------------------
* Line splitting works on bytes. CR, LF and CRLF all end a line; a CR that ends one chunk and
  an LF that starts the next are one line end (`_skip_lf`). Per chunk we normalise CRLF and CR
  to LF with two `bytes.replace` calls and `split` once: C-speed, no per-byte Python loop.
* Only the current incomplete line is buffered (`_line`), plus the data lines of the message
  being built, so memory is bounded by one message and each byte is scanned a constant number
  of times whatever the chunking (1-byte chunks of a megabyte stream stay linear).
* Decoding happens per complete line (LF and CR are ASCII, never inside a UTF-8 sequence, so
  this equals decoding the whole stream) with `errors="replace"`: bad UTF-8 becomes U+FFFD,
  never an exception. A leading UTF-8 BOM is dropped, even when it arrives split.
* Spec deviations, both deliberate and for the checker's benefit: `SSEMessage.event` is None
  when no `event:` field was given (the spec would say "message"), `id`/`retry` are the fields
  seen inside *this* message (the spec's last-event-id persists; see `last_event_id`), and at
  `close()` a pending message is flushed with `terminated=False` instead of being discarded.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DONE", "SSEMessage", "SSEParser"]

DONE = "[DONE]"
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class SSEMessage:
    """One dispatched event. `index` counts dispatched messages from 0."""

    index: int
    event: str | None
    data: str
    id: str | None = None
    retry: int | None = None
    terminated: bool = True

    @property
    def is_done(self) -> bool:
        """The `data: [DONE]` end-of-stream sentinel (Open Responses; not sent by OpenAI)."""
        return self.data == DONE


class SSEParser:
    """Incremental parser: `feed(bytes)` returns completed messages, `close()` the rest."""

    def __init__(self) -> None:
        self._line = bytearray()  # current incomplete line (bytes, undecoded)
        self._skip_lf = False  # previous chunk ended with CR: a leading LF is part of that CRLF
        self._at_start = True  # still deciding whether the stream starts with a BOM
        self._head = b""  # first bytes kept while a BOM may still be arriving
        self._closed = False
        # The message being built.
        self._data: list[bytes] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None
        self._count = 0
        # Stream-level state the spec keeps across messages.
        self.last_event_id = ""
        self.reconnection_time: int | None = None

    # -- input ---------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        """Parse one network read; returns the messages it completed (maybe none)."""
        if self._closed:
            raise RuntimeError("SSEParser.feed() after close()")
        if not chunk:
            return []
        if type(chunk) is not bytes:
            chunk = bytes(chunk)  # bytearray / memoryview: `in` and `split` need bytes
        if self._at_start:
            chunk = self._strip_bom(chunk)
            if not chunk:
                return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
                if not chunk:
                    return []
        has_cr = b"\r" in chunk
        if not has_cr and b"\n" not in chunk:
            self._line += chunk  # fast path: no line end in this read
            return []
        if has_cr:
            if chunk[-1:] == b"\r":
                self._skip_lf = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if self._line:
            self._line += lines[0]
            lines[0] = bytes(self._line)
        self._line = bytearray(tail)
        out: list[SSEMessage] = []
        for line in lines:
            self._process_line(line, out)
        return out

    def close(self) -> list[SSEMessage]:
        """End of stream: flush what is pending. A message without its blank line has
        `terminated=False` (the spec would discard it; the checker reports it instead)."""
        if self._closed:
            return []
        self._closed = True
        out: list[SSEMessage] = []
        if self._at_start and self._head:
            # A stream shorter than a BOM that only looked like one: plain (invalid) bytes.
            self._line += self._head
            self._head = b""
        self._at_start = False
        if self._line:
            line = bytes(self._line)
            self._line = bytearray()
            self._process_line(line, out)
        if self._data:
            out.append(self._build(terminated=False))
        self._reset_message()
        return out

    # -- internals -----------------------------------------------------------------------

    def _strip_bom(self, chunk: bytes) -> bytes:
        head = self._head + chunk
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._head = head  # could still become a BOM: wait for more bytes
            return b""
        self._at_start = False
        self._head = b""
        return head[len(_BOM) :] if head.startswith(_BOM) else head

    def _process_line(self, line: bytes, out: list[SSEMessage]) -> None:
        if not line:
            if self._data:
                out.append(self._build(terminated=True))
            # Spec: an empty data buffer dispatches nothing, but the buffers still reset.
            self._reset_message()
            return
        # The hot path: almost every line of a Responses stream is `data: {...}`.
        if line.startswith(b"data:"):
            self._data.append(line[6:] if line[5:6] == b" " else line[5:])
            return
        if line[0] == 0x3A:  # ':' comment (keep-alive)
            return
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":  # `data` without a colon: an empty data line
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\x00" not in value:  # spec: an id containing NUL is ignored
                text = value.decode("utf-8", "replace")
                self._id = text
                self.last_event_id = text
        elif name == b"retry" and value.isdigit():  # ASCII digits only, else ignored
            self._retry = int(value)
            self.reconnection_time = self._retry
        # Any other field name is ignored, as the spec says.

    def _build(self, *, terminated: bool) -> SSEMessage:
        data = self._data
        raw = data[0] if len(data) == 1 else b"\n".join(data)
        msg = SSEMessage(
            index=self._count,
            event=self._event,
            data=raw.decode("utf-8", "replace"),
            id=self._id,
            retry=self._retry,
            terminated=terminated,
        )
        self._count += 1
        return msg

    def _reset_message(self) -> None:
        self._data = []
        self._event = None
        self._id = None
        self._retry = None
