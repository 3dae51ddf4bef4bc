"""pydantic-ai (`pydantic-ai-slim[openai]`, OpenAIResponsesModel) through each case."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from _common import (
    API_KEY,
    BASE_URL,
    FOLLOW_UP,
    LONG_PROMPTS,
    MAX_OUTPUT_TOKENS,
    MODEL,
    PROMPT,
    REASONING_PROMPT,
    STRUCTURED_PROMPT,
    TOOL_PROMPT,
    TOOL_TURNS,
    run,
    weather,
)
from pydantic import BaseModel
from pydantic_ai import Agent, NativeOutput
from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.messages import ThinkingPart
from pydantic_ai.models.openai import OpenAIResponsesModel, OpenAIResponsesModelSettings
from pydantic_ai.providers.openai import OpenAIProvider

MODEL_OBJ = OpenAIResponsesModel(MODEL, provider=OpenAIProvider(base_url=BASE_URL, api_key=API_KEY))
SETTINGS = OpenAIResponsesModelSettings(max_tokens=MAX_OUTPUT_TOKENS)


class WeatherReport(BaseModel):
    city: str
    temperature_c: int


@dataclass
class ToolTurns(AbstractCapability[Any]):
    """Per-step tool_choice, the way pydantic-ai documents it: a tool until enough tool turns ran."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def get_model_settings(self) -> Any:
        return lambda ctx: {"tool_choice": "required" if len(self.calls) < TOOL_TURNS else "none"}


def agent(**kwargs: Any) -> Agent[Any, Any]:
    return Agent(MODEL_OBJ, model_settings=kwargs.pop("model_settings", SETTINGS), **kwargs)


async def stream_text() -> dict[str, Any]:
    deltas: list[str] = []
    async with agent().run_stream(PROMPT) as result:
        async for delta in result.stream_text(delta=True):
            deltas.append(delta)
        final = await result.get_output()
    return {"deltas": deltas, "text": final}


async def text() -> dict[str, Any]:
    return {"text": (await agent().run(PROMPT)).output}


async def tool_loop() -> dict[str, Any]:
    turns = ToolTurns()
    a = agent(capabilities=[turns])

    @a.tool_plain
    def get_weather(city: str) -> str:
        """Current weather of a city."""
        output = weather(city)
        turns.calls.append({"arguments": {"city": city}, "output": output})
        return output

    result = await a.run(TOOL_PROMPT)
    return {"tool_calls": turns.calls, "text": result.output}


async def reasoning() -> dict[str, Any]:
    settings = OpenAIResponsesModelSettings(max_tokens=MAX_OUTPUT_TOKENS, openai_reasoning_effort="low",
                                            openai_reasoning_summary="auto")
    result = await agent(model_settings=settings).run(REASONING_PROMPT)
    summary = "".join(part.content for message in result.all_messages() for part in message.parts
                      if isinstance(part, ThinkingPart))
    return {"summary": summary, "summary_deltas": None, "text": result.output}


async def structured() -> dict[str, Any]:
    result = await agent(output_type=NativeOutput(WeatherReport)).run(STRUCTURED_PROMPT)
    return {"parsed": result.output.model_dump()}


async def store_on() -> dict[str, Any]:
    a = agent(model_settings=OpenAIResponsesModelSettings(max_tokens=MAX_OUTPUT_TOKENS, openai_store=True))
    first = await a.run(PROMPT)
    # a concrete id seeds the run: the earlier turn stays on the server, nothing is resent
    assert first.response.provider_response_id, "no provider_response_id on the first turn"
    second = await a.run(FOLLOW_UP, model_settings=OpenAIResponsesModelSettings(
        max_tokens=MAX_OUTPUT_TOKENS, openai_store=True,
        openai_previous_response_id=first.response.provider_response_id))
    return {"texts": [first.output, second.output]}


async def store_off() -> dict[str, Any]:
    a = agent(model_settings=OpenAIResponsesModelSettings(max_tokens=MAX_OUTPUT_TOKENS, openai_store=False))
    first = await a.run(PROMPT)
    second = await a.run(FOLLOW_UP, message_history=first.all_messages())
    return {"texts": [first.output, second.output]}


async def long_conversation() -> dict[str, Any]:
    a = agent()
    texts: list[str] = []
    previous: str | None = None
    for prompt in LONG_PROMPTS:
        settings = OpenAIResponsesModelSettings(max_tokens=MAX_OUTPUT_TOKENS, openai_store=True)
        if previous:
            settings["openai_previous_response_id"] = previous
        result = await a.run(prompt, model_settings=settings)
        texts.append(result.output)
        previous = result.response.provider_response_id
    return {"texts": texts}


if __name__ == "__main__":
    cases = {"stream_text": stream_text, "text": text, "tool_loop": tool_loop, "reasoning": reasoning,
             "structured": structured, "store_on": store_on, "store_off": store_off,
             "long_conversation": long_conversation}
    run({name: (lambda f=f: asyncio.run(f())) for name, f in cases.items()})
