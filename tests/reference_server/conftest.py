"""Fixtures for the reference-server tests: an in-process client and a stream helper."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reference_server import create_app
from reference_server.protocol.vocab import harmony_encoding

from .helpers import RecordingBackend


@pytest.fixture(scope="session")
def encoding() -> Any:
    return harmony_encoding()


@pytest.fixture
def client(encoding: Any) -> Iterator[TestClient]:
    with TestClient(create_app(encoding=encoding), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def recording(encoding: Any) -> Iterator[tuple[TestClient, RecordingBackend]]:
    """An in-process client of a server whose scripted backend keeps every prompt."""
    backend = RecordingBackend(encoding)
    with TestClient(create_app(backend=backend, encoding=encoding), raise_server_exceptions=False) as c:
        yield c, backend
