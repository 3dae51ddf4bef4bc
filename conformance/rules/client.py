"""client.*: metadata only. Replay (`conformance.replay`, `conformance.clients`) runs the real
client code over a stream and reports these with `registry.make_finding`."""

from __future__ import annotations

from conformance.registry import define

define("client.openai-python", "error", "openai-python's accumulator fails",
       "The installed `openai` package's stream accumulator (`responses.stream()`) raises on this "
       "stream, or its final response differs from the terminal snapshot.",
       breaks=("openai-python",), external="conformance replay (openai-python)")
define("client.codex", "error", "Codex CLI rejects the stream",
       "`codex exec` against the target did not finish its turn (e.g. \"stream closed before "
       "response.completed\", usage missing, a non-JSON event).",
       breaks=("codex",), external="conformance run --client codex")
