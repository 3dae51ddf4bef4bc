"""Record a target's exact answers and replay them as a Responses endpoint (ASGI app, CLI server,
respx router); docs/record-replay.md explains the folder format and the matching rules.

Names are imported on first use: the in-process router needs httpx (the `run` extra), and the
sub-modules (`chunking`, `matching`) stay importable without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.replay.app import PlannedAnswer, Replayer, ReplayOptions, create_replay_app
    from conformance.replay.inprocess import DEFAULT_BASE_URL, respx_router
    from conformance.replay.matching import Recording, RecordingError, load_recordings, request_hash

_WHERE = {
    "PlannedAnswer": "app",
    "Replayer": "app",
    "ReplayOptions": "app",
    "create_replay_app": "app",
    "DEFAULT_BASE_URL": "inprocess",
    "respx_router": "inprocess",
    "Recording": "matching",
    "RecordingError": "matching",
    "load_recordings": "matching",
    "request_hash": "matching",
}

__all__ = [
    "DEFAULT_BASE_URL",
    "PlannedAnswer",
    "Recording",
    "RecordingError",
    "ReplayOptions",
    "Replayer",
    "create_replay_app",
    "load_recordings",
    "request_hash",
    "respx_router",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
