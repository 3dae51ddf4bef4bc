"""The OpenAI Agents SDK for Python (`openai-agents`, Responses model) through each case."""

from __future__ import annotations

import asyncio
from typing import Any

from _common import (
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
from agents import (
    Agent,
    ModelSettings,
    OpenAIResponsesModel,
    ReasoningItem,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai import AsyncOpenAI
from openai.types.shared import Reasoning
from pydantic import BaseModel

set_tracing_disabled(True)
MODEL_OBJ = OpenAIResponsesModel(model=MODEL, openai_client=AsyncOpenAI(base_url=BASE_URL, max_retries=0))
SETTINGS = ModelSettings(max_tokens=MAX_OUTPUT_TOKENS)


class WeatherReport(BaseModel):
    city: str
    temperature_c: int


def agent(**kwargs: Any) -> Agent[Any]:
    kwargs.setdefault("model_settings", SETTINGS)
    return Agent(name="matrix", instructions="You are a helpful assistant.", model=MODEL_OBJ, **kwargs)


async def _stream(a: Agent[Any], prompt: str, delta_type: str) -> tuple[list[str], Any]:
    deltas: list[str] = []
    result = Runner.run_streamed(a, prompt)
    async for event in result.stream_events():
        if event.type == "raw_response_event" and event.data.type == delta_type:
            deltas.append(event.data.delta)
    return deltas, result


async def stream_text() -> dict[str, Any]:
    deltas, result = await _stream(agent(), PROMPT, "response.output_text.delta")
    return {"deltas": deltas, "text": result.final_output}


async def text() -> dict[str, Any]:
    result = await Runner.run(agent(), PROMPT)
    return {"text": result.final_output}


async def tool_loop() -> dict[str, Any]:
    calls: list[dict[str, Any]] = []
    a = agent(model_settings=SETTINGS.resolve(ModelSettings(tool_choice="required")), reset_tool_choice=False)

    @function_tool
    def get_weather(city: str) -> str:
        """Current weather of a city."""
        output = weather(city)
        calls.append({"arguments": {"city": city}, "output": output})
        if len(calls) >= TOOL_TURNS:  # enough tool turns: the next model turn must answer
            a.model_settings = SETTINGS.resolve(ModelSettings(tool_choice="none"))
        return output

    a.tools = [get_weather]
    result = await Runner.run(a, TOOL_PROMPT)
    return {"tool_calls": calls, "text": result.final_output}


async def reasoning() -> dict[str, Any]:
    a = agent(model_settings=SETTINGS.resolve(ModelSettings(reasoning=Reasoning(effort="low", summary="auto"))))
    deltas, result = await _stream(a, REASONING_PROMPT, "response.reasoning_summary_text.delta")
    summary = "".join(part.text for item in result.new_items if isinstance(item, ReasoningItem)
                      for part in item.raw_item.summary)
    return {"summary": summary, "summary_deltas": deltas, "text": result.final_output}


async def structured() -> dict[str, Any]:
    result = await Runner.run(agent(output_type=WeatherReport), STRUCTURED_PROMPT)
    return {"parsed": result.final_output.model_dump()}


async def store_on() -> dict[str, Any]:
    a = agent(model_settings=SETTINGS.resolve(ModelSettings(store=True)))
    first = await Runner.run(a, PROMPT)
    second = await Runner.run(a, FOLLOW_UP, previous_response_id=first.last_response_id)
    return {"texts": [first.final_output, second.final_output]}


async def store_off() -> dict[str, Any]:
    a = agent(model_settings=SETTINGS.resolve(ModelSettings(store=False)))
    first = await Runner.run(a, PROMPT)
    second = await Runner.run(a, [*first.to_input_list(), {"role": "user", "content": FOLLOW_UP}])
    return {"texts": [first.final_output, second.final_output]}


async def long_conversation() -> dict[str, Any]:
    a = agent(model_settings=SETTINGS.resolve(ModelSettings(store=True)))
    texts, previous = [], None
    for prompt in LONG_PROMPTS:
        result = await Runner.run(a, prompt, previous_response_id=previous)
        texts.append(result.final_output)
        previous = result.last_response_id
    return {"texts": texts}


if __name__ == "__main__":
    cases = {"stream_text": stream_text, "text": text, "tool_loop": tool_loop, "reasoning": reasoning,
             "structured": structured, "store_on": store_on, "store_off": store_off,
             "long_conversation": long_conversation}
    run({name: (lambda f=f: asyncio.run(f())) for name, f in cases.items()})
