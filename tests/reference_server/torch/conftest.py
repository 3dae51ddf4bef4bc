"""Fixtures for the torch backend tests: one tiny random model per session (its 201088-row
embeddings take a second to initialise) and backends built on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from reference_server.protocol.token_backend import GenerationRequest, OutputSpec  # noqa: E402
from reference_server.protocol.vocab import harmony_encoding  # noqa: E402
from reference_server.sources.backends.torch.backend import TorchBackend  # noqa: E402
from reference_server.sources.backends.torch.config import preset  # noqa: E402
from reference_server.sources.backends.torch.model import GptOss, init_random  # noqa: E402

STOP = frozenset({200002, 200012})  # <|return|>, <|call|>

# Window 8 so that short tests cross the sliding-window boundary many times.
SMALL_WINDOW = {"sliding_window": 8}


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # the ops are tiny; threads only fight the other test processes


@pytest.fixture(scope="session")
def tiny_model() -> GptOss:
    return init_random(GptOss(preset("tiny", **SMALL_WINDOW)), seed=0)


@pytest.fixture(scope="session")
def encoding() -> Any:
    return harmony_encoding()


def make_backend(model: GptOss, **options: Any) -> TorchBackend:
    backend = TorchBackend(model, "test-tiny", **options)
    assert backend.wait_ready(60), "the harmony tokenizer did not build"
    return backend


@pytest.fixture(scope="module")
def backend(tiny_model: GptOss) -> Iterator[TorchBackend]:
    b = make_backend(tiny_model, max_batch=8, message_token_budget=24)
    yield b
    b.scheduler.stop()


def prompt_tokens(encoding: Any, user: str = "What is the weather in Paris?",
                  system: str = "You are a helpful assistant.") -> tuple[int, ...]:
    text = (f"<|start|>system<|message|>{system}<|end|>"
            f"<|start|>user<|message|>{user}<|end|><|start|>assistant")
    return tuple(encoding.encode(text, allowed_special="all"))


def request(prompt: tuple[int, ...], output: OutputSpec | None = None, **kw: Any) -> GenerationRequest:
    kw.setdefault("max_new_tokens", 400)
    kw.setdefault("stop_token_ids", STOP)
    return GenerationRequest(prompt_tokens=prompt, output=output or OutputSpec(), **kw)


async def collect(backend: TorchBackend, req: GenerationRequest) -> tuple[list[int], int]:
    stream = backend.generate(req)
    tokens = [t async for t in stream]
    return tokens, stream.cached_tokens


def parse(encoding: Any, tokens: list[int]) -> list[Any]:
    """Harmony messages of a completion, via the official streaming parser."""
    from openai_harmony import Role, StreamableParser

    parser = StreamableParser(encoding, Role.ASSISTANT)
    for t in tokens:
        parser.process(t)
    return list(parser.messages)
