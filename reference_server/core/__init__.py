"""The response service and its storage: one request's life (prepare, stream, persist,
background jobs, cancellation) over any `ResponseSource`, the SQLite store, sealing of
encrypted content, stored inputs, compaction, settings."""
