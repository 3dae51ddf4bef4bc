"""Terminal display of a live run: a rich progress bar, one line per finished scenario, then
the findings (the text reporter's per-case renderer) and a summary. Not a file format.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from conformance.report import CaseResult, Report
from conformance.reporters import text as text_reporter

if TYPE_CHECKING:
    from conformance.scenarios.base import Scenario

__all__ = ["TerminalProgress", "case_line", "render_final"]

_MARK = {"passed": ("✓", "green"), "failed": ("✗", "bold red"), "skipped": ("-", "dim"), "error": ("!", "bold red")}
MAX_RULES_IN_LINE = 3


def case_line(case: CaseResult) -> Text:
    """'✓ basic-response  0.21s  12 events' / '✗ x  0.40s  30 events  2 errors: rule, rule'."""
    mark, style = _MARK.get(case.status, ("?", ""))
    line = Text()
    line.append(mark, style=style)
    line.append(f" {case.id}")
    if case.status == "skipped":
        line.append(f"  skipped: {case.skip_reason or ''}", style="dim")
        return line
    line.append(f"  {case.duration_s:.2f}s", style="dim")
    if case.event_count:
        line.append(f"  {text_reporter.plural(case.event_count, 'event')}", style="dim")
    counts = text_reporter.severity_counts(case.findings)
    if counts["error"] or counts["warning"]:
        parts = [text_reporter.plural(n, sev) for sev, n in counts.items() if n and sev != "info"]
        rules = list(dict.fromkeys(f.rule for f in case.findings if f.severity != "info"))
        shown = ", ".join(rules[:MAX_RULES_IN_LINE]) + (", …" if len(rules) > MAX_RULES_IN_LINE else "")
        line.append(f"  {', '.join(parts)}: {shown}", style="red" if counts["error"] else "yellow")
    if case.error:
        line.append(f"  could not run: {case.error}", style="red")
    return line


class TerminalProgress:
    """The runner's `Progress`: lines on `stream`; a transient bar when `stream` is a terminal."""

    def __init__(self, stream: IO[str], *, live: bool = True, color: bool | None = None) -> None:
        self.console = Console(
            file=stream,
            force_terminal=True if color else None,
            no_color=color is False,
            highlight=False,
            soft_wrap=True,
        )
        self.color = bool(color) if color is not None else self.console.is_terminal
        self.live = live and self.console.is_terminal
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._running: list[str] = []

    def header(self, target: str, profile: str) -> None:
        self.console.print(Text(f"{target}: profile {profile}", style="dim"))

    def start(self, total: int) -> None:
        if not self.live:
            return
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("scenarios", total=total)

    def _describe(self) -> None:
        if self._bar is not None and self._task is not None:
            running = ", ".join(self._running[:3]) + (" …" if len(self._running) > 3 else "")
            self._bar.update(self._task, description=running or "scenarios")

    def case_started(self, scenario: Scenario) -> None:
        self._running.append(scenario.id)
        self._describe()

    def case_finished(self, case: CaseResult) -> None:
        if case.id in self._running:
            self._running.remove(case.id)
        self.console.print(case_line(case))
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task)
            self._describe()

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def render_final(report: Report, progress: TerminalProgress, *, summary_only: bool = False) -> None:
    """After the run: every case with findings in detail (unless `summary_only`), then the summary."""
    console = progress.console
    if not summary_only:
        noisy = [c for c in report.cases if c.error or any(f.severity != "info" for f in c.findings)]
        if noisy:
            console.print()
        for case in noisy:
            console.print(Text.from_ansi(text_reporter.render_case(case, color=progress.color)))
    for note in report.meta.get("notes") or ():
        console.print(Text(f"note: {note}", style="yellow"))
    summary = text_reporter.summary_line(report)
    model = report.meta.get("model")
    took = report.meta.get("duration_s")
    extras = [f"model {model}" if model else "", f"{took:.1f}s" if isinstance(took, int | float) else ""]
    extra = ", ".join(e for e in extras if e)
    console.print()
    console.print(Text(summary + (f"  [{extra}]" if extra else ""), style="green" if report.ok else "bold red"))
