"""Sans-IO server-sent-events parser (WHATWG "event stream interpretation" rules).

Bytes go in chunk by chunk, `SSEMessage`s come out. Our own because the checker must see what
libraries hide: unterminated last events, `id:`/`retry:` use, the raw `event:` name, and the
valid-but-risky bytes real clients trip on (`SSEAnomaly`).

Theory of operation
-------------------
* Line ends: CR, LF and CRLF. Each chunk is normalised to LF with two `bytes.replace` calls; a
  CR that ends one chunk and an LF that starts the next are one line end (`_skip_lf`).
* The buffer holds the current incomplete *message* (block). In LF-normalised text a block ends
  at the first "\\n\\n" (a line end, then an empty line). The search for it starts at the new
  bytes (minus one), so each byte is scanned a constant number of times whatever the chunking:
  1-byte reads of a megabyte stay linear, and memory is bounded by one message.
* Complete blocks are decoded together and cut apart by one regex `findall` (`_BLOCKS`): the
  usual block, `[event: X\\n]data: Y`, becomes a message with no per-line Python work; any
  other block (comments, id, retry, several data lines, unknown fields) goes through the
  general per-line field rules (`_block`). Both give identical messages (tests add comments
  to force the general path and compare).
* Decoding happens once per read, over the complete blocks it finished. They end at a line
  end, and LF is ASCII, never inside a UTF-8 sequence, so this equals decoding the whole
  stream. Bad UTF-8 becomes U+FFFD, never an exception. A leading UTF-8 BOM is dropped, even
  when it arrives split across reads.
* Deliberate departures, for the checker's benefit: `SSEMessage.event` is None when no
  `event:` field was given (the spec would say "message"); `id`/`retry` are the fields seen in
  *this* message (the spec's last event id persists: see `last_event_id`); at `close()` a
  pending message is flushed with `terminated=False` instead of being discarded.

Anomalies
---------
Valid (or WHATWG-repairable) input that openai-python 3.54's SSE decoder (`openai._streaming`)
reads differently is reported without changing what is dispatched: after each `feed()`/`close()`,
`SSEParser.anomalies` holds the `SSEAnomaly` events that call found, in stream order (each
`index` places it among the messages). `conformance.sse_checker.SSEStreamChecker` judges them
between the messages; a caller that only wants messages ignores them.

* "bom": a leading BOM. openai-python does not strip it, so its first line's field name starts
  with U+FEFF and the line is ignored (a first `data:` line is lost).
* "empty-event": a blank line on which openai-python dispatches an event with no data (then
  `json.loads("")` raises) while WHATWG dispatches nothing: a block without `data:` that has a
  non-empty `event:`, a `retry:` that Python's `int()` accepts, or any blank line — an extra one
  or a comment-only block included — once a non-empty `id:` was seen, since openai-python never
  resets its last event id.
* "invalid-utf8": bytes that are not UTF-8 (openai-python decodes each line strictly and raises
  UnicodeDecodeError; WHATWG clients substitute U+FFFD, as this parser does). One per block.

Cost: nothing on the usual path. A read whose blocks hold an empty-event, or any read once an
`id:` was seen (openai-python's dispatch rule then depends on every blank line), is parsed by
`_blocks_slow`, which keeps positions; undecodable reads go block by block (`_bad_utf8`).
Offsets are those of the stream as received: reads with CRs keep their raw bytes until the
buffer moves past them (`_mods`), so a position can be mapped back (`_orig`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["DONE", "SSEAnomaly", "SSEMessage", "SSEParser"]

DONE = "[DONE]"
_BOM = b"\xef\xbb\xbf"
_EXCERPT = 80  # characters of a line an anomaly quotes


# `text` (LF-only, starting at a block start, ending with a blank line) as a sequence of blocks.
# Alternative 1 is the usual block, `[event: X\n]data: Y` (groups: "event" if present, X, Y);
# alternative 2 any other block, one or more non-empty lines (group 4). Each match swallows
# the blank line(s) after its block, so matches are contiguous and cover all of `text`.
# ` ?` strips the one optional space after a colon (greedy: "data:  x" keeps " x").
_BLOCKS = re.compile(r"(?:(event): ?(.*)\n)?data: ?(.*)\n\n+|((?:.+\n)+?)\n+")
# The same with the blank-line runs captured (groups 4 and 6), for `finditer` in `_blocks_slow`.
_BLOCKS_RUN = re.compile(r"(?:(event): ?(.*)\n)?data: ?(.*)\n(\n+)|((?:.+\n)+?)(\n+)")
_BLOCK_ENDS = re.compile(rb"\n\n+")


class SSEMessage(NamedTuple):
    """One dispatched event. `index` counts dispatched messages from 0.

    A NamedTuple rather than a frozen dataclass: immutable and attribute-accessed all the same,
    and three times cheaper to build, which shows at 100k events per stream. (`index` shadows
    `tuple.index()`; the field name is the agreed interface, the method is never needed.)
    """

    index: int  # type: ignore[assignment]
    event: str | None
    data: str
    id: str | None = None
    retry: int | None = None
    terminated: bool = True

    @property
    def is_done(self) -> bool:
        """The `data: [DONE]` end-of-stream sentinel (Open Responses; not sent by OpenAI)."""
        return self.data == DONE


class SSEAnomaly(NamedTuple):
    """Something a WHATWG parser accepts (or repairs) but openai-python reads differently.

    `offset`: byte offset in the stream as received (the BOM counts). `index`: messages
    dispatched before it, i.e. the index of the message it sits in (`in_message`) or precedes.
    `text`: what arrived, at most 80 characters (bad bytes shown as U+FFFD): the line after a
    BOM ("" when the BOM stands alone on its line), the data-less block's lines ("" for a blank
    line), the line holding the bad bytes. `detail`: "bom": ""; "empty-event": why openai-python
    dispatches, "event", "retry" or "id:<last event id>"; "invalid-utf8": the first bad
    sequence as escapes, e.g. "\\xff".
    """

    kind: str  # "bom" | "empty-event" | "invalid-utf8"
    offset: int
    index: int  # type: ignore[assignment]
    text: str
    detail: str = ""
    in_message: bool = False


class SSEParser:
    """Incremental parser: `feed(bytes)` returns completed messages, `close()` the rest."""

    def __init__(self) -> None:
        self._buf = bytearray()  # the current incomplete block, LF-normalised, undecoded
        self._scan = 0  # where the search for the next "\n\n" resumes in _buf
        self._skip_lf = False  # previous chunk ended with CR: a leading LF belongs to it
        self._at_start = True  # still deciding whether the stream starts with a BOM (or reading its line)
        self._head = b""  # first bytes kept while a BOM may still be arriving
        self._closed = False
        self._count = 0
        # Stream-level state the spec keeps across messages.
        self.last_event_id = ""
        self.reconnection_time: int | None = None
        # Anomalies (see module docstring). `_pending`: found by the current feed()/close();
        # `anomalies`: what the latest call found (kept for one call only: memory stays bounded
        # for callers that never look).
        self._pending: list[SSEAnomaly] = []
        self.anomalies: tuple[SSEAnomaly, ...] = ()
        self._oai_id = ""  # openai-python's last event id: non-empty = every blank line dispatches
        self._bom_line: bytearray | None = None  # BOM seen: its line, while it is being read
        self._bom_block = False  # BOM seen: openai-python ignores the first line of the first block
        # Positions. The normalised stream N is what enters _buf (BOM, dropped LFs and CRLFs
        # removed); `_n0` is the N offset of _buf[0]. Received offset = N offset + shift: `_shift0`
        # before the first of `_mods`, the reads that changed length (n_start, n_end, shift
        # after, raw bytes or None, raw offset), kept while _buf may still point into them.
        self._n0 = 0
        self._shift0 = 0
        self._mods: list[tuple[int, int, int, bytes | None, int]] = []

    # -- input ---------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        """Parse one network read; returns the messages it completed (maybe none). The
        anomalies it found are then in `anomalies`."""
        if self.anomalies:
            self.anomalies = ()
        out = self._feed(chunk)
        if self._pending:
            self._settle()
        return out

    def _feed(self, chunk: bytes) -> list[SSEMessage]:
        if self._closed:
            raise RuntimeError("SSEParser.feed() after close()")
        if not chunk:
            return []
        if type(chunk) is not bytes:
            chunk = bytes(chunk)  # bytearray / memoryview: `replace` and `find` need bytes
        if self._at_start:
            chunk = self._strip_bom(chunk)
            if not chunk:
                return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
                self._shifted(None)
                if not chunk:
                    return []
        if b"\r" in chunk:
            self._skip_lf = chunk[-1] == 0x0D
            raw = chunk
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if len(chunk) != len(raw):
                self._shifted(raw, len(chunk))
        elif b"\n" not in chunk:
            # No line end: no block can complete. `_scan` stays put, so the bytes added here
            # are searched once, later (still linear).
            self._buf += chunk
            return []
        buf = self._buf
        buf += chunk
        if buf[0] == 0x0A:
            # The buffer always starts at a line start: leading LFs are blank lines that
            # dispatch nothing (the previous block was already dispatched).
            skip = len(buf) - len(buf.lstrip(b"\n"))
            if self._oai_id:
                self._blank_lines(self._n0, skip, self._count)
            del buf[:skip]
            self._n0 += skip
            self._scan = 0
            if not buf:
                return []
        end = buf.find(b"\n\n", self._scan)
        if end < 0:
            # Resume one byte back: the "\n" that ends this read may pair with the next one.
            self._scan = max(len(buf) - 1, 0)
            return []
        # Everything up to the last "\n\n" is complete blocks: decode it once (block ends are
        # line ends, so this equals per-line decoding) and cut the text with str methods.
        last = buf.rfind(b"\n\n") + 2
        complete = buf[:last]
        base = self._n0
        del buf[:last]
        self._n0 = base + last
        self._scan = max(len(buf) - 1, 0)
        try:
            text = complete.decode("utf-8")
        except UnicodeDecodeError:
            return self._bad_utf8(bytes(complete), base)
        if self._oai_id or self._bom_block:
            return self._blocks_slow(text, base, last, True)
        return self._blocks(text, base, last)

    def _blocks(self, text: str, base: int, nbytes: int) -> list[SSEMessage]:
        """Messages of `text`: whole blocks, each ended by a blank line, starting at a line."""
        out: list[SSEMessage] = []
        append = out.append
        count = start = self._count
        new = tuple.__new__  # SSEMessage(...) minus the Python-level __new__ frame
        # One C-level pass cuts `text` into blocks (see _BLOCKS); only the unusual ones cost
        # Python work per line.
        for has_event, event, data, other in _BLOCKS.findall(text):
            if other:
                self._count = count
                if self._block(other[:-1], out, terminated=True) or self._oai_id:
                    # openai-python dispatches an empty event here, or on every blank line from
                    # now on: parse this text again, keeping positions. Nothing was reported yet;
                    # the fields `_block` set are set again, only what it reads needs undoing.
                    self._count = start
                    self._oai_id = ""
                    return self._blocks_slow(text, base, nbytes, True)
                count = self._count
            else:
                append(
                    new(SSEMessage, (count, event if has_event else None, data, None, None, True))
                )
                count += 1
        self._count = count
        return out

    def _blocks_slow(self, text: str, base: int, nbytes: int, clean: bool) -> list[SSEMessage]:
        """`_blocks` with positions: reports the blank lines openai-python dispatches on.

        `base`: N offset of text[0]; `nbytes`: its length in bytes; `clean`: no bad bytes
        (U+FFFD then stands for itself, so char offsets convert to byte offsets exactly).
        """
        out: list[SSEMessage] = []
        at = _Offsets(text, base, nbytes, clean)
        for m in _BLOCKS_RUN.finditer(text):
            has_event, event, data, run1, other, run2 = m.groups()
            bom = self._bom_block
            self._bom_block = False
            if other is None:
                out.append(SSEMessage(self._count, event if has_event else None, data))
                self._count += 1
                run = run1
            else:
                run = run2
                block = other[:-1]
                why = self._block(block, out, terminated=True, skip_first=bom)
                if why:
                    self._pending.append(SSEAnomaly("empty-event", self._orig(at(m.start())), self._count,
                                                    _cut(block), why))
            if len(run) > 1 and self._oai_id:
                self._blank_lines(at(m.end() - len(run) + 1), len(run) - 1, self._count)
        return out

    def _bad_utf8(self, raw: bytes, base: int) -> list[SSEMessage]:
        """Complete blocks holding bytes that are not UTF-8: block by block, one anomaly each."""
        out: list[SSEMessage] = []
        pos = 0
        for m in _BLOCK_ENDS.finditer(raw):
            seg = raw[pos : m.end()]
            count, k = self._count, len(self._pending)
            try:
                out += self._blocks_slow(seg.decode("utf-8"), base + pos, len(seg), True)
            except UnicodeDecodeError as e:
                out += self._blocks_slow(seg.decode("utf-8", "replace"), base + pos, len(seg), False)
                # Reported before whatever else this block caused: openai-python fails on it first.
                self._pending.insert(k, self._invalid(seg, e, base + pos, count, self._count > count))
            pos = m.end()
        return out

    def close(self) -> list[SSEMessage]:
        """End of stream: flush what is pending. A message without its blank line has
        `terminated=False` (the spec would discard it; the checker reports it instead). The
        anomalies it found are then in `anomalies`."""
        self.anomalies = ()
        if self._closed:
            return []
        self._closed = True
        if self._at_start:
            if self._bom_line is not None:
                self._bom_found()  # the BOM's line never ended
            elif self._head:
                # A stream shorter than a BOM that only looked like one: plain (invalid) bytes.
                self._buf += self._head
                self._head = b""
            self._at_start = False
        out: list[SSEMessage] = []
        lead = len(self._buf) - len(self._buf.lstrip(b"\n"))
        raw = bytes(self._buf.strip(b"\n"))
        self._buf = bytearray()
        if raw:
            count = self._count
            try:
                rest = raw.decode("utf-8")
                bad = None
            except UnicodeDecodeError as e:
                rest = raw.decode("utf-8", "replace")
                bad = e
            # No blank line follows: openai-python dispatches nothing here either.
            self._block(rest, out, terminated=False, skip_first=self._bom_block)
            if bad is not None:
                self._pending.append(self._invalid(raw, bad, self._n0 + lead, count, self._count > count))
        self._settle()
        return out

    # -- internals -----------------------------------------------------------------------

    def _strip_bom(self, chunk: bytes) -> bytes:
        if self._bom_line is None:
            head = self._head + chunk
            if len(head) < len(_BOM) and _BOM.startswith(head):
                self._head = head  # could still become a BOM: wait for more bytes
                return b""
            self._head = b""
            if not head.startswith(_BOM):
                self._at_start = False
                return head
            chunk = head[len(_BOM) :]
            self._shift0 = len(_BOM)
            self._bom_line = bytearray()
        # Read the BOM's line (what openai-python misreads) before reporting it; the bytes go on.
        line = self._bom_line
        cut = min((i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0), default=-1)
        line += chunk if cut < 0 else chunk[:cut]
        if cut >= 0 or len(line) >= 4 * _EXCERPT:
            self._bom_found()
        return chunk

    def _bom_found(self) -> None:
        line = self._bom_line or b""
        # An empty line after the BOM is "\ufeff" to openai-python: an ignored field, not a blank
        # line, so the first block keeps its first line.
        self._bom_block = bool(line)
        self._pending.append(SSEAnomaly("bom", 0, 0, _cut(bytes(line).decode("utf-8", "replace"))))
        self._bom_line = None
        self._at_start = False

    def _block(self, block: str, out: list[SSEMessage], *, terminated: bool, skip_first: bool = False) -> str:
        """The general field rules for one block (its lines are all non-empty).

        Returns why openai-python 3.54 dispatches the block as an event with no data ("" when
        it does not): no `data:` line, and its decoder holds a non-empty event name ("event"),
        a retry that `int()` accepts ("retry") or a non-empty last event id, which it never
        resets ("id:<id>"). `skip_first`: the stream's BOM hides the first line from it.
        """
        data: list[str] = []
        event: str | None = None
        id_: str | None = None
        retry: int | None = None
        oai_event = ""  # openai-python's view of the block (see docstring)
        oai_retry = False
        hidden = skip_first
        for line in block.split("\n"):
            if line[0] == ":":  # comment (keep-alive)
                hidden = False
                continue
            name, sep, value = line.partition(":")
            if sep and value[:1] == " ":
                value = value[1:]
            if name == "data":  # with or without a colon (`data` alone: an empty line)
                data.append(value)
            elif name == "event":
                event = value
                if not hidden:
                    oai_event = value  # the last one wins: an empty one clears it
            elif name == "id":
                if "\x00" not in value:  # spec: an id containing NUL is ignored
                    id_ = value
                    self.last_event_id = value
                    if not hidden:
                        self._oai_id = value
            elif name == "retry":
                if value.isascii() and value.isdigit():  # ASCII digits only
                    retry = int(value)
                    self.reconnection_time = retry
                if not hidden and not oai_retry:
                    oai_retry = _int_ok(value)
            # Any other field name is ignored, as the spec says.
            hidden = False
        # Spec: an empty data buffer dispatches nothing (and the event type resets anyway).
        if data:
            out.append(SSEMessage(self._count, event, "\n".join(data), id_, retry, terminated))
            self._count += 1
            return ""
        if oai_event:
            return "event"
        if oai_retry:
            return "retry"
        return "id:" + self._oai_id if self._oai_id else ""

    def _blank_lines(self, n: int, k: int, index: int) -> None:
        """`k` extra blank lines from N offset `n`: each an empty event for openai-python."""
        for j in range(k):
            self._pending.append(SSEAnomaly("empty-event", self._orig(n + j), index, "", "id:" + self._oai_id))

    def _invalid(self, raw: bytes, e: UnicodeDecodeError, base: int, index: int, in_message: bool) -> SSEAnomaly:
        start = raw.rfind(b"\n", 0, e.start) + 1
        end = raw.find(b"\n", e.start)
        line = raw[start : end if end >= 0 else len(raw)]
        i = e.start - start
        if i > _EXCERPT // 2:  # keep the bad bytes in view
            line = b"\xe2\x80\xa6" + line[i - _EXCERPT // 2 :]
        bad = "".join(f"\\x{b:02x}" for b in raw[e.start : e.end])
        text = _cut(line.decode("utf-8", "replace"))
        return SSEAnomaly("invalid-utf8", self._orig(base + e.start), index, text, bad, in_message)

    def _settle(self) -> None:
        self.anomalies = tuple(self._pending)
        self._pending.clear()

    # -- positions (cold: used only to report anomalies) ---------------------------------

    def _shifted(self, raw: bytes | None, n_len: int = 0) -> None:
        """The read about to enter _buf at N offset n lost bytes: a dropped LF (raw None, one
        byte before it) or CRs (raw: the read as received, `n_len` its normalised length)."""
        n = self._n0 + len(self._buf)
        mods = self._mods
        while mods and mods[0][1] <= self._n0:  # _buf no longer reaches into it
            self._shift0 = mods.pop(0)[2]
        shift = mods[-1][2] if mods else self._shift0
        if raw is None:
            mods.append((n, n, shift + 1, None, n + shift + 1))
        else:
            mods.append((n, n + n_len, shift + len(raw) - n_len, raw, n + shift))

    def _orig(self, n: int) -> int:
        """Received-stream offset of N offset `n` (at or after _buf's start)."""
        shift = self._shift0
        for n_start, n_end, after, raw, o_start in self._mods:
            if n < n_start:
                break
            if n < n_end and raw is not None:
                return o_start + _unnormalise(raw, n - n_start)
            shift = after
        return n + shift


def _unnormalise(raw: bytes, r: int) -> int:
    """Offset in `raw` of byte `r` of its LF-normalised form (a CRLF maps to its CR)."""
    p = out = 0
    while True:
        i = raw.find(b"\r\n", p)
        if i < 0 or r <= out + i - p:
            return p + r - out
        out += i - p + 1
        p = i + 2


class _Offsets:
    """N offsets of characters of `text` (which starts at N offset `base` and decodes `nbytes`
    bytes), asked for in increasing order: each byte is encoded once however many are asked."""

    __slots__ = ("_base", "_clean", "_i", "_n", "_nbytes", "_text")

    def __init__(self, text: str, base: int, nbytes: int, clean: bool) -> None:
        self._text, self._base, self._nbytes, self._clean = text, base, nbytes, clean
        self._i = 0
        self._n = base

    def __call__(self, i: int) -> int:
        text = self._text
        if i == 0 or text.isascii():
            return self._base + i
        if not self._clean:
            # U+FFFD stands for 1-3 bad bytes: count from the end (a run of "\n" where asked).
            return self._base + self._nbytes - len(text[i:].encode("utf-8"))
        self._n += len(text[self._i : i].encode("utf-8"))
        self._i = i
        return self._n


def _int_ok(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True


def _cut(s: str) -> str:
    return s if len(s) <= _EXCERPT else s[: _EXCERPT - 1] + "…"
