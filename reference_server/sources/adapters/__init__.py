"""Converters between the OpenAI Responses API and its neighbours (Chat Completions, Anthropic
Messages): pure request/response functions and sans-IO stream converters, used by proxy mode.

- `chat_completions`: Responses <-> CC requests and non-stream responses
- `cc_stream`: CC chunks -> Responses events; `responses_to_cc_stream`: the reverse
- `anthropic`: Responses -> Messages requests; `anthropic_stream`: Messages events (or a whole
  Message) -> Responses
- `upstream_client`: the proxy's IO edge (httpx); everything else here is pure
"""

from reference_server.sources.adapters.anthropic import (
    json_tool_name,
    responses_to_anthropic_request,
)
from reference_server.sources.adapters.anthropic_stream import (
    AnthropicToResponsesStream,
    message_to_response,
)
from reference_server.sources.adapters.cc_stream import CCToResponsesStream, UpstreamProtocolError
from reference_server.sources.adapters.chat_completions import (
    cc_to_responses_request,
    completion_to_response,
    response_to_completion,
    responses_to_cc_request,
)
from reference_server.sources.adapters.common import ConversionError
from reference_server.sources.adapters.responses_to_cc_stream import ResponsesToCCStream

__all__ = [
    "AnthropicToResponsesStream",
    "CCToResponsesStream",
    "ConversionError",
    "ResponsesToCCStream",
    "UpstreamProtocolError",
    "cc_to_responses_request",
    "completion_to_response",
    "json_tool_name",
    "message_to_response",
    "response_to_completion",
    "responses_to_anthropic_request",
    "responses_to_cc_request",
]
