"""Suite-wide test settings: the hypothesis profiles.

`ci` (the default) keeps property tests to a budget that lets the whole suite run in a couple
of minutes on two shared cores; `thorough` explores ten times as far for a deliberate deep run:
`HYPOTHESIS_PROFILE=thorough pytest tests/conformance/test_client_oracle.py` (or
`pytest --hypothesis-profile thorough ...`). Neither has a deadline: a per-example time limit is
a wall-clock assertion, and a loaded machine would fail it for no fault of the code. Tests that
set a lower `max_examples` themselves keep it (each of their examples is expensive).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow],
)
# Loaded on import, before any test module builds its `settings(...)` from the default profile.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config: pytest.Config) -> None:
    # --hypothesis-profile wins over the environment (hypothesis' plugin may configure first).
    if config.getoption("--hypothesis-profile", None):
        settings.load_profile(config.getoption("--hypothesis-profile"))


def pytest_report_header(config: pytest.Config) -> str:
    return f"hypothesis profile: {settings.get_current_profile_name()} (max_examples {settings.default.max_examples})"
