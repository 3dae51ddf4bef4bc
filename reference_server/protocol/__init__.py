"""The wire formats, pure (no IO, no web framework): Responses API requests (validated into
the official 400s), the event writer and its SSE framing, errors; harmony prompts and the
token-by-token decoder, and the contract a token backend fulfils (`token_backend`)."""
