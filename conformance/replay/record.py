"""`Recorder`: a runner observer that writes every exchange of every scenario to a folder, as
fixture-compatible body + sidecar pairs (docs/record-replay.md), with every secret removed.

Layout: `OUT/<scenario>/<NN>-<label>.{sse,body.json,body}` + `.json` sidecar, and `OUT/session.json`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from conformance.findings import Finding
from conformance.profiles import get_profile
from conformance.recording import ExchangeRecord
from conformance.redaction import CREDENTIAL_HEADER, Redactor
from conformance.replay.matching import RAW_SUFFIX, SESSION_FILE

if TYPE_CHECKING:
    from conformance.report import Report

# Bodies are written as `<stem><suffix>`: an SSE stream, a JSON body, anything else as is.
BODY_SUFFIXES = {"sse": ".sse", "json": ".body.json", "raw": RAW_SUFFIX}


def safe_headers(headers: Iterable[tuple[str, str]], redactor: Redactor, extra: Iterable[str] = ()) -> list[list[str]]:
    """Response headers minus credentials and cookies (by name), secrets removed from the rest."""
    banned = {h.lower() for h in extra}
    out = []
    for name, value in headers:
        if name.lower() in banned or CREDENTIAL_HEADER.search(name):
            continue
        out.append([name, redactor.text(value)])
    return out


def describe_target(label: str) -> str:
    """A target label fit for a file: no user:password@ and no query string in URLs."""
    parts = urlsplit(label)
    if parts.scheme in ("http", "https") and parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    return label


def slug(text: str, limit: int = 48) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:limit].rstrip("-") or "exchange"


def _flat(value: Any) -> bool:
    """Scalars and lists of scalars (or of such lists) print on one line."""
    if isinstance(value, list):
        return all(_flat(v) for v in value)
    return not isinstance(value, dict)


def dumps(value: Any, indent: int = 0) -> str:
    """Indented JSON whose short arrays (headers, chunk timings, rule ids) stay on one line."""
    pad = "  " * (indent + 1)
    if isinstance(value, dict) and value:
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {dumps(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(value, list) and value and not _flat(value):
        items = [pad + dumps(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        items = [pad + json.dumps(v, ensure_ascii=False) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    return json.dumps(value, ensure_ascii=False)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("responses-conformance")
    except Exception:  # a checkout that is not installed
        return "0.1.0+checkout"


class Recorder:
    """Writes each exchange as it happens (`observe`), then `write_session(report)` at the end."""

    def __init__(
        self,
        out: str | Path,
        *,
        secrets: Sequence[str] = (),
        target: str = "",
        auth_header: str = "Authorization",
        scenario_tags: Mapping[str, Sequence[str]] | None = None,
        probe: bool = True,
    ) -> None:
        self.out = Path(out)
        self.redactor = Redactor(secrets)
        self.target = describe_target(self.redactor.text(target))
        self.auth_header = auth_header
        self.scenario_tags = dict(scenario_tags or {})
        self.probe = probe
        self.date = _now()
        self.written: list[Path] = []
        self.exchanges: dict[str, int] = {}
        self.model: str | None = None

    # -- the observer ------------------------------------------------------------------------

    def observe(self, record: ExchangeRecord) -> list[Finding]:
        self.write(record)
        return []  # recording judges nothing: the runner's own findings stand

    def observe_transcript(self, scenario: str | None, records: list[dict[str, Any]]) -> Path:
        """Write one WebSocket the scenario opened as `<scenario>/ws-NN.jsonl` (the transcript
        format of docs/websocket.md), message texts as received, secrets scrubbed."""
        folder = self.out / (scenario or "_no-scenario")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"ws-{len(list(folder.glob('ws-*.jsonl'))):02d}.jsonl"
        lines = []
        for record in records:
            record = dict(record)
            if isinstance(record.get("text"), str):
                record["text"] = self.redactor.text(record["text"])
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        path.write_text("".join(lines), encoding="utf-8")
        self.written.append(path)
        return path

    def write(self, record: ExchangeRecord) -> Path:
        """Write one exchange (body + sidecar); returns the sidecar path."""
        scenario = record.scenario or "_no-scenario"
        folder = self.out / scenario
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{record.index:02d}-{slug(record.label)}"
        body, redacted = self.redactor.bytes(record.body)
        kind = self._kind(record, body)
        body_path = folder / (stem + BODY_SUFFIXES[kind])
        body_path.write_bytes(body)
        request = self.redactor.value(record.request_json)
        if isinstance(request, dict) and isinstance(request.get("model"), str):
            self.model = self.model or request["model"]
        sidecar = self._sidecar(record, kind, body, body_path, request, redacted)
        sidecar_path = folder / f"{stem}.json"
        sidecar_path.write_text(dumps(sidecar) + "\n", encoding="utf-8")
        self.written += [body_path, sidecar_path]
        self.exchanges[scenario] = self.exchanges.get(scenario, 0) + 1
        return sidecar_path

    @staticmethod
    def _kind(record: ExchangeRecord, body: bytes) -> str:
        if record.stream and record.status == 200:
            return "sse"
        try:
            json.loads(body)
        except ValueError:
            return "raw"
        return "json"

    def _sidecar(
        self, record: ExchangeRecord, kind: str, body: bytes, body_path: Path, request: Any, redacted: bool
    ) -> dict[str, Any]:
        where = f"{record.method} /{record.path}"
        sidecar: dict[str, Any] = {
            "description": (
                f"Recorded from {self.target}: scenario {record.scenario}, exchange {record.index} "
                f"({record.label}): {where} -> {record.status}"
                + (" (the client hung up on purpose)" if record.dropped else "")
            ),
            "provenance": {
                "source": "capture",
                "provider": self.target,
                "repo": "(local recording)",
                "path": body_path.relative_to(self.out).as_posix(),
                "model": request.get("model") if isinstance(request, dict) else self.model,
                "features": list(self.scenario_tags.get(record.scenario or "", ())),
                "reconstructed": redacted,
                "notes": f"conformance record, {self.date}",
            },
        }
        if kind != "raw":
            sidecar["kind"] = kind
        # A profile spec (`openai[tolerate=…,target-kind=proxy]`) is split into the sidecar's fields.
        prof = get_profile(record.profile)
        sidecar["profile"] = prof.name
        if prof.tolerated:
            sidecar["tolerate"] = list(prof.tolerated)
        if prof.target_kind != "server":
            sidecar["target_kind"] = prof.target_kind
        if isinstance(request, dict):
            sidecar["request"] = request
        if record.content_type:
            sidecar["content_type"] = self.redactor.text(record.content_type)
        verdict = self._verdict(kind, body_path, sidecar)
        if verdict is not None:
            sidecar["expected"] = verdict
        meta: dict[str, Any] = {
            "scenario": record.scenario,
            "exchange": record.index,
            "label": record.label,
            "method": record.method,
            "path": "/" + record.path.lstrip("/"),
            "status": record.status,
            "auth": record.auth,
            "stream": record.stream,
            "headers": safe_headers(record.headers, self.redactor, [self.auth_header]),
            "chunks": [[offset, size] for offset, size in record.chunks],
            "target": self.target,
            "date": self.date,
            "tool_version": _tool_version(),
            "verdict": verdict,
            # What the scenario expected of the answer: `conformance check` judges the http.*
            # rules on the recording with it (null: the scenario did not judge the status).
            "expect": record.expect.to_dict() if record.expect else None,
        }
        if record.request_raw is not None:
            raw, _ = self.redactor.bytes(record.request_raw)
            meta["request_raw_base64"] = base64.b64encode(raw).decode()
        if record.dropped:
            meta["dropped"] = True
        if record.error:
            meta["error"] = self.redactor.text(record.error)
        if record.timeout:
            meta["timeout"] = record.timeout.to_dict()
        if redacted:
            meta["redacted"] = True  # the body held a (long) secret: those bytes now read ***
        if kind == "raw":
            meta["body_file"] = body_path.name
        if self.probe and kind == "sse" and not record.dropped:
            from conformance.clients.openai_python import probe_stream

            result = probe_stream(body, request=request, terminal_response=record.terminal)
            meta["clients"] = {"openai-python": result.to_dict()}
        sidecar["recording"] = meta
        return sidecar

    @staticmethod
    def _verdict(kind: str, body_path: Path, sidecar: dict[str, Any]) -> dict[str, list[str]] | None:
        """What the checker says about the body alone, exactly as `conformance fixtures verify`
        will re-check it (same loader types, same function)."""
        if kind == "raw":
            return None
        from conformance.fixture_corpus import Fixture, check_fixture

        fixture = Fixture(body_path.stem, body_path, body_path, {**sidecar, "expected": {"errors": []}})
        result = check_fixture(fixture)
        found: dict[str, set[str]] = {"error": set(), "warning": set(), "info": set()}
        for f in result.findings:
            found.setdefault(f.severity, set()).add(f.rule)
        return {"errors": sorted(found["error"]), "warnings": sorted(found["warning"]), "infos": sorted(found["info"])}

    # -- the run -----------------------------------------------------------------------------

    def clear(self, scenarios: Iterable[str]) -> None:
        """Remove earlier recordings of these scenarios (re-recording must not mix two runs)."""
        for scenario in scenarios:
            folder = self.out / scenario
            if folder.is_dir():
                shutil.rmtree(folder)

    def write_session(self, report: Report) -> Path:
        """`session.json`: target, model, date, versions and each scenario's verdict. Merged with
        an existing one, so re-recording some scenarios keeps the others."""
        from conformance.clients.openai_python import openai_version

        path = self.out / SESSION_FILE
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
        scenarios = dict(previous.get("scenarios") or {}) if isinstance(previous, dict) else {}
        for case in report.cases:
            by_severity: dict[str, set[str]] = {"error": set(), "warning": set(), "info": set()}
            for f in case.findings:
                by_severity.setdefault(f.severity, set()).add(f.rule)
            entry: dict[str, Any] = {
                "status": case.status,
                "errors": sorted(by_severity["error"]),
                "warnings": sorted(by_severity["warning"]),
                "infos": sorted(by_severity["info"]),
                "exchanges": self.exchanges.get(case.id, 0),
            }
            if case.skip_reason:
                entry["skip_reason"] = case.skip_reason
            if case.error:
                entry["error"] = case.error
            scenarios[case.id] = self.redactor.value(entry)
        session = {
            "description": "conformance record: one folder per scenario; see docs/record-replay.md",
            "target": self.target,
            "model": report.meta.get("model") or self.model,
            "profile": report.profile,
            "date": self.date,
            "tool_version": _tool_version(),
            "clients": {"openai-python": openai_version()},
            "scenarios": dict(sorted(scenarios.items())),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(session) + "\n", encoding="utf-8")
        self.written.append(path)
        return path
