"""Recordings on disk and how a request finds its recording.

A request is matched to a recording by scenario id (header `X-Conformance-Scenario`, or
`metadata.conformance_scenario` in the body) or else by its normalised request hash: sha256 of
the canonical JSON (sorted keys, no spaces) of the request body without transport-only fields
(`stream`, `stream_options`, `store`, `user`, `prompt_cache_key`, `safety_identifier`, the
scenario tag in `metadata`) and without explicit nulls (the API treats null as absent).
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCENARIO_HEADER = "x-conformance-scenario"
SCENARIO_METADATA_KEY = "conformance_scenario"
TRANSPORT_ONLY_FIELDS = frozenset(
    {"stream", "stream_options", "store", "user", "prompt_cache_key", "safety_identifier"}
)


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def normalise_request(request: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in request.items() if k not in TRANSPORT_ONLY_FIELDS}
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and SCENARIO_METADATA_KEY in metadata:
        metadata = {k: v for k, v in metadata.items() if k != SCENARIO_METADATA_KEY}
        if metadata:
            body["metadata"] = metadata
        else:
            body.pop("metadata")
    return _drop_nulls(body)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_hash(request: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(normalise_request(request)).encode()).hexdigest()


@dataclass
class Recording:
    """One recorded answer: the exact bytes and what is needed to serve them again."""

    name: str  # path relative to the folder, without extension
    body: bytes
    kind: str  # "sse" or "json"
    status: int = 200
    content_type: str | None = None
    request: dict[str, Any] | None = None
    scenario: str | None = None
    sidecar: dict[str, Any] = field(default_factory=dict)

    @property
    def request_key(self) -> str | None:
        return request_hash(self.request) if isinstance(self.request, dict) else None


class RecordingError(ValueError):
    """A recording folder or file that cannot be served (message names the file)."""


def _body_path(sidecar_path: Path, sidecar: dict[str, Any]) -> Path | None:
    stem = sidecar_path.with_suffix("")
    explicit = sidecar.get("body_file")
    if isinstance(explicit, str):
        return sidecar_path.parent / explicit
    for candidate in (stem.with_suffix(".sse"), Path(f"{stem}.body.json")):
        if candidate.is_file():
            return candidate
    return None


def load_recordings(folder: str | Path) -> list[Recording]:
    """Every recording below `folder`: a sidecar `NAME.json` next to its body (`NAME.sse`,
    `NAME.body.json`, or the sidecar's `body_file`). Sidecars without a body are skipped."""
    root = Path(folder)
    if not root.is_dir():
        raise RecordingError(f"{root} is not a folder of recordings")
    recordings: list[Recording] = []
    for sidecar_path in sorted(root.rglob("*.json")):
        if sidecar_path.name.endswith(".body.json") or sidecar_path.name.endswith(".schema.json"):
            continue
        try:
            sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RecordingError(f"{sidecar_path}: unreadable sidecar ({exc})") from exc
        if not isinstance(sidecar, dict):
            continue
        body_path = _body_path(sidecar_path, sidecar)
        if body_path is None:
            continue
        recording_meta = sidecar.get("recording") if isinstance(sidecar.get("recording"), dict) else {}
        kind = "sse" if body_path.suffix == ".sse" else "json"
        recordings.append(
            Recording(
                name=str(sidecar_path.relative_to(root).with_suffix("")),
                body=body_path.read_bytes(),
                kind=kind,
                status=int(recording_meta.get("status", 200)),
                content_type=sidecar.get("content_type") or recording_meta.get("content_type"),
                request=sidecar.get("request") if isinstance(sidecar.get("request"), dict) else None,
                scenario=sidecar.get("scenario") or recording_meta.get("scenario"),
                sidecar=sidecar,
            )
        )
    return recordings


@dataclass
class RecordingIndex:
    recordings: list[Recording]

    def __post_init__(self) -> None:
        self.by_scenario = {r.scenario: r for r in self.recordings if r.scenario}
        self.by_name = {r.name: r for r in self.recordings}
        self.by_hash: dict[str, Recording] = {}
        for r in self.recordings:
            key = r.request_key
            if key is not None:
                self.by_hash.setdefault(key, r)

    def match(self, request: dict[str, Any] | None, scenario: str | None) -> Recording | None:
        if scenario:
            return self.by_scenario.get(scenario) or self.by_name.get(scenario)
        if isinstance(request, dict):
            return self.by_hash.get(request_hash(request))
        return None

    def closest(self, request: dict[str, Any] | None, scenario: str | None) -> Recording | None:
        """The recording most like the request (for the 404 message)."""
        if not self.recordings:
            return None
        if scenario:
            names = {r.scenario or r.name: r for r in self.recordings}
            best = difflib.get_close_matches(scenario, list(names), n=1, cutoff=0.0)
            return names[best[0]] if best else None
        wanted = canonical_json(normalise_request(request)) if isinstance(request, dict) else ""
        candidates = [r for r in self.recordings if r.request is not None] or self.recordings

        def similarity(r: Recording) -> float:
            have = canonical_json(normalise_request(r.request)) if r.request else r.name
            return difflib.SequenceMatcher(None, wanted, have).ratio()

        return max(candidates, key=similarity)
