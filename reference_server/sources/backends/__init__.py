"""Token backends: prompt tokens in, one token at a time out (see `base`).

`get_backend(name, **options)` builds one by name; "torch" is imported only when asked for.
"""

from __future__ import annotations

from typing import Any

from reference_server.protocol.token_backend import BackendError, TokenBackend

BACKENDS = ("scripted", "torch")


class UnknownBackendError(ValueError):
    pass


def default_backend_name() -> str:
    """What `reference-server` runs without --backend: the real transformer (torch, seeded
    'tiny' preset) when torch can be imported, the scripted backend otherwise."""
    import importlib.util

    return "torch" if importlib.util.find_spec("torch") is not None else "scripted"


def get_backend(name: str, **options: Any) -> TokenBackend:
    """A backend instance: "scripted" (deterministic, default) or "torch" (gpt-oss weights)."""
    if name == "scripted":
        from .scripted import ScriptedBackend

        return ScriptedBackend(**options)
    if name == "torch":
        try:
            from . import torch as torch_backend  # type: ignore[attr-defined]
        except ImportError as exc:
            raise BackendError(f"the torch backend is not available: {exc}") from exc
        factory = getattr(torch_backend, "create_backend", None)
        if factory is None:
            raise BackendError("reference_server.sources.backends.torch defines no create_backend(**options) factory")
        return factory(**options)  # type: ignore[no-any-return]
    raise UnknownBackendError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
