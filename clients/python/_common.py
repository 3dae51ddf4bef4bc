"""What every Python client script shares: the server address, the tool, the schema, the output."""

from __future__ import annotations

import json
import os
import sys
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASE_URL = os.environ["CLIENTS_BASE_URL"]
MODEL = os.environ.get("CLIENTS_MODEL", "gpt-oss")
API_KEY = "sk-clients-matrix"
os.environ.setdefault("OPENAI_API_KEY", API_KEY)
os.environ.setdefault("OPENAI_BASE_URL", BASE_URL)
# The Agents SDK would otherwise upload traces to api.openai.com.
os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")

PROMPT = "Say hello in one short sentence."
TOOL_PROMPT = "What is the weather in Paris? Use get_weather."
TOOL_DESCRIPTION = "Current weather of a city."
TOOL_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "city name"}},
    "required": ["city"],
    "additionalProperties": False,
}
SCHEMA_NAME = "weather_report"
SCHEMA: dict[str, Any] = json.loads((Path(__file__).parent.parent / "weather_report.schema.json").read_text())
STRUCTURED_PROMPT = "Give the weather report for Paris as JSON."
REASONING_PROMPT = "Think briefly, then say which is larger: 9.11 or 9.9."
FOLLOW_UP = "Now say goodbye in one short sentence."
# long_conversation: enough turns, each with a long message, to grow the prompt past 256 and 512
# tokens (the KV cache's capacity boundaries) while every turn reuses the previous turn's prefix.
LONG_TURNS = 6
LONG_FILLER = ("Here is some background for this turn: the city of Paris lies on the Seine, has twenty "
               "arrondissements, many bridges, several large parks, two major airports and a dense "
               "metro network; please keep all of this in mind for the rest of our conversation.")
LONG_PROMPTS = [f"Turn {i + 1}. {LONG_FILLER} Reply with one short sentence." for i in range(LONG_TURNS)]
MAX_OUTPUT_TOKENS = 256
# Tool turns the client runs before the model is told to answer (tool_choice "none").
TOOL_TURNS = 2


def weather(city: str) -> str:
    """The tool: its output carries a fresh token so the harness can find it in later requests."""
    return f"{city}: 21 C, sunny (report {uuid.uuid4().hex[:12]})"


def emit(result: dict[str, Any]) -> None:
    print("RESULT " + json.dumps(result), flush=True)


def run(cases: dict[str, Callable[[], dict[str, Any]]]) -> None:
    """Run the case named on the command line; print its RESULT line, or one ERROR line."""
    if len(sys.argv) != 2 or sys.argv[1] not in cases:
        sys.exit(f"usage: {sys.argv[0]} CASE (one of {', '.join(cases)})")
    try:
        emit(cases[sys.argv[1]]())
    except Exception as exc:
        traceback.print_exc()
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"ERROR {type(exc).__name__}: {first}", file=sys.stderr)
        sys.exit(1)
