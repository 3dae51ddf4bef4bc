"""Record a target's exact answers and replay them as a Responses endpoint (ASGI app, CLI server,
respx router); docs/record-replay.md explains the folder format and the matching rules."""

from conformance.replay.app import PlannedAnswer, Replayer, ReplayOptions, create_replay_app
from conformance.replay.inprocess import DEFAULT_BASE_URL, respx_router
from conformance.replay.matching import Recording, RecordingError, load_recordings, request_hash

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
