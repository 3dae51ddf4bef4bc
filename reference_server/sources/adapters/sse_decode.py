"""Server-sent-events decoding of upstream streams (sans-IO): bytes in, (event, data) out.

WHATWG parsing rules: LF, CRLF or CR line ends, a leading BOM, `:` comment lines, multi-line
`data:` joined with newlines, messages split anywhere across network reads.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SSEMessage:
    event: str | None
    data: str


class SSEDecoder:
    def __init__(self) -> None:
        self._buf = ""
        self._raw = b""
        self._event: str | None = None
        self._data: list[str] = []
        self._started = False
        self._pending_cr = False

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        """Messages completed by this chunk of bytes."""
        self._raw += chunk
        try:
            text = self._raw.decode("utf-8")
            self._raw = b""
        except UnicodeDecodeError as exc:
            # A multi-byte character split across reads: keep its start for the next chunk.
            text = self._raw[: exc.start].decode("utf-8")
            self._raw = self._raw[exc.start :]
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        return self._lines(text)

    def close(self) -> list[SSEMessage]:
        """Flush at end of stream: an unterminated last message still counts."""
        out = self._lines("\n") if self._buf else []
        if self._data:
            out.append(SSEMessage(self._event, "\n".join(self._data)))
            self._event, self._data = None, []
        return out

    def _lines(self, text: str) -> list[SSEMessage]:
        out: list[SSEMessage] = []
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]  # the LF of a CRLF split across reads
        self._pending_cr = text.endswith("\r")
        self._buf += text
        lines = self._buf.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._buf = lines.pop()
        for line in lines:
            if not line:
                if self._data:
                    out.append(SSEMessage(self._event, "\n".join(self._data)))
                self._event, self._data = None, []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
        return out
