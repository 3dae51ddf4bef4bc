"""Loads a fixture corpus (body + sidecar pairs under `fixtures/streams/`) and re-checks each one.

Used by the tests and by `conformance fixtures verify|list`; the file format is documented in
fixtures/README.md and fixed by fixtures/sidecar.schema.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from conformance.findings import Finding
from conformance.resources import fixtures_dir

__all__ = [
    "Fixture",
    "FixtureError",
    "Verdict",
    "check_fixture",
    "covered_rules",
    "default_root",
    "load_fixtures",
    "sidecar_schema",
    "validate_sidecar",
    "verify",
    "verify_all",
]

SIDECAR_SCHEMA_NAME = "sidecar.schema.json"
# A non-stream body cannot be `X.json` (that name is the sidecar's), so it is `X.body.json`.
BODY_SUFFIXES = {"sse": ".sse", "json": ".body.json"}


class FixtureError(Exception):
    """The corpus itself is malformed: a body without sidecar, an unreadable or invalid sidecar."""


def default_root() -> Path:
    """The shipped corpus: `fixtures/streams/` (not `fixtures/` itself, which holds other data)."""
    return fixtures_dir() / "streams"


@dataclass(frozen=True)
class Fixture:
    """One fixture: a body file and its sidecar (description, provenance, expected verdict)."""

    name: str  # path relative to the corpus root, without extension: "negative/item/status"
    body_path: Path
    sidecar_path: Path
    sidecar: dict[str, Any] = field(compare=False, repr=False)

    @property
    def kind(self) -> str:
        return str(self.sidecar.get("kind", "sse"))

    @property
    def profile(self) -> str:
        """The profile spec the fixture is checked with: its profile plus the sidecar's opt-in
        tolerances and target kind (`openai[tolerate=sequence-number-absent]`)."""
        from conformance.profiles import profile_spec

        name = str(self.sidecar.get("profile") or "openai")
        tolerate = self.sidecar.get("tolerate") or ()
        kind = self.sidecar.get("target_kind")
        if not tolerate and not kind:
            return name
        try:
            return profile_spec(name, tolerate, kind)
        except ValueError as exc:
            raise FixtureError(f"{self.sidecar_path}: {exc}") from exc

    @property
    def request(self) -> dict[str, Any] | None:
        return self.sidecar.get("request")

    @property
    def content_type(self) -> str | None:
        return self.sidecar.get("content_type")

    @property
    def description(self) -> str:
        return str(self.sidecar.get("description", ""))

    def _expected(self, key: str) -> frozenset[str]:
        return frozenset(self.sidecar.get("expected", {}).get(key) or ())

    @property
    def expected_errors(self) -> frozenset[str]:
        return self._expected("errors")

    @property
    def expected_warnings(self) -> frozenset[str]:
        return self._expected("warnings")

    @property
    def expected_infos(self) -> frozenset[str]:
        return self._expected("infos")

    @property
    def negative(self) -> bool:
        return "negative" in Path(self.name).parts

    def body(self) -> bytes:
        return self.body_path.read_bytes()


@dataclass(frozen=True)
class Verdict:
    """The checker's verdict on one fixture compared with what its sidecar expects.

    Errors must match exactly; expected warnings and infos must appear (others may too).
    """

    fixture: Fixture
    errors: frozenset[str] = frozenset()
    warnings: frozenset[str] = frozenset()
    infos: frozenset[str] = frozenset()
    findings: tuple[Finding, ...] = ()
    crash: str | None = None  # the checker raised: a bug in the checker, never a verdict

    @property
    def missing_errors(self) -> frozenset[str]:
        return self.fixture.expected_errors - self.errors

    @property
    def unexpected_errors(self) -> frozenset[str]:
        return self.errors - self.fixture.expected_errors

    @property
    def missing_warnings(self) -> frozenset[str]:
        return self.fixture.expected_warnings - self.warnings

    @property
    def missing_infos(self) -> frozenset[str]:
        return self.fixture.expected_infos - self.infos

    @property
    def ok(self) -> bool:
        return self.crash is None and not (
            self.missing_errors
            or self.unexpected_errors
            or self.missing_warnings
            or self.missing_infos
        )

    def problems(self) -> list[str]:
        """What changed, one short phrase each (empty when the verdict is as expected)."""
        out = []
        if self.crash:
            out.append(f"checker raised: {self.crash}")
        for label, ids in (
            ("expected error not reported", self.missing_errors),
            ("unexpected error", self.unexpected_errors),
            ("expected warning not reported", self.missing_warnings),
            ("expected info not reported", self.missing_infos),
        ):
            if ids:
                out.append(f"{label}: {', '.join(sorted(ids))}")
        return out

    def explain(self) -> str:
        """The problems plus the findings behind unexpected errors (for test failures, CLI)."""
        lines = [f"{self.fixture.name}: " + "; ".join(self.problems() or ["as expected"])]
        for f in self.findings:
            if f.rule in self.unexpected_errors and f.severity == "error":
                where = f"event {f.event_index}" if f.event_index is not None else "stream"
                lines.append(f"  {f.rule} at {where}: {f.message}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        fx = self.fixture
        return {
            "name": fx.name,
            "ok": self.ok,
            "kind": fx.kind,
            "profile": fx.profile,
            "expected": {
                "errors": sorted(fx.expected_errors),
                "warnings": sorted(fx.expected_warnings),
                "infos": sorted(fx.expected_infos),
            },
            "actual": {
                "errors": sorted(self.errors),
                "warnings": sorted(self.warnings),
                "infos": sorted(self.infos),
            },
            "problems": self.problems(),
        }


# ---- loading ----------------------------------------------------------------------------------
@cache
def sidecar_schema() -> dict[str, Any]:
    path = fixtures_dir() / SIDECAR_SCHEMA_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FixtureError(f"cannot read the sidecar schema {path}: {exc}") from exc


def validate_sidecar(data: Any) -> list[str]:
    """Problems of a sidecar against fixtures/sidecar.schema.json, one line each."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(sidecar_schema())
    return [
        f"{'/' + '/'.join(map(str, e.absolute_path)) if e.absolute_path else '(root)'}: {e.message}"
        for e in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    ]


def _read_sidecar(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FixtureError(f"{path}: unreadable sidecar: {exc}") from exc
    if not isinstance(data, dict):
        raise FixtureError(f"{path}: a sidecar must be a JSON object")
    problems = validate_sidecar(data)
    if problems:
        raise FixtureError(f"{path}: invalid sidecar: {problems[0]}")
    return data


def load_fixtures(root: Path | str | None = None) -> list[Fixture]:
    """Every fixture under `root` (default: the shipped corpus), sorted by name.

    `root` may be any folder of the corpus (or one body file). Raises FixtureError on a body
    without sidecar, a sidecar without body, or a sidecar that does not validate.
    """
    base = Path(root) if root is not None else default_root()
    if not base.exists():
        raise FixtureError(f"{base}: no such file or directory")
    if (base / SIDECAR_SCHEMA_NAME).is_file() and (base / "streams").is_dir():
        # The fixtures/ folder itself: its other subfolders (upstream/) hold other data.
        base = base / "streams"
    if base.is_file():
        files = [base]
        base = base.parent
    else:
        files = sorted(p for p in base.rglob("*") if p.is_file())
    fixtures: list[Fixture] = []
    claimed: set[Path] = set()
    for path in files:
        if path.name.endswith(".body.json"):
            stem = path.name[: -len(".body.json")]
        elif path.suffix == ".sse":
            stem = path.stem
        else:
            continue
        sidecar_path = path.with_name(stem + ".json")
        if not sidecar_path.is_file():
            raise FixtureError(f"{path}: no sidecar {sidecar_path.name} next to it")
        data = _read_sidecar(sidecar_path)
        kind = data.get("kind", "sse")
        if not path.name.endswith(BODY_SUFFIXES.get(kind, "?")):
            raise FixtureError(f"{sidecar_path}: kind {kind!r} does not match body {path.name}")
        name = (path.parent / stem).relative_to(base).as_posix()
        fixtures.append(Fixture(name, path, sidecar_path, data))
        claimed.add(sidecar_path)
    for path in files:
        # A stray sidecar (its body renamed or deleted) would silently drop a test case.
        if path.suffix == ".json" and not path.name.endswith(".body.json") and path not in claimed:
            if path.name == SIDECAR_SCHEMA_NAME:
                continue
            try:
                looks_like_sidecar = "expected" in json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError, TypeError):
                looks_like_sidecar = False
            if looks_like_sidecar:
                raise FixtureError(f"{path}: sidecar without a body (.sse or .body.json)")
    return sorted(fixtures, key=lambda f: f.name)


# ---- checking ---------------------------------------------------------------------------------
def check_fixture(fixture: Fixture) -> Any:
    """Run the checker on one fixture with its profile, request and content type."""
    import conformance

    if fixture.kind == "json":
        try:
            body = json.loads(fixture.body())
        except ValueError as exc:
            raise FixtureError(f"{fixture.body_path}: not JSON: {exc}") from exc
        return conformance.check_response(body, profile=fixture.profile, request=fixture.request)
    return conformance.check_sse(
        fixture.body(),
        profile=fixture.profile,
        request=fixture.request,
        content_type=fixture.content_type,
    )


def verify(fixture: Fixture) -> Verdict:
    """The verdict on one fixture. A checker exception becomes `crash`, never propagates."""
    try:
        result = check_fixture(fixture)
    except FixtureError:
        raise
    except Exception as exc:  # the checker must never raise; report it as a changed verdict
        return Verdict(fixture, crash=f"{type(exc).__name__}: {exc}")
    findings = tuple(result.findings)
    by_severity: dict[str, set[str]] = {"error": set(), "warning": set(), "info": set()}
    for f in findings:
        by_severity.setdefault(f.severity, set()).add(f.rule)
    return Verdict(
        fixture,
        errors=frozenset(by_severity["error"]),
        warnings=frozenset(by_severity["warning"]),
        infos=frozenset(by_severity["info"]),
        findings=findings,
    )


def verify_all(root: Path | str | None = None) -> list[Verdict]:
    return [verify(f) for f in load_fixtures(root)]


def covered_rules(fixtures: Iterable[Fixture]) -> dict[str, list[str]]:
    """Rule id -> negative fixtures that expect it (errors, warnings or infos)."""
    out: dict[str, list[str]] = {}
    for fx in fixtures:
        if not fx.negative:
            continue
        for rule_id in fx.expected_errors | fx.expected_warnings | fx.expected_infos:
            out.setdefault(rule_id, []).append(fx.name)
    return out
