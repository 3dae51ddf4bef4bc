"""scripts/mutation.py reads the known equivalent mutants from docs/mutation.md."""

from __future__ import annotations

from pathlib import Path

from scripts.mutation import equivalents


def test_equivalents_table_rows_with_escaped_pipes(tmp_path: Path) -> None:
    doc = tmp_path / "mutation.md"
    doc.write_text(
        "# Mutation\n\n| module | before | after | why |\n|---|---|---|---|\n| not.py | a | b | above the table |\n\n"
        "## Equivalent mutants\n\n| module | before | after | why |\n|---|---|---|---|\n"
        "| `conformance/sse.py` | `x = a \\| b` | `x = a ^ b` | the bits never overlap |\n"
        "| `conformance/state.py` | `n  >  0` | `n >= 1` | integers |\n"
        "| a row | with | too few cells |\n"
    )
    assert equivalents(doc) == {
        "conformance/sse.py": {("x = a | b", "x = a ^ b")},
        "conformance/state.py": {("n > 0", "n >= 1")},
    }


def test_the_projects_table_reads() -> None:
    known = equivalents()
    assert known and all(module.endswith(".py") for module in known)
