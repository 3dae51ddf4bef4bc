"""`reference-server` binds its port before it says it serves: a busy port is one line, exit 2."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from reference_server.__main__ import main


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


@pytest.mark.parametrize("mode", [["--backend", "scripted"], ["--upstream", "anthropic", "--upstream-url", "http://up.test/v1"]])
def test_a_busy_port_is_one_line_and_exit_2(busy_port: int, mode: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--port", str(busy_port), "--db", ":memory:", *mode])
    out, err = capsys.readouterr()
    assert code == 2
    assert "serving" not in out
    assert err.startswith(f"reference-server: error: cannot listen on 127.0.0.1:{busy_port}: ")
    assert err.count("\n") == 1 and "--port 0" in err


def test_it_serves_on_the_port_it_announced(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(self: Any, sockets: list[socket.socket] | None = None) -> None:
        seen["port"] = sockets[0].getsockname()[1] if sockets else None
        self.started = True

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    assert main(["--port", "0", "--db", ":memory:", "--backend", "scripted"]) == 0
    out = capsys.readouterr().out
    assert seen["port"] and f"http://127.0.0.1:{seen['port']}/v1" in out
