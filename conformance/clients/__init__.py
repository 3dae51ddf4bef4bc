"""Real-client probes: run recorded or live streams through real client code (rules `client.*`),
and the `--client` wiring shared by `conformance check` and `conformance run`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from conformance import registry
from conformance.findings import at_least

if TYPE_CHECKING:
    from conformance.recording import ExchangeObserver
    from conformance.report import CaseResult, Report
    from conformance.runner.targets import Target

CLIENT_NAMES = ("openai-python", "codex")
CHECK_CLIENTS = ("openai-python",)  # codex needs a live target


def parse_clients(values: Iterable[str] | None, allowed: Sequence[str] = CLIENT_NAMES) -> list[str]:
    """`["openai-python,codex"]` -> `["openai-python", "codex"]`; ValueError naming the choices."""
    out: list[str] = []
    for value in values or ():
        for name in (v.strip() for v in value.split(",")):
            if not name:
                continue
            if name not in allowed:
                raise ValueError(f"--client {name}: unknown client; choose from {', '.join(allowed)}")
            if name not in out:
                out.append(name)
    return out


def add_note(report: Report, note: str) -> None:
    """A line every report shows next to its summary (`Report.meta["notes"]`)."""
    notes = report.meta.setdefault("notes", [])
    if note not in notes:
        notes.append(note)


def _restatus(case: CaseResult, fail_on: str) -> None:
    case.findings = [f for f in case.findings if registry.enabled(f.rule)]  # --select / --ignore
    if case.status == "passed" and any(at_least(f.severity, fail_on) for f in case.findings):
        case.status = "failed"


# -- conformance check --client ----------------------------------------------------------------


def probe_check_cases(
    cases: list[CaseResult], paths: Sequence[str], *, request: dict[str, Any] | None, profile: str, fail_on: str
) -> dict[str, Any]:
    """Run each checked SSE file through openai-python; findings join its case. Returns the
    `Report.meta["clients"]` entry. Standard input cannot be read twice: it is not probed."""
    from conformance.clients.openai_python import NOT_INSTALLED, openai_version, probe_stream

    if openai_version() is None:
        return {"openai-python": {"version": None, "skipped": "openai is not installed", "note": NOT_INSTALLED}}
    probed = skipped = 0
    for case, path in zip(cases, paths, strict=True):
        if path != "-" and case.details.get("input") == "websocket-transcript":
            # A WebSocket transcript: replayed as a server to `responses.connect()`.
            from conformance.replay.websocket import probe_openai_python

            lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
            records = [orjson.loads(line) for line in lines if line.strip().startswith("{")]
            case.findings.extend(probe_openai_python(records))
            _restatus(case, fail_on)
            probed += 1
            continue
        if path == "-" or case.details.get("input") != "sse":
            skipped += 1
            continue
        result = probe_stream(Path(path).read_bytes(), request=request)
        case.details.setdefault("clients", {})["openai-python"] = result.to_dict()
        case.findings.extend(result.findings(profile))
        _restatus(case, fail_on)
        probed += 1
    return {"openai-python": {"version": openai_version(), "streams_probed": probed, "not_probed": skipped}}


# -- conformance run --client ------------------------------------------------------------------


class ClientRun:
    """The observers a run needs for its clients, and what to do once the scenarios ran."""

    def __init__(self, clients: Sequence[str]) -> None:
        from conformance.clients.codex import PromptCollector
        from conformance.clients.openai_python import OpenAIPythonProbe

        self.clients = list(clients)
        self.openai = OpenAIPythonProbe() if "openai-python" in clients else None
        self.prompts = PromptCollector() if "codex" in clients else None

    @property
    def observers(self) -> tuple[ExchangeObserver, ...]:
        return tuple(o for o in (self.openai, self.prompts) if o is not None)

    def apply(self, options: Any) -> Any:
        """RunOptions with these observers added."""
        return dataclasses.replace(options, observers=(*options.observers, *self.observers))

    def finish(self, report: Report, target: Target, *, timeout_s: float, scenario_tags: dict[str, tuple[str, ...]]) -> list[str]:
        """Codex turns (while the target still runs), Report.meta["clients"]; returns notes for
        the terminal (e.g. why a client was skipped)."""
        from conformance.clients import codex

        meta: dict[str, Any] = {}
        notes: list[str] = []
        if self.openai is not None:
            meta["openai-python"] = self.openai.summary()
            if meta["openai-python"].get("skipped"):
                from conformance.clients.openai_python import NOT_INSTALLED

                add_note(report, NOT_INSTALLED)  # every report format shows it
        if self.prompts is not None:
            ran = [(c.id, scenario_tags.get(c.id, ())) for c in report.cases if c.status != "skipped"]
            base_url = target.base_url if target.kind in ("url", "embedded") else None
            turns, reason = codex.run_codex(
                ran, self.prompts.prompts, base_url=base_url, model=str(report.meta.get("model") or ""),
                api_key=target.api_key, timeout_s=timeout_s,
            )
            if reason:
                meta["codex"] = {"skipped": reason}
                notes.append(f"client codex: skipped ({reason})")
            else:
                from conformance.runner.engine import redact

                for turn in turns.values():  # Codex may echo what it was given: never the key
                    turn.message = redact(turn.message, target.secrets())
                meta["codex"] = {"turns": len(turns), "rejected": sorted(s for s, t in turns.items() if not t.accepted)}
                self._attach(report, turns)
        report.meta["clients"] = meta
        return notes

    @staticmethod
    def _attach(report: Report, turns: dict[str, Any]) -> None:
        from conformance.clients.codex import finding_for

        for case in report.cases:
            turn = turns.get(case.id)
            if turn is None:
                continue
            case.details.setdefault("clients", {})["codex"] = turn.to_dict()
            finding = finding_for(turn, report.profile)
            if finding is not None:
                case.findings.append(finding)
                _restatus(case, report.fail_on)
