"""The scenario catalogue the live runner sends to a target, and selection by id or `tag:NAME`.

Scenario ids are a public interface (CI selects and skips by them): never rename one.
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.scenarios import (
    conversation,
    errors,
    state,
    text,
    tools,
    transport,
    web_search,
    websocket,
)
from conformance.scenarios.base import Scenario, defined

__all__ = ["Scenario", "catalogue", "get", "parse_selectors", "select"]


# Catalogue order: by module (this order), then definition order within a module.
_MODULE_ORDER = tuple(m.__name__ for m in (text, tools, web_search, state, conversation, errors, transport,
                                               websocket))


def catalogue() -> list[Scenario]:
    """Every scenario, in catalogue order."""
    every = defined()
    rank = {name: i for i, name in enumerate(_MODULE_ORDER)}
    return sorted(every, key=lambda s: (rank.get(s.run.__module__, len(rank)), every.index(s)))


def get(scenario_id: str) -> Scenario:
    for s in catalogue():
        if s.id == scenario_id:
            return s
    raise KeyError(f"unknown scenario {scenario_id!r}; `conformance scenarios` lists them")


def parse_selectors(values: Iterable[str] | None) -> list[str]:
    """`["a,b", "tag:x"]` -> `["a", "b", "tag:x"]`."""
    out: list[str] = []
    for value in values or ():
        out += [v.strip() for v in value.split(",") if v.strip()]
    return out


def _matches(s: Scenario, selector: str) -> bool:
    if selector.startswith("tag:"):
        return selector[4:] in s.tags
    return s.id == selector


def _validate(selectors: list[str], scenarios: list[Scenario], option: str) -> None:
    ids = {s.id for s in scenarios}
    tags = {t for s in scenarios for t in s.tags}
    for sel in selectors:
        if sel.startswith("tag:"):
            if sel[4:] not in tags:
                raise ValueError(f"{option}: no scenario has tag {sel[4:]!r} (tags: {', '.join(sorted(tags))})")
        elif sel not in ids:
            raise ValueError(f"{option}: unknown scenario {sel!r}; `conformance scenarios` lists them")


def select(
    include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
) -> tuple[list[Scenario], dict[str, str]]:
    """Scenarios to run (catalogue order) and `{id: reason}` of the selected ones to skip.

    `include` empty means all. A skipped scenario is still reported (as skipped), never dropped.
    ValueError for an unknown id or tag.
    """
    every = catalogue()
    inc, exc = parse_selectors(include), parse_selectors(exclude)
    _validate(inc, every, "--scenario")
    _validate(exc, every, "--skip")
    chosen = [s for s in every if not inc or any(_matches(s, sel) for sel in inc)]
    skipped = {}
    for s in chosen:
        hit = next((sel for sel in exc if _matches(s, sel)), None)
        if hit:
            skipped[s.id] = f"skipped by --skip {hit}"
    return chosen, skipped
