"""Where the tests find files: the repository, and the project's shared folder next to it
(`../shared`, as CI lays it out). Tests that need the shared folder skip, saying so, without it."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# The real api.openai.com captures as committed (copies of SEED, checked byte for byte when SEED is there).
CAPTURES = ROOT / "fixtures" / "streams" / "positive" / "openai-api"
SEED = SHARED / "fixtures-seed" / "openai-api"
RULES_MD = SHARED / "RULES.md"


def require_shared(path: Path) -> Path:
    """`path` (under SHARED) if it exists; otherwise skip the calling test with one clear line."""
    if not path.exists():
        pytest.skip(f"{path.relative_to(ROOT.parent)} not found: this test reads the project's shared "
                    "folder, expected at ../shared next to the repository")
    return path
