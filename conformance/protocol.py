"""Names of the Responses streaming protocol that the checker, the runner, replay, the proxy and
the clients all use. Plain data with no imports: the bottom of the package (docs/architecture.md).
"""

from __future__ import annotations

__all__ = ["TERMINAL_TYPES"]

# The events that end a response (PROTOCOL.md "Lifecycle"); each carries the final Response.
TERMINAL_TYPES = frozenset({"response.completed", "response.incomplete", "response.failed"})
