"""sequence.*: every event's integer `sequence_number`, 0, 1, 2, … without gaps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance.registry import CheckContext, Hit, rule
from conformance.rules._util import short

if TYPE_CHECKING:
    from conformance.state import StreamState

SPEC = "PROTOCOL.md Order (sequence_number 0,1,2,…)"


@rule("sequence.missing", "error", "no integer sequence_number",
      "An event has no integer `sequence_number`.", spec=SPEC,
      on=("*", "@finish"), fast_safe=True)
def has_sequence_number(st: StreamState, ev: Any, ctx: CheckContext) -> Iterator[Hit]:
    # A stream with no sequence numbers at all: one finding at the end. Every current server
    # must send them (openai-python's types require them, so does Open Responses): an error,
    # unless the user opted in to tolerance "sequence-number-absent" for recordings made before
    # about April 2025. Events without one in a stream that has them are errors, each.
    if ev is None:  # end of stream
        first = st.seq_first_missing
        if first is not None and st.last_seq is None:
            n = st.seq_n_missing
            if ctx.profile.tolerates("sequence-number-absent"):
                yield Hit(
                    f"no event carries a sequence_number ({n} events); streams recorded before "
                    "about April 2025 look like this [tolerated: sequence-number-absent]",
                    event_index=first,
                    max_severity=ctx.profile.tolerance_severity("sequence-number-absent"),
                )
            else:
                yield Hit(
                    f"no event carries a sequence_number ({n} events); every current server must "
                    "send one on each event (openai-python's event types require it); a recording "
                    "made before about April 2025 is checked with --tolerate sequence-number-absent",
                    event_index=first,
                )
        return
    seq = ev.get("sequence_number")
    if type(seq) is int:
        first = st.seq_first_missing
        if first is not None:
            st.seq_first_missing = None
            yield Hit(
                f"{st.seq_n_missing} event(s) before this one had no sequence_number "
                "although this one has",
                event_index=first,
            )
        return
    what = "is missing" if "sequence_number" not in ev else f"is {short(seq)}, not an integer"
    if st.last_seq is None:
        if st.seq_first_missing is None:
            st.seq_first_missing = ctx.index
        st.seq_n_missing += 1
        return
    yield Hit(f"sequence_number {what} (previous: {st.last_seq})")


@rule("sequence.not-increasing", "error", "sequence_number not increasing",
      "`sequence_number` is not strictly greater than the previous event's.", spec=SPEC,
      on=("*",), fast_safe=True)
def increasing(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    seq = ev.get("sequence_number")
    if type(seq) is int and st.last_seq is not None and seq <= st.last_seq:
        yield f"sequence_number {seq} after {st.last_seq}; expected {st.last_seq + 1}"


@rule("sequence.gap", "warning", "sequence_number gap",
      "The step between consecutive `sequence_number`s is not exactly 1.", spec=SPEC,
      on=("*",), fast_safe=True)
def no_gap(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    seq = ev.get("sequence_number")
    # Undecodable messages in between (framing.*) may have held the missing numbers.
    if type(seq) is int and st.last_seq is not None and seq > st.last_seq + 1 + st.lost:
        yield f"sequence_number jumps from {st.last_seq} to {seq}; expected {st.last_seq + 1}"


@rule("sequence.start", "warning", "sequence_number does not start at 0",
      "The first event's `sequence_number` is not 0.", spec=SPEC,
      on=("*",), fast_safe=True)
def starts_at_zero(st: StreamState, ev: dict[str, Any], ctx: CheckContext) -> Iterator[str]:
    seq = ev.get("sequence_number")
    if st.n_events == 0 and type(seq) is int and seq != 0:
        yield f"the first event's sequence_number is {seq}; expected 0"
