"""Helpers for writing tests against the checker: builders of valid streams to mutate
(`streams`) and assertions over what a `CheckResult` reported (`findings`).

    from conformance.testing import assert_only, build_stream, message, renumber, to_sse

Nothing here is imported by the checker itself; the standard library is all it needs.
"""

from conformance.testing.findings import assert_only, describe, findings_of, rules_found
from conformance.testing.streams import *  # noqa: F403
from conformance.testing.streams import __all__ as _builders

__all__ = [*_builders, "assert_only", "describe", "findings_of", "rules_found"]
