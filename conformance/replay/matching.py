"""Recordings on disk and how an incoming request finds the recording that answers it.

Two kinds of folders load the same way: `conformance record` output (sidecars with a `recording`
object: scenario, exchange index, method, path, auth class) and fixture-corpus folders (no
`recording`: each fixture answers `POST /responses`). Matching, most specific first:

1. scenario (header `X-Conformance-Scenario` or `metadata.conformance_scenario`), method, path
   and exact body hash; then the same with the normalised body hash (see `request_hash`);
2. a fixture whose name (or a unique trailing part of it) equals the scenario: `POST /responses`;
3. method, path and exact body hash without scenario; then normalised body hash;
4. nothing: `None` (the caller answers 404 naming `closest()`).
Each key keeps its recordings in recorded order and answers them FIFO, repeating the last one
when exhausted (a GET before and after DELETE). Auth classes: see `compatible_auth`.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.recording import SCENARIO_HEADER, AuthClass

SCENARIO_METADATA_KEY = "conformance_scenario"
TRANSPORT_ONLY_FIELDS = frozenset(
    {"stream", "stream_options", "store", "user", "prompt_cache_key", "safety_identifier"}
)
# Headers that may carry a key: the replay reads credentials from the first one present.
AUTH_HEADERS = ("authorization", "api-key", "x-api-key")
SESSION_FILE = "session.json"
RAW_SUFFIX = ".body"  # a response body that is neither SSE nor JSON (e.g. an HTML error page)


# -- request keys ----------------------------------------------------------------------------


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _without_scenario_tag(request: dict[str, Any]) -> dict[str, Any]:
    metadata = request.get("metadata")
    if not (isinstance(metadata, dict) and SCENARIO_METADATA_KEY in metadata):
        return request
    body = dict(request)
    rest = {k: v for k, v in metadata.items() if k != SCENARIO_METADATA_KEY}
    if rest:
        body["metadata"] = rest
    else:
        body.pop("metadata")
    return body


def normalise_request(request: dict[str, Any]) -> dict[str, Any]:
    """The request without transport-only fields, the scenario tag and explicit nulls (the API
    treats null as absent)."""
    body = {k: v for k, v in _without_scenario_tag(request).items() if k not in TRANSPORT_ONLY_FIELDS}
    return dict(_drop_nulls(body))


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def request_hash(request: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of `normalise_request(request)`."""
    return _sha(canonical_json(normalise_request(request)))


def body_keys(body: bytes | None = None, request: Any = None) -> tuple[str, str]:
    """(exact, loose) keys of a request body given as bytes or as the decoded JSON value.

    exact: canonical JSON minus the scenario tag (so `stream`, `store`, nulls count); loose: the
    normalised `request_hash`. A body that is not a JSON object is keyed by its bytes.
    """
    if request is None and body:
        try:
            request = json.loads(body)
        except ValueError:
            return (f"raw:{_sha(body)}",) * 2
    if isinstance(request, dict):
        return f"json:{_sha(canonical_json(_without_scenario_tag(request)))}", f"norm:{request_hash(request)}"
    if request is None:
        return ("empty",) * 2
    return (f"raw:{_sha(body if body is not None else canonical_json(request))}",) * 2


def normalise_path(path: str, base_path: str = "") -> str:
    """`/v1/responses/x?b=2&a=1` -> `responses/x?a=1&b=2` (relative to the API base)."""
    path, _, query = path.partition("?")
    path = path.strip("/")
    base = base_path.strip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base) :].strip("/")
    elif path == "v1" or path.startswith("v1/"):
        path = path[2:].strip("/")
    if query:
        path += "?" + "&".join(sorted(query.split("&")))
    return path


# -- recordings ------------------------------------------------------------------------------


@dataclass
class Recording:
    """One recorded answer: the exact bytes and what is needed to find and serve it again."""

    name: str  # path relative to the folder, without extension
    body: bytes
    kind: str  # "sse", "json" or "raw"
    status: int = 200
    content_type: str | None = None
    request: dict[str, Any] | None = None
    scenario: str | None = None
    sidecar: dict[str, Any] = field(default_factory=dict)
    method: str = "POST"
    path: str = "responses"
    exchange: int | None = None  # index within its scenario (recordings only)
    auth: AuthClass | None = None  # None: unknown (corpus fixtures) -> any request may get it
    request_raw: bytes | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)  # response headers to replay

    @property
    def request_key(self) -> str | None:
        return request_hash(self.request) if isinstance(self.request, dict) else None

    @property
    def keys(self) -> tuple[str, str]:
        if self.request_raw is not None:
            return body_keys(self.request_raw)
        return body_keys(request=self.request)

    @property
    def is_exchange(self) -> bool:
        """Recorded by `conformance record` (as opposed to a corpus fixture)."""
        return isinstance(self.sidecar.get("recording"), dict)


class RecordingError(ValueError):
    """A recording folder or file that cannot be served (the message names the file)."""


def _body_path(sidecar_path: Path, sidecar: dict[str, Any]) -> Path | None:
    explicit = sidecar.get("body_file") or (sidecar.get("recording") or {}).get("body_file")
    if isinstance(explicit, str):
        return sidecar_path.parent / explicit
    stem = sidecar_path.name[: -len(".json")]
    for suffix in (".sse", ".body.json", RAW_SUFFIX):
        candidate = sidecar_path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def _is_sidecar(path: Path) -> bool:
    name = path.name
    return name.endswith(".json") and not name.endswith((".body.json", ".schema.json")) and name != SESSION_FILE


def _load_one(root: Path, sidecar_path: Path) -> Recording | None:
    try:
        sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RecordingError(f"{sidecar_path}: unreadable sidecar ({exc})") from exc
    if not isinstance(sidecar, dict) or not ({"kind", "expected", "recording"} & sidecar.keys()):
        return None  # some other JSON file living in the folder
    body_path = _body_path(sidecar_path, sidecar)
    if body_path is None or not body_path.is_file():
        return None
    found = sidecar.get("recording")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = "sse" if body_path.suffix == ".sse" else "json" if body_path.name.endswith(".json") else "raw"
    raw_request = meta.get("request_raw_base64")
    auth = meta.get("auth")
    headers = [(str(k), str(v)) for k, v in meta.get("headers") or [] if isinstance(k, str)]
    try:
        return Recording(
            name=sidecar_path.relative_to(root).as_posix()[: -len(".json")],
            body=body_path.read_bytes(),
            kind=kind,
            status=int(meta.get("status", 200)),
            content_type=sidecar.get("content_type") or meta.get("content_type"),
            request=sidecar.get("request") if isinstance(sidecar.get("request"), dict) else None,
            scenario=meta.get("scenario") or sidecar.get("scenario"),
            sidecar=sidecar,
            method=str(meta.get("method", "POST")).upper(),
            path=normalise_path(str(meta.get("path", "responses"))),
            exchange=meta.get("exchange"),
            auth=auth if auth in ("none", "valid", "invalid") else None,
            request_raw=base64.b64decode(raw_request) if isinstance(raw_request, str) else None,
            headers=headers,
        )
    except (TypeError, ValueError) as exc:
        raise RecordingError(f"{sidecar_path}: bad `recording` object ({exc})") from exc


def load_recordings(folder: str | Path) -> list[Recording]:
    """Every recording below `folder`: a sidecar `NAME.json` next to its body (`NAME.sse`,
    `NAME.body.json`, `NAME.body`, or the sidecar's `body_file`), in scenario/exchange order."""
    root = Path(folder)
    if not root.is_dir():
        raise RecordingError(f"{root} is not a folder of recordings")
    found = [r for p in sorted(root.rglob("*.json")) if _is_sidecar(p) and (r := _load_one(root, p))]
    return sorted(found, key=lambda r: (r.scenario or "", r.exchange if r.exchange is not None else -1, r.name))


def load_session(folder: str | Path) -> dict[str, Any]:
    """The `session.json` a recording run leaves next to its scenarios ({} when absent)."""
    path = Path(folder) / SESSION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# -- matching --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayRequest:
    """What matching looks at in an incoming request."""

    method: str
    path: str  # normalised (see normalise_path)
    body: bytes
    scenario: str | None
    auth: AuthClass

    @classmethod
    def from_parts(
        cls,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        api_key: str | None = None,
        base_path: str = "",
    ) -> ReplayRequest:
        lowered = {k.lower(): v for k, v in headers.items()}
        scenario = lowered.get(SCENARIO_HEADER.lower())
        if not scenario and body:
            try:
                metadata = json.loads(body).get("metadata")
                scenario = metadata.get(SCENARIO_METADATA_KEY) if isinstance(metadata, dict) else None
            except (ValueError, AttributeError):
                scenario = None
        return cls(method.upper(), normalise_path(path, base_path), body, scenario or None,
                   classify_auth(lowered, api_key))


def classify_auth(headers: Mapping[str, str], api_key: str | None) -> AuthClass:
    """none: no credentials; valid: the replay's key (any key when the replay has none); invalid."""
    for name in AUTH_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        key = value.strip()
        if name == "authorization" and key[:6].lower() == "bearer" and key[6:7] in ("", " "):
            key = key[6:].strip()
        if not key:
            return "none"
        return "valid" if api_key is None or key == api_key else "invalid"
    return "none"


def compatible_auth(recorded: AuthClass | None, wanted: AuthClass, strict: bool) -> bool:
    """Which recordings may answer a request of class `wanted`. A fixture (auth unknown) answers
    anyone. With a replay key (`strict`) only the same class; without one any class, same first."""
    return recorded is None or recorded == wanted or not strict


_AUTH_ORDER: tuple[AuthClass | None, ...] = (None, "valid", "none", "invalid")


class RecordingIndex:
    """Finds the recording for a request; keeps the FIFO position of every key (thread-safe)."""

    def __init__(self, recordings: list[Recording]) -> None:
        self.recordings = recordings
        self._queues: dict[tuple[Any, ...], dict[AuthClass | None, list[Recording]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self._cursor: dict[tuple[Any, ...], int] = defaultdict(int)
        self._lock = threading.Lock()
        self.by_name = {r.name: r for r in recordings}
        self.scenarios = {r.scenario for r in recordings if r.scenario}
        self._aliases = self._fixture_aliases(recordings)
        for r in recordings:
            if not r.is_exchange and r.request is None:
                continue  # a fixture without its request is found by name only
            exact, loose = r.keys
            for key in self._keys(r.scenario, r.method, r.path, exact, loose):
                self._queues[key][r.auth].append(r)

    @staticmethod
    def _keys(scenario: str | None, method: str, path: str, exact: str, loose: str) -> list[tuple[Any, ...]]:
        bodies = (exact,) if exact == loose else (exact, loose)  # a body without JSON has one key
        keys = [("s", scenario, method, path, b) for b in bodies] if scenario else []
        return keys + [("g", method, path, b) for b in bodies]

    @staticmethod
    def _fixture_aliases(recordings: list[Recording]) -> dict[str, Recording]:
        """Fixture name and each unique trailing part of it ("openai-api/text", "text")."""
        fixtures = [r for r in recordings if not r.is_exchange]
        counts: dict[str, list[Recording]] = defaultdict(list)
        for r in fixtures:
            parts = r.name.split("/")
            for i in range(1, len(parts)):
                counts["/".join(parts[i:])].append(r)
        aliases = {alias: rs[0] for alias, rs in counts.items() if len(rs) == 1}
        aliases.update({r.name: r for r in fixtures})  # a full name always wins
        return aliases

    def _pick(self, key: tuple[Any, ...], auth: AuthClass, strict: bool) -> Recording | None:
        groups = self._queues.get(key)
        if not groups:
            return None
        for recorded in (auth, *(a for a in _AUTH_ORDER if a != auth)):
            queue = groups.get(recorded)
            if not queue or not compatible_auth(recorded, auth, strict):
                continue
            with self._lock:
                position = self._cursor[(*key, recorded)]
                self._cursor[(*key, recorded)] = min(position + 1, len(queue) - 1)
            return queue[position]
        return None

    def match(self, req: ReplayRequest, *, strict_auth: bool = False) -> Recording | None:
        exact, loose = body_keys(req.body)
        if req.scenario:
            for key in self._keys(req.scenario, req.method, req.path, exact, loose):
                if key[0] != "s":
                    break
                if found := self._pick(key, req.auth, strict_auth):
                    return found
            fixture = self._aliases.get(req.scenario)
            if fixture is not None and (req.method, req.path) == (fixture.method, fixture.path):
                return fixture
        for key in self._keys(None, req.method, req.path, exact, loose):
            if found := self._pick(key, req.auth, strict_auth):
                return found
        return None

    def closest(self, req: ReplayRequest) -> Recording | None:
        """The recording most like the request (for the 404 message)."""
        pool = [r for r in self.recordings if req.scenario and r.scenario == req.scenario]
        if not pool and req.scenario:
            names = {r.scenario or r.name: r for r in self.recordings}
            best = difflib.get_close_matches(req.scenario, list(names), n=1, cutoff=0.6)
            if best:
                return names[best[0]]
        pool = pool or self.recordings
        if not pool:
            return None
        wanted = f"{req.method} {req.path} {_describe_body(req.body)}"

        def similarity(r: Recording) -> float:
            have = f"{r.method} {r.path} {_describe_body(r.request_raw, r.request)}"
            return difflib.SequenceMatcher(None, wanted, have, autojunk=False).ratio()

        return max(pool, key=similarity)


def _describe_body(body: bytes | None, request: Any = None) -> str:
    if request is None and body:
        try:
            request = json.loads(body)
        except ValueError:
            return body[:500].decode("utf-8", "replace")
    if isinstance(request, dict):
        return canonical_json(normalise_request(request))[:2000]
    return "" if request is None else canonical_json(request)[:2000]
