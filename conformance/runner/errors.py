"""The runner's one error type, in a module of its own so every runner module can raise it
(the embedded server included) without importing the target factories."""

from __future__ import annotations

__all__ = ["TargetError"]


class TargetError(Exception):
    """The target cannot be used (bad URL, unimportable app, unreachable): one-line reason."""
