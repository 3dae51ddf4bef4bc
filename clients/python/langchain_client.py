"""langchain-openai (`ChatOpenAI` on the Responses API) through each case."""

from __future__ import annotations

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
    TOOL_DESCRIPTION,
    TOOL_PARAMETERS,
    TOOL_PROMPT,
    TOOL_TURNS,
    run,
    weather,
)
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

TOOL = {"type": "function", "function": {"name": "get_weather", "description": TOOL_DESCRIPTION,
                                         "parameters": TOOL_PARAMETERS, "strict": True}}


class WeatherReport(BaseModel):
    city: str
    temperature_c: int


def llm(**kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(model=MODEL, base_url=BASE_URL, api_key=API_KEY, use_responses_api=True,
                      max_tokens=MAX_OUTPUT_TOKENS, max_retries=0, **kwargs)


def stream_text() -> dict[str, Any]:
    deltas: list[str] = []
    full = None
    for chunk in llm().stream(PROMPT):
        if chunk.text:
            deltas.append(chunk.text)
        full = chunk if full is None else full + chunk
    assert full is not None, "no chunk"
    return {"deltas": deltas, "text": full.text}


def text() -> dict[str, Any]:
    return {"text": llm().invoke(PROMPT).text}


def tool_loop() -> dict[str, Any]:
    messages: list[BaseMessage] = [HumanMessage(TOOL_PROMPT)]
    calls: list[dict[str, Any]] = []
    for turn in range(TOOL_TURNS + 1):
        model = llm().bind_tools([TOOL], tool_choice="required" if turn < TOOL_TURNS else "none")
        ai = model.invoke(messages)
        assert isinstance(ai, AIMessage)
        messages.append(ai)
        if turn == TOOL_TURNS:
            return {"tool_calls": calls, "text": ai.text}
        for call in ai.tool_calls:
            output = weather(call["args"]["city"])
            calls.append({"arguments": call["args"], "output": output})
            messages.append(ToolMessage(output, tool_call_id=call["id"]))
    raise AssertionError("unreachable")


def reasoning() -> dict[str, Any]:
    deltas: list[str] = []
    full = None
    for chunk in llm(reasoning={"effort": "low", "summary": "auto"}).stream(REASONING_PROMPT):
        deltas += [b.get("reasoning", "") for b in chunk.content_blocks if b.get("type") == "reasoning"]
        full = chunk if full is None else full + chunk
    assert full is not None, "no chunk"
    summary = "".join(b.get("reasoning", "") for b in full.content_blocks if b.get("type") == "reasoning")
    return {"summary": summary, "summary_deltas": deltas, "text": full.text}


def structured() -> dict[str, Any]:
    parsed = llm().with_structured_output(WeatherReport, method="json_schema").invoke(STRUCTURED_PROMPT)
    assert isinstance(parsed, WeatherReport), f"parsed into {type(parsed).__name__}"
    return {"parsed": parsed.model_dump()}


def _two_turns(model: ChatOpenAI) -> dict[str, Any]:
    messages: list[BaseMessage] = [HumanMessage(PROMPT)]
    first = model.invoke(messages)
    second = model.invoke([*messages, first, HumanMessage(FOLLOW_UP)])
    return {"texts": [first.text, second.text]}


def store_on() -> dict[str, Any]:
    # use_previous_response_id: send only the new messages, chained to the last response
    return _two_turns(llm(store=True, use_previous_response_id=True))


def store_off() -> dict[str, Any]:
    return _two_turns(llm(store=False))


def long_conversation() -> dict[str, Any]:
    model = llm(store=True, use_previous_response_id=True)
    messages: list[BaseMessage] = []
    texts: list[str] = []
    for prompt in LONG_PROMPTS:
        messages.append(HumanMessage(prompt))
        ai = model.invoke(messages)
        messages.append(ai)
        texts.append(ai.text)
    return {"texts": texts}


if __name__ == "__main__":
    run({"stream_text": stream_text, "text": text, "tool_loop": tool_loop, "reasoning": reasoning,
         "structured": structured, "store_on": store_on, "store_off": store_off,
         "long_conversation": long_conversation})
