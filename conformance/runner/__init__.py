"""The live conformance runner: sends the scenario catalogue to a target and checks every answer.

Targets (`targets`), HTTP with timeouts and retries (`client`), the scenario engine (`engine`).
"""

from conformance.runner.engine import RunOptions, RunSession, run_scenarios, run_scenarios_async
from conformance.runner.targets import (
    Target,
    TargetError,
    app_target,
    base_url_target,
    embedded_target,
    open_target,
)

__all__ = [
    "RunOptions",
    "RunSession",
    "Target",
    "TargetError",
    "app_target",
    "base_url_target",
    "embedded_target",
    "open_target",
    "run_scenarios",
    "run_scenarios_async",
]
