"""Reporters: each renders a `conformance.report.Report` to a string in one format.

One module per format, each with `render(report: Report) -> str`; `get_reporter(fmt)` finds it.
Formats whose module is absent (markdown/html are added separately) are simply not offered.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable

from conformance.report import Report

__all__ = ["FORMAT_MODULES", "Renderer", "available_formats", "get_reporter"]

Renderer = Callable[[Report], str]

# Format name -> module in this package. Order is the order shown in --help.
FORMAT_MODULES: dict[str, str] = {
    "text": "text",
    "json": "json_report",
    "junit": "junit",
    "markdown": "markdown",
    "html": "html",
}


def _load(fmt: str) -> Renderer | None:
    module_name = FORMAT_MODULES.get(fmt)
    if module_name is None:
        return None
    qualified = f"{__name__}.{module_name}"
    try:
        module = importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name == qualified:
            return None
        raise
    render: Renderer = module.render
    return render


def available_formats() -> list[str]:
    """Formats whose reporter module exists in this installation. Found, not imported: every
    command lists them for its --help, and importing them all (xml, html templates) cost
    ~10 ms of each start."""
    return [fmt for fmt, module in FORMAT_MODULES.items()
            if importlib.util.find_spec(f"{__name__}.{module}") is not None]


def get_reporter(fmt: str) -> Renderer:
    """The `render` function for `fmt`; ValueError naming the valid formats when unknown."""
    render = _load(fmt)
    if render is None:
        raise ValueError(
            f"unknown report format {fmt!r}; choose one of: {', '.join(available_formats())}"
        )
    return render
