"""Generates the built fixtures of `fixtures/` (deterministic: rerunning gives identical bytes).

The specs live in `scripts/fixture_specs/`, one module per rule family; every valid stream comes
from `conformance.testing.streams` and each negative fixture is one of those with exactly one
defect. `python scripts/make_fixtures.py [--check]` (same as `python -m scripts.fixture_specs`).
"""

import sys
from pathlib import Path

# Run as a file, this script's directory is on sys.path, not the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.fixture_specs import main

if __name__ == "__main__":  # as a script; the package is what tests import
    raise SystemExit(main())
