"""upstream.*: metadata only. With `conformance run --upstream KIND` the runner knows what the
upstream model was asked and what it answered (`conformance upstream`'s request log), and
`conformance.upstream.judge` reports these against the proxy under test."""

from __future__ import annotations

from conformance.registry import define

RUNNER = "conformance live runner (--upstream)"

# Fidelity: what the client got equals what the upstream said.
define("upstream.text-changed", "error", "the message text differs from the upstream's",
       "The output text the client received is not the text the upstream model streamed, or lacks the "
       "url_citation of a web search result the upstream cited.", external=RUNNER)
define("upstream.reasoning-dropped", "error", "the upstream's reasoning is missing or altered",
       "The upstream sent reasoning (CC reasoning_content, Anthropic thinking, a Responses reasoning "
       "item) and the client got none, or other text.", external=RUNNER)
define("upstream.call-lost", "error", "a tool call of the upstream is missing",
       "The upstream called a tool (e.g. the second of parallel calls) and the client got no such call, "
       "or searched the web (Anthropic's server tool) and the client got no web_search_call.",
       external=RUNNER)
define("upstream.call-changed", "error", "a tool call's id, name or arguments differ from the upstream's",
       "A client running the call would run something the model did not ask for, or could not answer it "
       "under the model's call id.", external=RUNNER)
define("upstream.finish-reason", "error", "the finish reason is not carried over",
       "The upstream's finish (stop/tool_calls, length/max_tokens, content_filter/refusal) must give "
       "completed, incomplete max_output_tokens, incomplete content_filter.", external=RUNNER)
define("upstream.usage-mismatch", "error", "usage differs from the upstream's",
       "input_tokens and output_tokens (and reasoning_tokens when given) must be the upstream's counts.",
       external=RUNNER)
define("upstream.error-hidden", "error", "an upstream failure is reported as success",
       "The upstream answered an HTTP error, an error event or broke off, and the client got a "
       "completed response.", external=RUNNER)

define("upstream.not-forwarded", "error", "a response the upstream was never asked for",
       "The client got a completed or incomplete response, and the upstream received no request for "
       "it: the proxy answered from elsewhere (or is not pointed at the upstream under test).",
       external=RUNNER)

# Request translation: what the upstream was asked equals what the client asked.
define("upstream.request-messages", "error", "instructions and input do not arrive as the right messages",
       "`instructions` and the `input` items must reach the upstream as the same messages in the same "
       "order (a string input is one user message).", external=RUNNER)
define("upstream.request-history", "error", "previous_response_id: the earlier turns are not sent upstream",
       "A continuation must send the earlier turns (inputs, answers, calls and tool results) before "
       "the new input.", external=RUNNER)
define("upstream.request-tools", "error", "tools are not forwarded with their schemas",
       "Every function tool of the request must reach the upstream with the same parameters schema; a "
       "web search tool must reach an upstream that searches (Anthropic) as its web search tool, "
       "with the same allowed_domains.",
       external=RUNNER)
define("upstream.request-tool-choice", "error", "tool_choice is not forwarded",
       "auto/none/required/a named function/allowed_tools/a forced web search must reach the upstream "
       "as its equivalent.",
       external=RUNNER)
define("upstream.request-parallel-calls", "error", "parallel_tool_calls is not forwarded",
       "parallel_tool_calls false must reach the upstream (CC parallel_tool_calls, Anthropic "
       "disable_parallel_tool_use).", external=RUNNER)
define("upstream.request-max-tokens", "error", "max_output_tokens is not the upstream's limit",
       "max_output_tokens must reach the upstream as its token limit (max_tokens / max_completion_tokens).",
       external=RUNNER)
define("upstream.request-format", "error", "text.format is not forwarded",
       "A json_schema text.format must reach the upstream as response_format (CC), text.format "
       "(Responses), or a forced tool / system instruction with the schema (Anthropic).", external=RUNNER)
define("upstream.request-reasoning", "error", "reasoning.effort is not forwarded",
       "reasoning.effort must reach the upstream (CC reasoning_effort, Anthropic thinking, Responses "
       "reasoning).", external=RUNNER)
define("upstream.request-sampling", "warning", "temperature / top_p are not forwarded",
       "temperature and top_p must reach the upstream unchanged (Anthropic may drop them with thinking, "
       "and a model that refuses them, e.g. Claude Opus 4.7 or gpt-5, may go without).",
       external=RUNNER)
define("upstream.secret-forwarded", "error", "the client's API key is sent upstream",
       "The key the client authenticated with must not reach the upstream (headers or body).",
       external=RUNNER)
