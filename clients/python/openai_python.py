"""openai-python (Responses API) through each case; prints one RESULT line."""

from __future__ import annotations

import json
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
    TOOL_DESCRIPTION,
    TOOL_PARAMETERS,
    TOOL_PROMPT,
    TOOL_TURNS,
    run,
    weather,
)
from openai import OpenAI
from pydantic import BaseModel, ConfigDict

client = OpenAI(base_url=BASE_URL, max_retries=0)
TOOLS: list[Any] = [{"type": "function", "name": "get_weather", "description": TOOL_DESCRIPTION,
                     "parameters": TOOL_PARAMETERS, "strict": True}]


class WeatherReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: str
    temperature_c: int


def stream_text() -> dict[str, Any]:
    deltas: list[str] = []
    with client.responses.stream(model=MODEL, input=PROMPT, max_output_tokens=MAX_OUTPUT_TOKENS) as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    return {"deltas": deltas, "text": final.output_text}


def text() -> dict[str, Any]:
    r = client.responses.create(model=MODEL, input=PROMPT, max_output_tokens=MAX_OUTPUT_TOKENS)
    return {"text": r.output_text}


def tool_loop() -> dict[str, Any]:
    items: list[Any] = [{"role": "user", "content": TOOL_PROMPT}]
    calls: list[dict[str, Any]] = []
    previous = None
    for turn in range(TOOL_TURNS + 1):
        r = client.responses.create(model=MODEL, input=items, tools=TOOLS, previous_response_id=previous,
                                    tool_choice="required" if turn < TOOL_TURNS else "none",
                                    max_output_tokens=MAX_OUTPUT_TOKENS)
        previous, items = r.id, []
        for item in r.output:
            if item.type == "function_call":
                args = json.loads(item.arguments)
                output = weather(args["city"])
                calls.append({"arguments": args, "output": output})
                items.append({"type": "function_call_output", "call_id": item.call_id, "output": output})
        if turn == TOOL_TURNS:
            return {"tool_calls": calls, "text": r.output_text}
    raise AssertionError("unreachable")


def reasoning() -> dict[str, Any]:
    deltas: list[str] = []
    with client.responses.stream(model=MODEL, input=REASONING_PROMPT, max_output_tokens=MAX_OUTPUT_TOKENS,
                                 reasoning={"effort": "low", "summary": "auto"}) as stream:
        for event in stream:
            if event.type == "response.reasoning_summary_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    summary = "".join(part.text for item in final.output if item.type == "reasoning"
                      for part in item.summary)
    return {"summary": summary, "summary_deltas": deltas, "text": final.output_text}


def structured() -> dict[str, Any]:
    r = client.responses.parse(model=MODEL, input=STRUCTURED_PROMPT, text_format=WeatherReport,
                               max_output_tokens=MAX_OUTPUT_TOKENS)
    assert r.output_parsed is not None, "no parsed output"
    return {"parsed": r.output_parsed.model_dump(), "raw": r.output_text}


def store_on() -> dict[str, Any]:
    first = client.responses.create(model=MODEL, input=PROMPT, store=True, max_output_tokens=MAX_OUTPUT_TOKENS)
    second = client.responses.create(model=MODEL, input=FOLLOW_UP, store=True, previous_response_id=first.id,
                                     max_output_tokens=MAX_OUTPUT_TOKENS)
    return {"texts": [first.output_text, second.output_text]}


def store_off() -> dict[str, Any]:
    history: list[Any] = [{"role": "user", "content": PROMPT}]
    first = client.responses.create(model=MODEL, input=history, store=False, max_output_tokens=MAX_OUTPUT_TOKENS)
    # the documented stateless pattern: resend the output items as the next input
    history += [item.model_dump(exclude_none=True) for item in first.output]
    history.append({"role": "user", "content": FOLLOW_UP})
    second = client.responses.create(model=MODEL, input=history, store=False, max_output_tokens=MAX_OUTPUT_TOKENS)
    return {"texts": [first.output_text, second.output_text]}


def long_conversation() -> dict[str, Any]:
    texts, previous = [], None
    for prompt in LONG_PROMPTS:
        r = client.responses.create(model=MODEL, input=prompt, store=True, previous_response_id=previous,
                                    max_output_tokens=MAX_OUTPUT_TOKENS)
        texts.append(r.output_text)
        previous = r.id
    return {"texts": texts}


if __name__ == "__main__":
    run({"stream_text": stream_text, "text": text, "tool_loop": tool_loop, "reasoning": reasoning,
         "structured": structured, "store_on": store_on, "store_off": store_off,
         "long_conversation": long_conversation})
