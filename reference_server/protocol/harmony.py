"""The harmony side of the server: requests become prompt tokens, completion tokens become events.

Prompt: `build_conversation` maps a request (plus the stored conversation it continues) onto an
`openai_harmony.Conversation`; `render_prompt` renders it for an assistant completion.
Completion: `CompletionDecoder` feeds tokens to `openai_harmony.StreamableParser` one at a time
and reports message starts, content deltas and message ends to a `HarmonyToEvents` emitter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openai_harmony import (
    Author,
    Conversation,
    DeveloperContent,
    HarmonyEncoding,
    HarmonyError,
    Message,
    ReasoningEffort,
    RenderConversationConfig,
    Role,
    StreamableParser,
    StreamState,
    SystemContent,
    ToolDescription,
    ToolNamespaceConfig,
)

from .browser_tools import BROWSER_SEARCH
from .emitter import CallTarget, HarmonyToEvents
from .events import Event
from .request import CallableTool, CreateRequest, CustomTool, NamespaceTool
from .token_backend import OutputSpec, ScriptHint, ToolSpec

# OpenAI effort names → the three levels harmony's system message knows.
_EFFORTS = {
    "minimal": ReasoningEffort.LOW,
    "low": ReasoningEffort.LOW,
    "medium": ReasoningEffort.MEDIUM,
    "high": ReasoningEffort.HIGH,
    "xhigh": ReasoningEffort.HIGH,
    "max": ReasoningEffort.HIGH,
}


class PromptError(ValueError):
    """The conversation cannot be expressed in harmony (e.g. a tool output without its call)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def reasoning_requested(req: CreateRequest) -> str | None:
    """The harmony effort name when the request asked for reasoning (an effort, or a summary of
    the reasoning, which implies the default effort), else None."""
    effort = req.reasoning.get("effort")
    if effort is None and req.reasoning.get("summary") is not None:
        effort = "medium"
    if effort is None or effort == "none":
        return None
    return _EFFORTS[effort].value.lower()


def summary_requested(req: CreateRequest) -> str | None:
    """The `reasoning.summary` mode when reasoning will be produced and summarised, else None."""
    return req.reasoning.get("summary") if reasoning_requested(req) is not None else None


def tool_spec(tool: CallableTool) -> ToolSpec:
    if isinstance(tool, CustomTool):
        return ToolSpec(tool.name, tool.description, kind="custom", namespace=tool.namespace,
                        format=dict(tool.format))
    return ToolSpec(tool.name, tool.description, tool.parameters, tool.strict, namespace=tool.namespace)


def call_targets(tools: Iterable[ToolSpec]) -> dict[str, CallTarget]:
    """Harmony recipient -> the tool a call to it means (for the emitter)."""
    return {t.recipient: CallTarget("custom_tool_call" if t.kind == "custom" else "function_call",
                                    t.name, t.namespace) for t in tools}


def output_spec(req: CreateRequest) -> OutputSpec:
    tools, mode = req.allowed_tools()
    fmt = req.text["format"]
    specs = tuple(tool_spec(t) for t in tools)
    if req.browser_mode() == "required":
        # A forced web search is a required call of `browser.search`: as a tool spec, a
        # constrained backend's grammar admits exactly that call.
        specs, mode = (BROWSER_SEARCH,), "required"
    return OutputSpec(
        tools=specs,
        tool_mode=mode,  # type: ignore[arg-type]
        parallel_tool_calls=req.parallel_tool_calls,
        reasoning_effort=reasoning_requested(req),
        final_format=None if fmt["type"] == "text" else dict(fmt),
        max_tool_calls=req.max_tool_calls,
        browser=req.browser_mode(),  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------- text of items
def _describe_image(part: dict[str, Any]) -> str:
    url = part.get("image_url")
    if url and url.startswith("data:"):
        source = f"inline {url[5:].split(';', 1)[0] or 'data'} ({len(url)} characters)"
    else:
        source = url or f"file {part.get('file_id')}"
    return f"[An image was attached here: {source}. This model cannot see images.]"


def _describe_file(part: dict[str, Any]) -> str:
    name = part.get("filename") or part.get("file_id") or part.get("file_url") or "unnamed"
    return f"[A file was attached here: {name}. This model cannot read attached files.]"


def parts_text(parts: Iterable[dict[str, Any]] | str) -> str:
    """What a text-only model is fed for a list of content parts."""
    if isinstance(parts, str):
        return parts
    out = []
    for part in parts:
        kind = part.get("type")
        if kind in ("input_text", "output_text", "summary_text", "reasoning_text"):
            out.append(part.get("text", ""))
        elif kind == "refusal":
            out.append(part.get("refusal", ""))
        elif kind == "input_image":
            out.append(_describe_image(part))
        elif kind == "input_file":
            out.append(_describe_file(part))
    return "\n".join(out)


def _user_texts(items: Sequence[dict[str, Any]]) -> list[str]:
    return [
        "\n".join(p.get("text", "") for p in item["content"] if p.get("type") == "input_text")
        for item in items
        if item.get("type") == "message" and item.get("role") == "user"
    ]


def script_hint(items: Sequence[dict[str, Any]]) -> ScriptHint:
    """The facts a scripted backend answers from (a real model reads the prompt instead)."""
    users = _user_texts(items)
    trailing: list[str] = []
    for item in reversed(items):
        if item.get("type") not in ("function_call_output", "custom_tool_call_output"):
            break
        trailing.insert(0, parts_text(item["output"]))
    last_user = next((it for it in reversed(items) if it.get("type") == "message" and it.get("role") == "user"),
                     None)
    saw_image = last_user is not None and any(p.get("type") == "input_image" for p in last_user["content"])
    return ScriptHint(
        last_user_text=users[-1] if users else "",
        tool_outputs=tuple(trailing),
        earlier_user_texts=tuple(users[:-1]),
        saw_image=saw_image,
    )


# ---------------------------------------------------------------------------- prompt
def _developer_message(req: CreateRequest) -> Message | None:
    sections = []
    if req.instructions:
        sections.append(req.instructions)
    fmt = req.text["format"]
    if fmt["type"] == "json_schema":
        desc = f"// {fmt['description']}\n" if fmt.get("description") else ""
        sections.append(f"# Response Formats\n\n## {fmt['name']}\n\n{desc}{json.dumps(fmt['schema'])}")
    elif fmt["type"] == "json_object":
        sections.append("# Response Formats\n\nAnswer with a single JSON object.")
    tools, _mode = req.allowed_tools()
    if not sections and not tools:
        return None
    content = DeveloperContent.new()
    if sections:
        content = content.with_instructions("\n\n".join(sections))
    for namespace in tool_namespaces(req, tools):
        content = content.with_tools(namespace)
    return Message.from_role_and_content(Role.DEVELOPER, content)


def tool_namespaces(req: CreateRequest, tools: Sequence[CallableTool]) -> list[ToolNamespaceConfig]:
    """Harmony tool namespaces: `functions` for the top-level tools, one per namespace tool
    (with its description), each listing the members the model may call now."""
    descriptions = {t.name: t.description for t in req.tools if isinstance(t, NamespaceTool)}
    grouped: dict[str, list[ToolDescription]] = {}
    for tool in tools:
        grouped.setdefault(tool.namespace or "functions", []).append(_describe_tool(tool))
    return [ToolNamespaceConfig(name=name, description=descriptions.get(name), tools=members)
            for name, members in grouped.items()]


def _describe_tool(tool: CallableTool) -> ToolDescription:
    if not isinstance(tool, CustomTool):
        return ToolDescription.new(tool.name, tool.description or "", parameters=tool.parameters)
    # Harmony describes tools by a JSON Schema; a free-form tool says in words what its input is.
    lines = [tool.description] if tool.description else []
    lines.append("Free-form tool: the message to it is plain text, not JSON.")
    fmt = tool.format
    if fmt.get("type") == "grammar":
        lines.append(f"The text must match this {fmt['syntax']} grammar:\n{fmt['definition']}")
    return ToolDescription.new(tool.name, "\n".join(lines))


def build_conversation(req: CreateRequest, context: Sequence[dict[str, Any]]) -> Conversation:
    """System + developer messages, then the stored conversation `context`, then `req.input_items`."""
    effort = _EFFORTS.get(req.reasoning.get("effort") or "", ReasoningEffort.MEDIUM)
    if req.reasoning.get("effort") == "none":
        effort = ReasoningEffort.LOW
    system = SystemContent.new().with_reasoning_effort(effort)
    if req.browser_mode() != "none":
        # gpt-oss's browser tool: its section of the system message (search, open, find, and
        # the citation format) — the model calls it as `browser.*` on the commentary channel.
        system = system.with_tools(ToolNamespaceConfig.browser())
    messages = [Message.from_role_and_content(Role.SYSTEM, system)]
    developer = _developer_message(req)
    if developer is not None:
        messages.append(developer)
    calls: dict[str, str] = {}
    items = list(context) + list(req.input_items)
    offset = len(context)
    for position, item in enumerate(items):
        param = f"input[{position - offset}]" if position >= offset else None
        message = _item_message(item, calls, param)
        if message is not None:
            messages.append(message)
    return Conversation.from_messages(messages)


def _item_message(item: dict[str, Any], calls: dict[str, str], param: str | None) -> Message | None:
    kind = item.get("type")
    if kind == "message":
        role = item["role"]
        text = parts_text(item["content"])
        if role == "assistant":
            channel = "commentary" if item.get("phase") == "commentary" else "final"
            return Message.from_role_and_content(Role.ASSISTANT, text).with_channel(channel)
        if role in ("system", "developer"):
            # Only the first system message carries harmony's system content; later
            # system/developer turns are developer messages in the conversation.
            return Message.from_role_and_content(Role.DEVELOPER, text)
        return Message.from_role_and_content(Role.USER, text)
    if kind in ("function_call", "custom_tool_call"):
        recipient = f"{item.get('namespace') or 'functions'}.{item['name']}"
        calls[item["call_id"]] = recipient
        if kind == "custom_tool_call":
            return (Message.from_role_and_content(Role.ASSISTANT, item["input"])
                    .with_channel("commentary").with_recipient(recipient))
        return (Message.from_role_and_content(Role.ASSISTANT, item["arguments"])
                .with_channel("commentary")
                .with_recipient(recipient)
                .with_content_type("<|constrain|>json"))
    if kind in ("function_call_output", "custom_tool_call_output"):
        if item.get("call_id") is None:
            # An output no call asked for (a function_call_output may omit call_id): a message
            # from the tool it names, in the recipient form its calls would have.
            author = f"{item.get('namespace') or 'functions'}.{item['name']}"
            return (Message.from_author_and_content(Author.new(Role.TOOL, author), parts_text(item["output"]))
                    .with_channel("commentary")
                    .with_recipient("assistant"))
        caller = calls.get(item["call_id"])
        if caller is None:
            what = "function call" if kind == "function_call_output" else "custom tool call"
            raise PromptError(f"No tool call found for {what} output with call_id {item['call_id']}.",
                              param=f"{param}.call_id" if param else "previous_response_id")
        return (Message.from_author_and_content(Author.new(Role.TOOL, caller),
                                                parts_text(item["output"]))
                .with_channel("commentary")
                .with_recipient("assistant"))
    if kind == "reasoning":
        text = parts_text(item.get("content") or []) or parts_text(item.get("summary") or [])
        if not text:
            return None  # encrypted-only reasoning: nothing a harmony model can read
        return Message.from_role_and_content(Role.ASSISTANT, text).with_channel("analysis")
    return None


def render_prompt(encoding: HarmonyEncoding, conversation: Conversation, *, all_turns: bool = False) -> list[int]:
    """The prompt tokens. Harmony drops the reasoning of turns that ended in a final answer;
    `all_turns` (`reasoning.context: "all_turns"`) keeps it."""
    config = RenderConversationConfig(auto_drop_analysis=False) if all_turns else None
    return list(encoding.render_conversation_for_completion(conversation, Role.ASSISTANT, config))


# Every harmony message costs at least `<|start|>`, its role, `<|message|>` and `<|end|>`.
MIN_TOKENS_PER_MESSAGE = 4
# Text is sized in slices this long (a token never spans two slices, which at worst adds a
# token or two per slice: the estimate errs upwards by well under 0.1 %).
_SLICE_CHARS = 1 << 16


def prompt_text_chars(conversation: Conversation) -> int:
    return sum(len(text) for text in _texts(conversation))


def estimate_prompt_tokens(conversation: Conversation, encode: Any, stop_at: int) -> int:
    """About `len(render_prompt(conversation))`, counted with `encode` (o200k's ordinary
    encoder; tiktoken's releases the GIL, harmony's does not): the message headers' minimum plus
    the tokens of every text, stopping early once past `stop_at`. Analysis messages are not
    counted (harmony may drop them) and neither are tool definitions, so it errs downwards
    except for the slicing above."""
    total = MIN_TOKENS_PER_MESSAGE * sum(1 for m in conversation.messages if m.channel != "analysis")
    for text in _texts(conversation):
        for start in range(0, len(text), _SLICE_CHARS):
            total += len(encode(text[start:start + _SLICE_CHARS]))
            if total > stop_at:
                return total
    return total


def _texts(conversation: Conversation) -> Iterable[str]:
    for message in conversation.messages:
        if message.channel == "analysis":
            continue
        for content in message.content:
            text = getattr(content, "text", None) or getattr(content, "instructions", None)
            if isinstance(text, str):
                yield text


# ---------------------------------------------------------------------------- completion
class HarmonyOutputError(RuntimeError):
    """The completion tokens are not valid harmony."""


@dataclass
class TokenCounts:
    output: int = 0
    reasoning: int = 0


# Harmony's special tokens (<|start|>, <|message|>, <|end|>, ...) are ids 199998 and above.
FIRST_SPECIAL_TOKEN = 199998


class CompletionDecoder:
    """Completion tokens in (one at a time), emitter calls out.

    The parser's state moves HEADER → CONTENT when `<|message|>` arrives (a message begins,
    its channel and recipient are known) and CONTENT → EXPECT_START on `<|end|>`, `<|call|>`
    or `<|return|>` (the message ends). Every token is charged to the message it belongs to, so
    `counts.reasoning` is the number of tokens of `analysis` messages (headers included).
    """

    def __init__(self, encoding: HarmonyEncoding, emitter: HarmonyToEvents) -> None:
        self._parser = StreamableParser(encoding, Role.ASSISTANT, strict=True)
        self._emitter = emitter
        self._channel: str | None = None
        self._in_content = False
        self._message_tokens = 0
        self.counts = TokenCounts()
        self.last_token: int | None = None

    @property
    def in_message(self) -> bool:
        return self._in_content

    def feed(self, token: int) -> list[Event]:
        self.counts.output += 1
        self._message_tokens += 1
        self.last_token = token
        try:
            self._parser.process(token)
            # The parser's `state` serialises its whole state as JSON, message tokens included:
            # reading it per token is quadratic in the message length. Inside a message only a
            # special token (the message end) can change the state, so ordinary content tokens
            # skip the read.
            if self._in_content and token < FIRST_SPECIAL_TOKEN:
                state = StreamState.CONTENT
            else:
                state = self._parser.state
        except HarmonyError as exc:
            raise HarmonyOutputError(f"the model's output is not valid harmony: {exc}") from None
        events: list[Event] = []
        if state == StreamState.CONTENT:
            if not self._in_content:
                self._in_content = True
                self._channel = self._parser.current_channel
                events += self._emitter.begin_message(self._channel, self._parser.current_recipient)
            delta = self._parser.last_content_delta
            if delta:
                events += self._emitter.content(delta)
        elif self._in_content:
            # The token that ended the message (`<|end|>`, `<|call|>`, `<|return|>`).
            self._in_content = False
            self._charge_message()
            events += self._emitter.end_message()
        return events

    def charge_open_message(self) -> None:
        """Charge the tokens of an unfinished message (truncation, failure)."""
        if self._in_content:
            self._charge_message()

    def _charge_message(self) -> None:
        if self._channel == "analysis":
            self.counts.reasoning += self._message_tokens
        self._message_tokens = 0
        self._channel = None
