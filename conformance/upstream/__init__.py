"""The suite's own upstream: a deterministic, request-aware model behind a Chat Completions,
Anthropic Messages or Responses API, for checking converters and proxies (`conformance upstream`).

`model` decides the answer from the request (sans-IO), `wire` writes it in each provider's
format, `app` is the HTTP edge with the request log, `client` reads that log from a runner.
"""

from conformance.upstream.model import KINDS, Answer, View, answer, read_request

__all__ = ["KINDS", "Answer", "View", "answer", "read_request"]
