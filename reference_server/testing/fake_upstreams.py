"""Scripted fake upstreams for proxy mode: a Chat Completions server and an Anthropic Messages
server (small Starlette apps, deterministic, streaming and not) answering like a cooperative model.

Use them in process as the proxy's upstream transport, no socket needed::

    fake = create_chat_completions_app()
    app = create_proxy_app("chat-completions", "http://fake/v1", transport=httpx.ASGITransport(app=fake))

They check requests the way the real APIs do where a converter could get it wrong (400 with the
API's own error shape), record every request body in `app.state.requests` and count the stream
frames they sent in `app.state.frames_sent`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from reference_server.testing.cooperative import (
    Answer,
    Tool,
    ToolMode,
    Turn,
    answer,
    count_tokens,
    request_seed,
)

CREATED = 1_767_225_600  # fixed timestamps: the fakes are deterministic
JSON_SCHEMA_MARKER = "JSON Schema:"
# Anthropic's documented test string: a request holding it gets its thinking as redacted_thinking.
REDACTED_THINKING_TRIGGER = ("ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_"
                             "46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB")
# The fake Anthropic's signing key: it signs the thinking it sends and verifies what comes back.
_THINKING_KEY = b"fake-anthropic-thinking-key"
THINKING_REQUIRED = (
    "messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{found}`. When "
    "`thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the "
    "lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from "
    "previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at "
    "https://docs.claude.com/en/docs/build-with-claude/extended-thinking")


class FakeRequestError(Exception):
    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.param, self.status = message, param, status


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _schema_in(system: str) -> dict[str, Any] | None:
    """A prompt-instructed structured answer: a system text holding "JSON Schema: {…}"."""
    at = system.find(JSON_SCHEMA_MARKER)
    if at < 0:
        return None
    try:
        schema, _ = json.JSONDecoder().raw_decode(system[at + len(JSON_SCHEMA_MARKER):].lstrip())
    except ValueError:
        return None
    return schema if isinstance(schema, dict) else None


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise FakeRequestError("We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise FakeRequestError("The request body must be a JSON object.")
    return body


def _positive_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FakeRequestError(f"Invalid '{key}': expected a positive integer.", key)
    return value


async def _paced(frames: Iterator[bytes], delay: float, state: Any) -> AsyncIterator[bytes]:
    # `state.frames_sent` lets tests see that a client that went away stopped the stream.
    for frame in frames:
        if delay:
            await asyncio.sleep(delay)
        state.frames_sent += 1
        yield frame


# ---------------------------------------------------------------------------------------------
# Chat Completions
# ---------------------------------------------------------------------------------------------


# OpenAI's reasoning models, as its API reference lists them (the fake's own table): no
# `max_tokens`, and only the default temperature and top_p.
_OPENAI_REASONING_IDS = re.compile(r"^(o1|o3|o4-mini|gpt-5(\.\d+)?(-(mini|nano|pro|codex))?"
                                   r"|gpt-6(\.\d+)?-(astra|sol|terra|luna)(-healthcare)?)(-\d{4}-\d{2}-\d{2})?$")


def cc_turn(body: dict[str, Any]) -> Turn:
    """Read a chat-completions body like a model would; FakeRequestError where OpenAI says 400."""
    messages = body.get("messages")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise FakeRequestError("you must provide a model parameter", "model")
    if not isinstance(messages, list) or not messages:
        raise FakeRequestError("Invalid 'messages': empty array. Expected an array with minimum length 1.", "messages")
    turn = Turn()
    calls_seen: set[str] = set()
    read: list[str] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise FakeRequestError(f"Invalid type for 'messages[{i}]': expected an object.", f"messages[{i}]")
        role, content = msg.get("role"), msg.get("content")
        if role in ("system", "developer"):
            read.append(_text_of(content))
        elif role == "user":
            text = _text_of(content)
            turn.user_texts.append(text)
            turn.tool_results = []
            turn.saw_image = isinstance(content, list) and any(
                isinstance(p, dict) and p.get("type") == "image_url" for p in content)
            read.append(text)
        elif role == "assistant":
            turn.tool_results = []
            read.append(_text_of(content) or "")
            for call in msg.get("tool_calls") or []:
                calls_seen.add(call.get("id"))
                read.append(json.dumps(call.get("function") or {}))
        elif role == "tool":
            if msg.get("tool_call_id") not in calls_seen:
                raise FakeRequestError("Invalid parameter: messages with role 'tool' must be a response to a "
                                       "preceeding message with 'tool_calls'.", f"messages[{i}].role")
            turn.tool_results.append(_text_of(content))
            read.append(_text_of(content))
        else:
            raise FakeRequestError(f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', "
                                   "'user', 'tool', and 'developer'.", f"messages[{i}].role")
    tools = body.get("tools") or []
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise FakeRequestError(f"Invalid 'tools[{i}]': expected a function tool with a name.", f"tools[{i}]")
        turn.tools.append(Tool(fn["name"], fn.get("parameters") or {"type": "object", "properties": {}}))
        read.append(json.dumps(fn))
    names = {t.name for t in turn.tools}
    choice = body.get("tool_choice")
    if choice is not None and not tools:
        raise FakeRequestError("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
                               "specified.", "tool_choice")
    if body.get("parallel_tool_calls") is not None and not tools:
        raise FakeRequestError("Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when "
                               "'tools' are specified.", "parallel_tool_calls")
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        if name not in names:
            raise FakeRequestError(f"Invalid value for 'tool_choice': no function named '{name}' was specified "
                                   "in the 'tools' parameter.", "tool_choice")
        turn.tool_mode, turn.forced = "required", name
    elif isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools") or {}
        keep = {(t.get("function") or {}).get("name") for t in allowed.get("tools") or []}
        turn.tools = [t for t in turn.tools if t.name in keep]
        turn.tool_mode = "required" if allowed.get("mode") == "required" else "auto"
    elif choice in (None, "auto", "none", "required"):
        turn.tool_mode = choice or "auto"
    else:
        raise FakeRequestError(f"Invalid value for 'tool_choice': {choice!r}.", "tool_choice")
    turn.parallel = body.get("parallel_tool_calls") is not False
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not spec.get("name"):
            raise FakeRequestError("Missing required parameter: 'response_format.json_schema.name'.",
                                   "response_format.json_schema.name")
        turn.json_schema = spec.get("schema") or {}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        turn.json_object = True
    elif fmt is not None and not (isinstance(fmt, dict) and fmt.get("type") == "text"):
        raise FakeRequestError("Invalid 'response_format'.", "response_format")
    if _OPENAI_REASONING_IDS.match(body["model"]):
        if "max_tokens" in body:
            raise FakeRequestError("Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                                   "'max_completion_tokens' instead.", "max_tokens")
        for key in ("temperature", "top_p"):
            if body.get(key, 1) != 1:
                raise FakeRequestError(f"Unsupported value: '{key}' does not support {body[key]} with this model. "
                                       "Only the default (1) value is supported.", key)
    effort = body.get("reasoning_effort")
    turn.reasoning = effort if effort not in (None, "none") else None
    turn.max_tokens = _positive_int(body, "max_completion_tokens") or _positive_int(body, "max_tokens")
    if body.get("stream_options") is not None and not body.get("stream"):
        raise FakeRequestError("The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                               "stream_options")
    turn.prompt_text = "\n".join(read)
    return turn


def _cc_usage(ans: Answer) -> dict[str, Any]:
    return {"prompt_tokens": ans.prompt_tokens, "completion_tokens": ans.completion_tokens,
            "total_tokens": ans.prompt_tokens + ans.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": ans.reasoning_tokens}}


def cc_completion(body: dict[str, Any], ans: Answer, seed: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": ans.text if not ans.calls or ans.text else None,
                               "refusal": None}
    if ans.reasoning:
        message["reasoning_content"] = ans.reasoning
    if ans.calls:
        message["tool_calls"] = [{"id": c.call_id, "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments}} for c in ans.calls]
    return {"id": f"chatcmpl-{seed[:24]}", "object": "chat.completion", "created": CREATED, "model": body["model"],
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": ans.finish}],
            "usage": _cc_usage(ans)}


def cc_chunks(body: dict[str, Any], ans: Answer, seed: str) -> Iterator[dict[str, Any]]:
    """The chunk sequence OpenAI streams: role, reasoning/content/tool-call deltas, finish, usage."""
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    base = {"id": f"chatcmpl-{seed[:24]}", "object": "chat.completion.chunk", "created": CREATED,
            "model": body["model"]}
    extra = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    announced: set[int] = set()
    for kind, index, piece in ans.pieces:
        if kind == "reasoning":
            yield chunk({"reasoning_content": piece})
        elif kind == "text":
            yield chunk({"content": piece})
        else:
            call = ans.calls[index] if index < len(ans.calls) else None
            if call is None:
                continue
            if index not in announced:
                announced.add(index)
                yield chunk({"tool_calls": [{"index": index, "id": call.call_id, "type": "function",
                                             "function": {"name": call.name, "arguments": ""}}]})
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, ans.finish)
    if include_usage:
        yield {**base, "choices": [], "usage": _cc_usage(ans)}


def _cc_error(exc: FakeRequestError) -> JSONResponse:
    return JSONResponse({"error": {"message": exc.message, "type": "invalid_request_error", "param": exc.param,
                                   "code": None}}, status_code=exc.status)


def create_chat_completions_app(*, models: tuple[str, ...] = ("fake-chat-model",), api_key: str | None = None,
                                delay: float = 0.0) -> Starlette:
    """A fake OpenAI Chat Completions server under /v1 (`delay`: seconds between stream chunks)."""

    def denied(request: Request) -> Response | None:
        if api_key is not None and request.headers.get("authorization") != f"Bearer {api_key}":
            return _cc_error(FakeRequestError("Incorrect API key provided.", status=401))
        return None

    async def list_models(request: Request) -> Response:
        if (refused := denied(request)) is not None:
            return refused
        return JSONResponse({"object": "list", "data": [
            {"id": m, "object": "model", "created": CREATED, "owned_by": "fake"} for m in models]})

    async def completions(request: Request) -> Response:
        if (refused := denied(request)) is not None:
            return refused
        try:
            body = await _json_body(request)
            app.state.requests.append(body)
            turn = cc_turn(body)
        except FakeRequestError as exc:
            return _cc_error(exc)
        seed = request_seed(body)
        ans = answer(turn, seed=seed, call_prefix="call_")
        if not body.get("stream"):
            return JSONResponse(cc_completion(body, ans, seed))
        frames = (b"data: " + json.dumps(c, separators=(",", ":")).encode() + b"\n\n"
                  for c in cc_chunks(body, ans, seed))
        return StreamingResponse(_paced(_then_done(frames), delay, app.state), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/models", list_models), Route("/v1/chat/completions", completions,
                                                                     methods=["POST"])])
    app.state.requests = []
    app.state.frames_sent = 0
    return app


def _then_done(frames: Iterator[bytes]) -> Iterator[bytes]:
    yield from frames
    yield b"data: [DONE]\n\n"


# ---------------------------------------------------------------------------------------------
# Anthropic Messages
# ---------------------------------------------------------------------------------------------


def anthropic_turn(body: dict[str, Any]) -> Turn:
    """Read a Messages body like Claude would; FakeRequestError where Anthropic says 400."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise FakeRequestError("model: Field required", "model")
    max_tokens = _positive_int(body, "max_tokens")
    if max_tokens is None:
        raise FakeRequestError("max_tokens: Field required", "max_tokens")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise FakeRequestError("messages: at least one message is required", "messages")
    system = body.get("system") or ""
    system_text = system if isinstance(system, str) else _text_of(system)
    turn = Turn(max_tokens=max_tokens)
    read = [system_text]
    tools = body.get("tools") or []
    tool_ids: set[str] = set()
    last_assistant: tuple[int, list[Any]] | None = None
    for i, msg in enumerate(messages):
        role, content = (msg.get("role"), msg.get("content")) if isinstance(msg, dict) else (None, None)
        if role not in ("user", "assistant"):
            raise FakeRequestError(f"messages.{i}.role: Input should be 'user' or 'assistant'", f"messages.{i}.role")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            raise FakeRequestError(f"messages.{i}.content: Input should be a valid list", f"messages.{i}.content")
        texts, results, image = [], [], False
        for j, block in enumerate(blocks):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text":
                texts.append(str(block.get("text", "")))
            elif kind == "image" and role == "user":
                image = True
            elif kind == "tool_use" and role == "assistant":
                if not tools:
                    raise FakeRequestError("Requests which include `tool_use` or `tool_result` blocks must define "
                                           "tools.", "tools")
                tool_ids.add(block.get("id"))
                read.append(json.dumps(block.get("input")))
            elif kind == "tool_result" and role == "user":
                if block.get("tool_use_id") not in tool_ids:
                    raise FakeRequestError(f"messages.{i}.content.{j}: unexpected `tool_use_id` found in "
                                           "`tool_result` blocks.", f"messages.{i}.content.{j}")
                results.append(_text_of(block.get("content")))
            elif kind in ("thinking", "redacted_thinking") and role == "assistant":
                _check_thinking(block, i, j)
            else:
                raise FakeRequestError(f"messages.{i}.content.{j}.type: unexpected block type {kind!r} for "
                                       f"role {role!r}", f"messages.{i}.content.{j}.type")
        read += texts + results
        if role == "assistant":
            last_assistant = (i, blocks)
        if role == "user":
            if texts:
                turn.user_texts.append("\n".join(texts))
                turn.saw_image = image
            turn.tool_results = results if results and not texts else []
        else:
            turn.tool_results = []
    server_tools: set[str] = set()
    for i, tool in enumerate(tools):
        if isinstance(tool, dict) and tool.get("type") not in (None, "custom"):
            _check_server_tool(tool, i)
            server_tools.add(tool["name"])
            read.append(json.dumps(tool))
            continue
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise FakeRequestError(f"tools.{i}.name: Field required", f"tools.{i}.name")
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise FakeRequestError(f"tools.{i}.input_schema.type: Input should be 'object'", f"tools.{i}.input_schema")
        turn.tools.append(Tool(tool["name"], schema))
        read.append(json.dumps(tool))
    choice = body.get("tool_choice") or {"type": "auto"}
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind not in ("auto", "any", "tool", "none"):
        raise FakeRequestError("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'", "tool_choice")
    if body.get("tool_choice") is not None and not tools:
        raise FakeRequestError("tool_choice may only be specified while providing tools.", "tool_choice")
    if kind == "tool" and choice.get("name") not in {t.name for t in turn.tools} | server_tools:
        raise FakeRequestError(f"Tool '{choice.get('name')}' not found in tools.", "tool_choice.name")
    modes: dict[str, ToolMode] = {"auto": "auto", "any": "required", "tool": "required", "none": "none"}
    turn.tool_mode = modes[kind]
    turn.forced = choice.get("name") if kind == "tool" else None
    if turn.forced in server_tools:  # the search (see web_search_plan) is the forced call; then it answers
        turn.tool_mode, turn.forced = "none", None
    turn.parallel = not choice.get("disable_parallel_tool_use", False)
    _check_model_generation(body)
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        if thinking["type"] == "enabled":
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or budget < 1024 or budget >= max_tokens:
                raise FakeRequestError("thinking.budget_tokens: must be ≥ 1024 and less than max_tokens.",
                                       "thinking.budget_tokens")
        elif "budget_tokens" in thinking:
            raise FakeRequestError("thinking.adaptive.budget_tokens: Extra inputs are not permitted",
                                   "thinking.budget_tokens")
        if kind in ("any", "tool"):
            raise FakeRequestError("Thinking may not be enabled when tool_choice forces tool use.", "tool_choice")
        if body.get("temperature", 1) != 1 or (body.get("top_p") is not None and body["top_p"] < 0.95):
            raise FakeRequestError("temperature may only be set to 1 when thinking is enabled.", "temperature")
        _check_final_thinking(last_assistant)
        turn.reasoning = "on"
    if body.get("temperature") is not None and body.get("top_p") is not None and not body["model"].startswith("claude-3"):
        raise FakeRequestError("`temperature` and `top_p` cannot both be specified for this model.", "top_p")
    turn.json_schema = _schema_in(system_text)
    turn.prompt_text = "\n".join(read)
    return turn


# Claude's generations, as Anthropic documents them (the fake's own table of ids, not the
# adapter's reading of versions): Opus 4.7 and later, the Claude 5 models and Mythos Preview take
# adaptive thinking only and refuse sampling parameters; Claude 4.5 and earlier know no adaptive
# thinking; `xhigh` effort exists from Opus 4.7; only Claude 3 takes a temperature and a top_p
# together; from Claude 4.6 the conversation must end with a user message (no assistant
# prefill); Opus 4.7 and later send thinking blocks empty unless `thinking.display` asks for
# the summarised text. Any other id (the fake's own `fake-claude`) takes every thinking form.
_ADAPTIVE_ONLY = re.compile(r"claude-(opus-4-[7-9]|(opus|sonnet|haiku|fable|mythos)-[5-9]|mythos-preview)")
_NO_ADAPTIVE = re.compile(r"claude-(\d|(opus|sonnet|haiku)-4(-[0-5])?(-\d{8})?$)")
_EFFORTS = ("low", "medium", "high", "xhigh", "max")
_NO_PREFILL = re.compile(r"claude-(opus|sonnet)-4-6")  # and every _ADAPTIVE_ONLY model


def _check_model_generation(body: dict[str, Any]) -> None:
    model = body["model"]
    thinking: dict[str, Any] = body["thinking"] if isinstance(body.get("thinking"), dict) else {}
    config: dict[str, Any] = body["output_config"] if isinstance(body.get("output_config"), dict) else {}
    effort = config.get("effort")
    if effort is not None and effort not in _EFFORTS:
        raise FakeRequestError("output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'",
                               "output_config.effort")
    last = body["messages"][-1] if isinstance(body.get("messages"), list) and body["messages"] else {}
    if (_ADAPTIVE_ONLY.search(model) or _NO_PREFILL.search(model)) and isinstance(last, dict) \
            and last.get("role") == "assistant":
        raise FakeRequestError("This model does not support assistant message prefill. The conversation must end "
                               "with a user message.", "messages")
    if thinking.get("display") not in (None, "summarized", "omitted"):
        raise FakeRequestError("thinking.display: Input should be 'summarized' or 'omitted'", "thinking.display")
    if _ADAPTIVE_ONLY.search(model):
        if thinking.get("type") == "enabled":
            raise FakeRequestError('"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" '
                                   'and "output_config.effort" to control thinking behavior.', "thinking.type")
        for key in ("temperature", "top_p", "top_k"):
            if key in body:
                raise FakeRequestError(f"`{key}` is deprecated for this model.", key)
        return
    if effort == "xhigh":
        raise FakeRequestError("output_config.effort: 'xhigh' is not supported by this model.", "output_config.effort")
    if _NO_ADAPTIVE.search(model) and (thinking.get("type") == "adaptive" or effort is not None):
        raise FakeRequestError("adaptive thinking is not supported on this model.", "thinking.type")


# The server tool the fake runs, its fields, and those of its user_location (Anthropic's 400s:
# a tag mismatch for an unknown type, "Extra inputs" for an unknown field).
WEB_SEARCH_TOOL_TYPE = "web_search_20250305"
_WEB_SEARCH_FIELDS = {"type", "name", "max_uses", "allowed_domains", "blocked_domains", "user_location",
                      "cache_control"}
_LOCATION_FIELDS = {"type", "city", "region", "country", "timezone"}
# Where the fake's search results live when no allowed_domains narrows them.
SEARCH_DOMAINS = ("docs.example.com", "news.example.org")


def _check_server_tool(tool: dict[str, Any], i: int) -> None:
    kind = tool.get("type")
    if kind != WEB_SEARCH_TOOL_TYPE:
        raise FakeRequestError(f"tools.{i}: Input tag {kind!r} found using 'type' does not match any of the expected "
                               f"tags: 'custom', {WEB_SEARCH_TOOL_TYPE!r}", f"tools.{i}")
    where = f"tools.{i}.{kind}"
    for key in tool:
        if key not in _WEB_SEARCH_FIELDS:
            raise FakeRequestError(f"{where}.{key}: Extra inputs are not permitted", f"{where}.{key}")
    if tool.get("name") != "web_search":
        raise FakeRequestError(f"{where}.name: Input should be 'web_search'", f"{where}.name")
    if tool.get("max_uses") is not None and (isinstance(tool["max_uses"], bool) or not isinstance(tool["max_uses"], int)
                                             or tool["max_uses"] < 1):
        raise FakeRequestError(f"{where}.max_uses: Input should be greater than 0", f"{where}.max_uses")
    for key in ("allowed_domains", "blocked_domains"):
        value = tool.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(d, str) for d in value)):
            raise FakeRequestError(f"{where}.{key}: Input should be a valid list of strings", f"{where}.{key}")
    if tool.get("allowed_domains") and tool.get("blocked_domains"):
        raise FakeRequestError(f"tools.{i}: cannot specify both allowed_domains and blocked_domains", f"tools.{i}")
    location = tool.get("user_location")
    if location is not None:
        if not isinstance(location, dict) or location.get("type") != "approximate":
            raise FakeRequestError(f"{where}.user_location.type: Input should be 'approximate'",
                                   f"{where}.user_location.type")
        for key in location:
            if key not in _LOCATION_FIELDS:
                raise FakeRequestError(f"{where}.user_location.{key}: Extra inputs are not permitted",
                                       f"{where}.user_location.{key}")


def _web_search_offered(body: dict[str, Any]) -> dict[str, Any] | None:
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") == WEB_SEARCH_TOOL_TYPE:
            return tool
    return None


def _last_user_text(body: dict[str, Any]) -> str | None:
    """The last message's text when it is the user's (None when it ends in tool results)."""
    last = (body.get("messages") or [{}])[-1]
    content = last.get("content")
    if last.get("role") != "user":
        return None
    if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
        return None
    return _text_of(content)


def _domain_ok(host: str, domains: list[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def web_search_plan(body: dict[str, Any]) -> dict[str, Any] | None:
    """The search the fake Claude runs before answering, or None. It searches when the web
    search tool is forced, or offered with tool_choice auto/any and the user asks to search;
    its query is the user's text, its one or two results lie within `allowed_domains` (or the
    fake's own domains outside `blocked_domains`)."""
    tool = _web_search_offered(body)
    choice = body.get("tool_choice") or {"type": "auto"}
    text = _last_user_text(body)
    if tool is None or text is None or choice.get("type") == "none":
        return None
    forced = choice.get("type") == "tool" and choice.get("name") == "web_search"
    if not forced and (choice.get("type") == "tool" or "search" not in text.lower()):
        return None
    query = " ".join(text.split())[:80]
    allowed = [d.lower() for d in tool.get("allowed_domains") or []]
    blocked = [d.lower() for d in tool.get("blocked_domains") or []]
    domains = allowed[:2] or [d for d in SEARCH_DOMAINS if not _domain_ok(d, blocked)]
    slug = "-".join(re.findall(r"[a-z0-9]+", query.lower())[:5]) or "search"
    digest = hashlib.sha256(query.encode()).hexdigest()
    results = []
    for n, domain in enumerate(domains):
        url = f"https://{domain.split('/')[0]}/{slug}" if n == 0 else f"https://{domain.split('/')[0]}/about"
        title = f"{query[:40]} - {domain}" if n == 0 else f"About {domain}"
        results.append({"type": "web_search_result", "url": url, "title": title,
                        "encrypted_content": base64.b64encode(f"{digest}:{url}".encode()).decode(),
                        "page_age": None if n else "2 days ago"})
    cited = (f"{results[0]['title']} answers the question: {query}" if results else "")
    call_id = "srvtoolu_" + digest[:24]
    return {"id": call_id, "query": query, "results": results, "cited_text": cited}


def _search_blocks(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The whole blocks of a search: server_tool_use, its result, and text citing the first result."""
    blocks: list[dict[str, Any]] = [
        {"type": "server_tool_use", "id": plan["id"], "name": "web_search", "input": {"query": plan["query"]}},
        {"type": "web_search_tool_result", "tool_use_id": plan["id"], "content": plan["results"]},
    ]
    if plan["results"]:
        first = plan["results"][0]
        citation = {"type": "web_search_result_location", "url": first["url"], "title": first["title"],
                    "cited_text": plan["cited_text"],
                    "encrypted_index": base64.b64encode(hashlib.sha256(first["url"].encode()).digest()).decode()}
        blocks.append({"type": "text", "text": f"According to {first['title']}: {plan['cited_text']}. ",
                       "citations": [citation]})
    return blocks


def _check_final_thinking(last_assistant: tuple[int, list[Any]] | None) -> None:
    """With thinking on, the last assistant message, when it called tools, must start with the
    thinking (or redacted thinking) it was sent with: Anthropic's rule for a tool-use loop."""
    if last_assistant is None:
        return
    i, blocks = last_assistant
    kinds = [b.get("type") for b in blocks if isinstance(b, dict)]
    if "tool_use" in kinds and kinds[0] not in ("thinking", "redacted_thinking"):
        raise FakeRequestError(THINKING_REQUIRED.format(i=i, found=kinds[0]), f"messages.{i}.content.0.type")


def _anthropic_usage(ans: Answer, *, final: bool, searches: int = 0) -> dict[str, Any]:
    usage: dict[str, Any] = {"input_tokens": ans.prompt_tokens, "cache_creation_input_tokens": 0,
                             "cache_read_input_tokens": 0, "output_tokens": ans.completion_tokens if final else 1}
    if searches:
        usage["server_tool_use"] = {"web_search_requests": searches}
    return usage


def _ordered(body: dict[str, Any], ans: Answer) -> list[tuple[str, int, list[str]] | dict[str, Any]]:
    """The message's blocks in order: the answer's (as `_blocks`) with a search's whole blocks
    (dicts) after the thinking, where Claude searches."""
    blocks: list[tuple[str, int, list[str]] | dict[str, Any]] = list(_blocks(ans))
    if _omits_thinking(body):  # the text stays out; the signature still covers the block as sent
        blocks = [("thinking", b[1], []) if isinstance(b, tuple) and b[0] == "thinking" else b for b in blocks]
    plan = web_search_plan(body)
    if plan is None:
        return blocks
    at = next((n for n, b in enumerate(blocks) if isinstance(b, tuple) and b[0] != "thinking"), len(blocks))
    return blocks[:at] + list(_search_blocks(plan)) + blocks[at:]


def _omits_thinking(body: dict[str, Any]) -> bool:
    """Opus 4.7 and later send thinking blocks empty unless `thinking.display` is "summarized"."""
    thinking: dict[str, Any] = body["thinking"] if isinstance(body.get("thinking"), dict) else {}
    return bool(_ADAPTIVE_ONLY.search(body["model"])) and thinking.get("display") != "summarized"


def _stop_reason(ans: Answer) -> str:
    return {"length": "max_tokens", "tool_calls": "tool_use", "stop": "end_turn"}[ans.finish]


def _blocks(ans: Answer) -> list[tuple[str, int, list[str]]]:
    """Content blocks in order: ("thinking" | "text" | "tool_use", call index, pieces)."""
    out: list[tuple[str, int, list[str]]] = []
    for kind, index, piece in ans.pieces:
        block = {"reasoning": "thinking", "text": "text", "call": "tool_use"}[kind]
        if out and out[-1][0] == block and out[-1][1] == index:
            out[-1][2].append(piece)
        else:
            out.append((block, index, [piece]))
    return out


def _mac(kind: bytes, payload: bytes) -> bytes:
    return hmac.new(_THINKING_KEY, kind + b"\0" + payload, hashlib.sha256).digest()


def thinking_signature(thinking: str) -> str:
    """The signature the fake gives a thinking block: it covers the block's exact text."""
    return base64.b64encode(_mac(b"thinking", thinking.encode())).decode()


def redacted_data(thinking: str) -> str:
    """A redacted_thinking block's opaque `data`: the thinking, authenticated (not secret: a fake)."""
    raw = thinking.encode()
    return base64.b64encode(_mac(b"redacted", raw)[:16] + raw).decode()


def _redacted_ok(data: Any) -> bool:
    try:
        raw = base64.b64decode(data, validate=True) if isinstance(data, str) else b""
    except (binascii.Error, ValueError):
        return False
    return len(raw) >= 16 and hmac.compare_digest(raw[:16], _mac(b"redacted", raw[16:])[:16])


def _check_thinking(block: dict[str, Any], i: int, j: int) -> None:
    """A thinking block must come back exactly as the fake signed it (Anthropic's 400 otherwise)."""
    if block["type"] == "thinking":
        signature, thinking = block.get("signature"), block.get("thinking")
        if not isinstance(signature, str):
            raise FakeRequestError(f"messages.{i}.content.{j}.signature: Field required", f"messages.{i}.content.{j}")
        if not isinstance(thinking, str) or not hmac.compare_digest(signature, thinking_signature(thinking)):
            raise FakeRequestError(f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block",
                                   f"messages.{i}.content.{j}")
    elif not _redacted_ok(block.get("data")):
        raise FakeRequestError(f"messages.{i}.content.{j}: Invalid `data` in `redacted_thinking` block",
                               f"messages.{i}.content.{j}")


def _redacts(body: dict[str, Any]) -> bool:
    return REDACTED_THINKING_TRIGGER in json.dumps(body.get("messages"))


def anthropic_message(body: dict[str, Any], ans: Answer, seed: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for entry in _ordered(body, ans):
        if isinstance(entry, dict):
            content.append(entry)
            continue
        block, index, parts = entry
        text = "".join(parts)
        if block == "thinking" and _redacts(body):
            content.append({"type": "redacted_thinking", "data": redacted_data(text)})
        elif block == "thinking":
            content.append({"type": "thinking", "thinking": text, "signature": thinking_signature(text)})
        elif block == "text":
            content.append({"type": "text", "text": text})
        else:
            call = ans.calls[index]
            try:
                value = json.loads(text)
            except ValueError:
                value = {}  # cut by max_tokens: Anthropic returns what parsed, here nothing
            content.append({"type": "tool_use", "id": call.call_id, "name": call.name, "input": value})
    return {"id": f"msg_{seed[:24]}", "type": "message", "role": "assistant", "model": body["model"],
            "content": content, "stop_reason": _stop_reason(ans), "stop_sequence": None,
            "usage": _anthropic_usage(ans, final=True, searches=_searches(content))}


def _searches(content: list[dict[str, Any]]) -> int:
    return sum(1 for block in content if block.get("type") == "server_tool_use")


def anthropic_events(body: dict[str, Any], ans: Answer, seed: str) -> Iterator[dict[str, Any]]:
    """The event sequence the Messages API streams for this answer."""
    start = anthropic_message(body, ans, seed)
    yield {"type": "message_start", "message": {**start, "content": [], "stop_reason": None,
                                                "usage": _anthropic_usage(ans, final=False)}}
    yield {"type": "ping"}
    for n, entry in enumerate(_ordered(body, ans)):
        if isinstance(entry, dict):
            yield from _search_block_events(n, entry)
            yield {"type": "content_block_stop", "index": n}
            continue
        block, index, parts = entry
        if block == "thinking" and _redacts(body):  # comes whole, in its start block
            yield {"type": "content_block_start", "index": n,
                   "content_block": {"type": "redacted_thinking", "data": redacted_data("".join(parts))}}
        elif block == "thinking":
            yield {"type": "content_block_start", "index": n,
                   "content_block": {"type": "thinking", "thinking": "", "signature": ""}}
            for piece in parts:
                yield {"type": "content_block_delta", "index": n, "delta": {"type": "thinking_delta", "thinking": piece}}
            yield {"type": "content_block_delta", "index": n,
                   "delta": {"type": "signature_delta", "signature": thinking_signature("".join(parts))}}
        elif block == "text":
            yield {"type": "content_block_start", "index": n, "content_block": {"type": "text", "text": ""}}
            for piece in parts:
                yield {"type": "content_block_delta", "index": n, "delta": {"type": "text_delta", "text": piece}}
        else:
            call = ans.calls[index]
            yield {"type": "content_block_start", "index": n,
                   "content_block": {"type": "tool_use", "id": call.call_id, "name": call.name, "input": {}}}
            for piece in ["", *parts]:
                yield {"type": "content_block_delta", "index": n,
                       "delta": {"type": "input_json_delta", "partial_json": piece}}
        yield {"type": "content_block_stop", "index": n}
    usage: dict[str, Any] = {"output_tokens": ans.completion_tokens}
    if start["usage"].get("server_tool_use"):
        usage["server_tool_use"] = start["usage"]["server_tool_use"]
    yield {"type": "message_delta", "delta": {"stop_reason": _stop_reason(ans), "stop_sequence": None},
           "usage": usage}
    yield {"type": "message_stop"}


def _search_block_events(n: int, block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A search block as the API streams it: the query as input_json_delta pieces, the result
    whole in its start event, cited text as citations_delta before its text_delta."""
    if block["type"] == "server_tool_use":
        yield {"type": "content_block_start", "index": n, "content_block": {**block, "input": {}}}
        query = json.dumps(block["input"])
        for piece in ["", *(query[j:j + 12] for j in range(0, len(query), 12))]:
            yield {"type": "content_block_delta", "index": n, "delta": {"type": "input_json_delta",
                                                                        "partial_json": piece}}
    elif block["type"] == "text":
        yield {"type": "content_block_start", "index": n, "content_block": {"citations": [], "type": "text",
                                                                            "text": ""}}
        for citation in block["citations"]:
            yield {"type": "content_block_delta", "index": n, "delta": {"type": "citations_delta",
                                                                        "citation": citation}}
        yield {"type": "content_block_delta", "index": n, "delta": {"type": "text_delta", "text": block["text"]}}
    else:
        yield {"type": "content_block_start", "index": n, "content_block": block}


def _anthropic_error(exc: FakeRequestError) -> JSONResponse:
    kind = "authentication_error" if exc.status == 401 else "invalid_request_error"
    return JSONResponse({"type": "error", "error": {"type": kind, "message": exc.message}}, status_code=exc.status)


def create_anthropic_app(*, models: tuple[str, ...] = ("fake-claude",), api_key: str | None = None,
                         delay: float = 0.0) -> Starlette:
    """A fake Anthropic Messages server under /v1 (`delay`: seconds between stream events)."""

    def denied(request: Request) -> Response | None:
        if api_key is not None and request.headers.get("x-api-key") != api_key:
            return _anthropic_error(FakeRequestError("invalid x-api-key", status=401))
        if not request.headers.get("anthropic-version"):
            return _anthropic_error(FakeRequestError("anthropic-version: header is required"))
        return None

    async def list_models(request: Request) -> Response:
        if (refused := denied(request)) is not None:
            return refused
        data = [{"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"} for m in models]
        return JSONResponse({"data": data, "has_more": False, "first_id": models[0] if models else None,
                             "last_id": models[-1] if models else None})

    async def messages(request: Request) -> Response:
        if (refused := denied(request)) is not None:
            return refused
        try:
            body = await _json_body(request)
            app.state.requests.append(body)
            turn = anthropic_turn(body)
        except FakeRequestError as exc:
            return _anthropic_error(exc)
        seed = request_seed(body)
        ans = answer(turn, seed=seed, call_prefix="toolu_")
        if not body.get("stream"):
            return JSONResponse(anthropic_message(body, ans, seed))
        frames = (f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n".encode()
                  for e in anthropic_events(body, ans, seed))
        return StreamingResponse(_paced(frames, delay, app.state), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/models", list_models), Route("/v1/messages", messages, methods=["POST"])])
    app.state.requests = []
    app.state.frames_sent = 0
    return app


__all__ = [
    "REDACTED_THINKING_TRIGGER",
    "FakeRequestError",
    "anthropic_events",
    "anthropic_message",
    "anthropic_turn",
    "cc_chunks",
    "cc_completion",
    "cc_turn",
    "count_tokens",
    "create_anthropic_app",
    "create_chat_completions_app",
    "redacted_data",
    "thinking_signature",
    "web_search_plan",
]


def main(argv: list[str] | None = None) -> int:
    """`python -m reference_server.testing.fake_upstreams chat-completions|anthropic [--port P]`:
    serve a fake on 127.0.0.1 (for trying proxy mode over real sockets)."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m reference_server.testing.fake_upstreams",
                                     description="Serve a scripted fake upstream (Chat Completions or Anthropic).")
    parser.add_argument("kind", choices=("chat-completions", "anthropic"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--api-key", default=None, help="key the fake requires (default: none)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between stream chunks")
    args = parser.parse_args(argv)
    factory = create_chat_completions_app if args.kind == "chat-completions" else create_anthropic_app
    uvicorn.run(factory(api_key=args.api_key, delay=args.delay), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
