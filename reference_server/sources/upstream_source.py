"""The upstream-driven `ResponseSource` of proxy mode: a request goes to a Chat Completions or
Anthropic Messages upstream through the pure converters of `reference_server.sources.adapters`, and its
answer (streamed or not) comes back as Responses events into the service's writer.

The service around it (storage, previous_response_id, validation) is the reference server's own.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from reference_server.core.service import Prepared
from reference_server.protocol.errors import APIError
from reference_server.protocol.events import Event
from reference_server.protocol.request import WEB_SEARCH_TOOL_TYPES, CreateRequest, PassiveTool
from reference_server.sources.adapters.anthropic import (
    json_tool_name,
    responses_to_anthropic_request,
)
from reference_server.sources.adapters.anthropic_stream import (
    AnthropicToResponsesStream,
    message_to_events,
)
from reference_server.sources.adapters.cc_stream import CCToResponsesStream
from reference_server.sources.adapters.chat_completions import (
    completion_to_chunks,
    responses_to_cc_request,
)
from reference_server.sources.adapters.common import ConversionError
from reference_server.sources.adapters.upstream_client import Upstream, UpstreamFailure

log = logging.getLogger("reference_server.proxy")


@dataclass(frozen=True)
class UpstreamCall:
    """What `UpstreamSource.plan` made of a request: the upstream body and how to read the answer."""

    path: str
    body: dict[str, Any]
    stream: bool
    request: dict[str, Any]  # the Responses-shaped request the converters were given
    json_tool: str | None = None  # Anthropic: the synthetic structured-output tool


def upstream_request(req: CreateRequest, context: list[dict[str, Any]], *,
                     web_search: bool = False) -> dict[str, Any]:
    """The Responses request the converters translate: the stored conversation expanded in
    front of the new input, only what the upstream should see (metadata, store, ids and the
    proxy's own bookkeeping stay here), sampling values only when they differ from the default
    (Anthropic refuses temperature and top_p together). `web_search`: the upstream runs web
    search itself (Anthropic's server tool), so the web search tool and `max_tool_calls` go too."""
    _check_tool_outputs([*context, *req.input_items], len(context))
    out: dict[str, Any] = {"model": req.model, "input": [*context, *req.input_items], "stream": req.stream}
    if req.instructions:
        out["instructions"] = req.instructions
    # Tools the model never calls here (tool_search; web_search unless the upstream runs it)
    # are not forwarded either.
    tools = [t.echo() for t in req.tools
             if not isinstance(t, PassiveTool) or (web_search and t.type in WEB_SEARCH_TOOL_TYPES)]
    if web_search and req.max_tool_calls is not None and req.web_search_tool() is not None:
        out["max_tool_calls"] = req.max_tool_calls
    if tools:
        out["tools"] = tools
        out["tool_choice"] = req.tool_choice
        # max_tool_calls 1 is the one limit an upstream can be asked for; larger ones are not enforced.
        out["parallel_tool_calls"] = req.parallel_tool_calls and req.max_tool_calls != 1
    if req.temperature != 1.0:
        out["temperature"] = req.temperature
    if req.top_p != 1.0:
        out["top_p"] = req.top_p
    if req.max_output_tokens is not None:
        out["max_output_tokens"] = req.max_output_tokens
    if req.reasoning.get("effort") is not None:
        out["reasoning"] = {"effort": req.reasoning["effort"]}
        if req.reasoning.get("summary") is not None:  # whether the client wants to read it
            out["reasoning"]["summary"] = req.reasoning["summary"]
    if req.text["format"]["type"] != "text":
        out["text"] = {"format": req.text["format"]}
    if req.user:
        out["user"] = req.user
    if req.safety_identifier:
        out["safety_identifier"] = req.safety_identifier
    return out


_DROPPED_NOTED: set[tuple[str, str]] = set()


def _note_dropped_sampling(request: dict[str, Any], sent: dict[str, Any], model: str) -> None:
    """Log, once per model and value, a sampling value the converter left out (the model refuses
    it, or Anthropic's thinking forbids it): the client's request still succeeds, and its
    response echoes what it asked for, so only the operator's log can say so."""
    for name in ("temperature", "top_p"):
        if name in request and name not in sent and (model, name) not in _DROPPED_NOTED and len(_DROPPED_NOTED) < 256:
            _DROPPED_NOTED.add((model, name))
            log.warning("upstream model %s: %s not sent (the model refuses it, or with thinking on); "
                     "the model's own sampling applies", model, name)


def _check_tool_outputs(items: list[dict[str, Any]], offset: int) -> None:
    """The reference server's rule: a function_call_output must answer a call made earlier."""
    calls: set[str] = set()
    for position, item in enumerate(items):
        if item.get("type") == "function_call":
            calls.add(item["call_id"])
        elif item.get("type") == "function_call_output" and "call_id" in item and item["call_id"] not in calls:
            param = f"input[{position - offset}].call_id" if position >= offset else "previous_response_id"
            raise APIError(400, f"No tool call found for function call output with call_id {item['call_id']}.",
                           param=param, code="invalid_value")


class UpstreamSource:
    """A `ResponseSource` whose output comes from a Chat Completions or Anthropic upstream."""

    name = "proxy"

    def __init__(self, up: Upstream) -> None:
        if up.kind not in ("chat-completions", "anthropic"):
            raise ValueError(f"UpstreamSource serves chat-completions or anthropic upstreams, not {up.kind!r}")
        self.up = up
        # Anthropic signs its thinking: the signature is the reasoning item's encrypted_content
        # and must come back byte for byte (a Chat Completions upstream's reasoning is plain
        # text, sealed by the server like a backend's).
        self.upstream_seals_reasoning = up.kind == "anthropic"

    async def model_ids(self) -> list[str]:
        return await self.up.model_ids()

    def health(self) -> dict[str, Any]:
        return {"mode": "proxy", "upstream": self.up.kind}

    async def aclose(self) -> None:
        await self.up.aclose()

    async def plan(self, req: CreateRequest, context: list[dict[str, Any]]) -> UpstreamCall:
        # An Anthropic upstream searches the web itself (its server-side web search tool); a
        # Chat Completions one has no such tool, so the web search tool is not forwarded there.
        web_search = self.up.kind == "anthropic"
        if req.browser_mode() == "required" and not web_search:
            # Answering anyway would break the forced choice's contract with a response that
            # never searched.
            raise APIError(400, f"'tool_choice' forces a web search, which this server cannot run: it relays "
                                f"to a {self.up.kind} upstream and forwards no hosted tools.",
                           param="tool_choice", code="unsupported_value")
        request = upstream_request(req, context, web_search=web_search)
        model = self.up.model(req.model)
        try:
            if self.up.kind == "chat-completions":
                call = UpstreamCall("/chat/completions", responses_to_cc_request(request, model=model),
                                    req.stream, request)
            else:
                call = UpstreamCall("/messages", responses_to_anthropic_request(request, model=model), req.stream,
                                    request, json_tool_name(request, model))
        except ConversionError as exc:
            raise APIError(400, exc.message, param=exc.param, code="unsupported_value") from None
        _note_dropped_sampling(request, call.body, str(model))
        return call

    def _converter(self, prep: Prepared) -> CCToResponsesStream | AnthropicToResponsesStream:
        call: UpstreamCall = prep.plan
        if self.up.kind == "chat-completions":
            return CCToResponsesStream(call.request, writer=prep.writer)
        return AnthropicToResponsesStream(call.request, writer=prep.writer, json_tool=call.json_tool)

    async def run(self, prep: Prepared) -> AsyncIterator[Event]:
        call: UpstreamCall = prep.plan
        conv = self._converter(prep)
        if call.stream:
            async for event in self._streamed(call, conv):
                yield event
            return
        try:
            answer = await self.up.post_json(call.path, call.body)
            replay = (completion_to_chunks(answer) if self.up.kind == "chat-completions"
                      else message_to_events(answer))
        except UpstreamFailure as exc:
            prep.http_error = APIError(exc.status, exc.message, type=exc.type, code=exc.code)
            events = conv.fail(exc.message, exc.code)
        except ConversionError as exc:
            message = f"The upstream answer could not be translated: {exc.message}"
            prep.http_error = APIError(502, message, type="server_error", code="upstream_protocol_error")
            events = conv.fail(message, "upstream_protocol_error")
        else:
            events = []
            for piece in replay:
                events += conv.feed(piece)
            events += conv.finish()
        for event in events:
            yield event

    async def _streamed(self, call: UpstreamCall,
                        conv: CCToResponsesStream | AnthropicToResponsesStream) -> AsyncIterator[Event]:
        """The converted upstream stream; always ends with a terminal event."""
        up = self.up
        try:
            async with contextlib.aclosing(up.events(call.path, call.body)) as items:
                async for item in items:
                    if isinstance(item, tuple):
                        events = conv.fail(f"The upstream sent data that is not JSON: {item[1]!r}",
                                           "upstream_protocol_error")
                    elif item == "[DONE]":
                        events = conv.finish()
                    else:
                        if isinstance(item, dict) and (item.get("error") or item.get("type") == "error"):
                            # An upstream error message may quote the key: it would be shown and stored.
                            item = json.loads(up.scrub(json.dumps(item)))
                        events = conv.feed(item)
                    for event in events:
                        yield event
                    if conv.done:
                        return
            events = conv.finish()
        except UpstreamFailure as exc:
            events = conv.fail(exc.message, exc.code)
        except TimeoutError:
            events = conv.fail(f"The upstream stalled: no data for {up.timeout:g} s.", "upstream_timeout")
        except httpx.TimeoutException:
            events = conv.fail(f"The upstream did not answer within {up.timeout:g} s.", "upstream_timeout")
        except httpx.HTTPError as exc:
            log.warning("upstream stream broke: %s", up.scrub(str(exc)))
            events = conv.fail("The upstream connection was lost mid-stream.", "upstream_disconnected")
        for event in events:
            yield event
