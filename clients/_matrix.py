"""client x case x backend -> pass / FAIL / SKIP, rendered as a Markdown table."""

from __future__ import annotations

from dataclasses import dataclass, field

_MARK = {"passed": "pass", "failed": "**FAIL**", "skipped": "SKIP"}


@dataclass
class Matrix:
    cells: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)

    def record(self, client: str, case: str, backend: str, outcome: str, reason: str) -> None:
        # setup and call both report; a failure or skip in either one is the cell's verdict
        if (client, case, backend) in self.cells and outcome == "passed":
            return
        self.cells[client, case, backend] = (outcome, reason)

    def markdown(self, env: str = "") -> str:
        clients = list(dict.fromkeys(c for c, _, _ in self.cells))
        cases = list(dict.fromkeys(k for _, k, _ in self.cells))
        backends = list(dict.fromkeys(b for _, _, b in self.cells))
        head = ["client", *cases]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for client in clients:
            row = [client]
            for case in cases:
                marks = [_MARK.get(self.cells.get((client, case, b), ("n/a", ""))[0], "—") for b in backends]
                row.append("—" if set(marks) == {"—"} else " / ".join(marks))
            lines.append("| " + " | ".join(row) + " |")
        counts = {k: sum(1 for o, _ in self.cells.values() if o == k) for k in _MARK}
        skipped = sorted({r for o, r in self.cells.values() if o == "skipped"})
        out = [f"**WARNING: {counts['skipped']} cells SKIPPED (not run, not passed): {'; '.join(skipped)}**", ""] \
            if skipped else []
        out += [f"Real-client matrix: {counts['passed']} pass, {counts['failed']} fail, "
               f"{counts['skipped']} skipped. Each cell: {' / '.join(backends)} backend "
               "(— = the case does not apply to the client).", "", *lines]
        problems = [(k, v) for k, v in self.cells.items() if v[0] != "passed"]
        if problems:
            out += ["", "| client | case | backend | verdict | why |", "|---|---|---|---|---|"]
            for (client, case, b), (outcome, reason) in problems:
                why = reason.replace("|", "\\|").replace("\n", " ")[:300]
                out.append(f"| {client} | {case} | {b} | {_MARK[outcome]} | {why} |")
        if env:
            out += ["", env]
        return "\n".join(out) + "\n"
