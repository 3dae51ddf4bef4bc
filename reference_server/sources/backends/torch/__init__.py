"""The torch token backend: a gpt-oss model (seeded random `tiny` preset, or a gpt-oss checkpoint)
with KV caching, continuous batching, prefix reuse and harmony-constrained sampling.

`reference_server.sources.backends.get_backend("torch", **options)` calls `create_backend(**options)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reference_server.protocol.token_backend import BackendError

from .backend import TorchBackend, TorchTokenStream

__all__ = ["DEFAULTS", "TorchBackend", "TorchTokenStream", "create_backend"]

DEFAULTS: dict[str, Any] = {
    "preset": "tiny",
    "checkpoint": None,
    "device": "cpu",
    "dtype": None,  # float32 on CPU, bfloat16 on CUDA
    "seed": 0,  # weights of the random presets
    # Tokens of one message body before the grammar ends it (free text) or steers it to a close
    # (JSON): 48 for the random presets, 2048 for checkpoints.
    "message_token_budget": None,
    # "tight": bound every JSON string/array/number so random weights finish (presets);
    # "loose": only pin JSON whitespace (checkpoints: a trained model ends values itself).
    "schema_bounds": None,
    # How `tool_choice: "auto"` is resolved: "cooperative" (random presets: call an offered tool
    # first, answer after its results; random weights cannot judge) or "model" (checkpoints).
    "auto_tool_choice": None,
    # Prose (reasoning, answers) only from readable English word tokens: True for the random
    # presets (their text is random by design; this keeps it word salad, not token soup), False
    # for checkpoints.
    "readable_text": None,
    "max_batch": 16,  # sequences decoded together; more requests wait
    "prefill_chunk": 512,  # prompt tokens fed per scheduler step
    "prefix_cache_entries": 32,  # finished sequences kept for prefix reuse (0 disables)
    "max_context": None,  # defaults to the model's (initial_context_length x rope_scaling_factor)
    "model_id": None,
    # torch intra-op threads (process-wide): 1 for the random presets, whose ops are too small
    # to gain from threads and lose badly when cores are shared; torch's default for checkpoints.
    "threads": None,
}


def create_backend(**options: Any) -> TorchBackend:
    """Build the model (synchronously) and start its scheduler thread."""
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise BackendError(
            f"unknown torch backend option(s) {', '.join(unknown)} (known: {', '.join(sorted(DEFAULTS))})"
        )
    opts = DEFAULTS | {k: v for k, v in options.items() if v is not None}
    from .checkpoint import load_checkpoint
    from .config import preset
    from .model import GptOss, init_random

    threads = opts["threads"] or (None if opts["checkpoint"] else 1)
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, int(threads)))
    device = _device(str(opts["device"]))
    dtype = _dtype(opts["dtype"], device)
    if opts["checkpoint"]:
        model = load_checkpoint(opts["checkpoint"], device=device, dtype=dtype)
        model_id = opts["model_id"] or f"gpt-oss-torch:{Path(str(opts['checkpoint'])).name}"
    else:
        cfg = preset(str(opts["preset"]))
        model = init_random(GptOss(cfg, device=device, dtype=dtype), int(opts["seed"]))
        model_id = opts["model_id"] or f"gpt-oss-torch-{opts['preset']}"
    trained = bool(opts["checkpoint"])
    budget = opts["message_token_budget"] or (2048 if trained else 48)
    bounds = opts["schema_bounds"] or ("loose" if trained else "tight")
    if bounds not in ("tight", "loose"):
        raise BackendError(f"schema_bounds must be 'tight' or 'loose', got {bounds!r}")
    auto_tools = str(opts["auto_tool_choice"] or ("model" if trained else "cooperative"))
    if auto_tools not in ("model", "cooperative"):
        raise BackendError(f"auto_tool_choice must be one of model, cooperative, got {auto_tools!r}")
    return TorchBackend(
        model,
        str(model_id),
        auto_tool_choice=auto_tools,  # type: ignore[arg-type]  # checked just above
        max_batch=int(opts["max_batch"]),
        message_token_budget=int(budget),
        tight_schemas=bounds == "tight",
        readable_text=bool(opts["readable_text"]) if opts["readable_text"] is not None else not trained,
        prefill_chunk=int(opts["prefill_chunk"]),
        prefix_cache_entries=int(opts["prefix_cache_entries"]),
        max_context=None if opts["max_context"] is None else int(opts["max_context"]),
    )


def _device(name: str) -> Any:
    import torch

    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise BackendError(f"invalid device {name!r}: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BackendError("device 'cuda' requested but torch sees no CUDA device")
    return device


def _dtype(name: Any, device: Any) -> Any:
    import torch

    if name is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    table = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if str(name) not in table:
        raise BackendError(f"unsupported dtype {name!r} (choose from {', '.join(table)})")
    return table[str(name)]
