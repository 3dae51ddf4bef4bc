"""Replay recorded fixtures as a Responses endpoint (ASGI app, CLI server, respx router)."""

from conformance.replay.matching import Recording, load_recordings, request_hash

__all__ = ["Recording", "load_recordings", "request_hash"]
