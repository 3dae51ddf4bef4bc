"""What a Claude model accepts, read from its id: the thinking form and the sampling parameters.

Anthropic's generations differ in ways that turn a request one model takes into another's 400:

- Claude 4.5 and earlier know only manual thinking, `thinking: {type: "enabled", budget_tokens}`.
  From Claude 4.6, adaptive thinking, `thinking: {type: "adaptive"}` with
  `output_config: {effort}`, is the recommended form (manual is deprecated there), and from
  Opus 4.7 (and every Claude 5 model, and the unversioned Mythos Preview) it is the only one:
  manual thinking is refused.
- The same newest models refuse `temperature`, `top_p` and `top_k` on every request.
- Claude 4.1 to 4.6 take a temperature or a top_p, never both.
- From Claude 4.6 a conversation must end with a user message: no assistant prefill.
- From Opus 4.7 thinking blocks come back empty unless `thinking.display` asks for their
  summarised text.

The id is read the way model ids are spelt (`claude-opus-4-7`, `claude-sonnet-4-5-20250929`,
`claude-3-7-sonnet-20250219`, `anthropic.claude-opus-4-6-v1`, `claude-fable-5-1`), version
cut-offs rather than a list of ids, so a new Claude model is covered the day it ships. An id
that names Claude but no version (`claude-mythos-preview`) is taken as the newest generation; an
id that is not Claude's (another provider's Anthropic-compatible endpoint) keeps the forms every
such endpoint has accepted: manual thinking and the caller's sampling values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# `claude-<family>-<major>[-<minor>]` (a trailing 8-digit date is not a minor version) or the
# older `claude-<major>[-<minor>]-<family>`.
_FAMILY_FIRST = re.compile(r"claude-[a-z]+-(\d+)(?:[-.](\d{1,2})(?!\d))?")
_NUMBER_FIRST = re.compile(r"claude-(\d+)(?:[-.](\d{1,2})(?!\d))?-[a-z]")
# A Claude id, maybe behind a cloud's prefix (`anthropic.`, `us.anthropic.`): not any name that
# merely contains "claude" (a gateway's own `my-claude` alias says nothing about the model).
_CLAUDE = re.compile(r"(?:^|[./:])claude-")

# Responses' reasoning.effort -> Anthropic's output_config.effort (adaptive thinking). `none`
# asks for no reasoning: no thinking is requested.
ADAPTIVE_EFFORTS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh"}


@dataclass(frozen=True)
class ClaudeModel:
    version: tuple[int, int] | None  # (major, minor), None when the id names none
    claude: bool  # the id names a Claude model

    @property
    def newest(self) -> bool:
        """Opus 4.7 and later, Claude 5, or a Claude id without a version: adaptive thinking
        only, and no sampling parameters."""
        if not self.claude:
            return False
        return self.version is None or self.version >= (4, 7)

    @property
    def adaptive_thinking(self) -> bool:
        """Thinking is asked for as `{type: "adaptive"}` + `output_config.effort`."""
        return self.newest or (self.version is not None and self.version >= (4, 6))

    @property
    def omits_thinking(self) -> bool:
        """Thinking blocks come back with their text empty (signature only) unless the request
        asks for `thinking.display: "summarized"`: Opus 4.7 and later."""
        return self.newest

    @property
    def takes_prefill(self) -> bool:
        """A conversation may end with an assistant message (continued by the model); from
        Claude 4.6 it must end with a user message (400 otherwise)."""
        return not (self.newest or (self.version is not None and self.version >= (4, 6)))

    @property
    def takes_sampling(self) -> bool:
        """`temperature` and `top_p` are accepted (else the request is refused with a 400)."""
        return not self.newest

    @property
    def one_sampler(self) -> bool:
        """`temperature` and `top_p` are refused together."""
        return self.claude and self.version is not None and (4, 1) <= self.version < (4, 7)

    def effort(self, effort: str) -> str | None:
        """output_config.effort for a Responses effort (None: no thinking). `xhigh` exists from
        Opus 4.7; before it the nearest is `high`."""
        value = ADAPTIVE_EFFORTS.get(effort)
        if value == "xhigh" and not self.newest:
            return "high"
        return value


def claude_model(model_id: str | None) -> ClaudeModel:
    """What the model `model_id` accepts (see the module docstring)."""
    name = (model_id or "").lower()
    claude = _CLAUDE.search(name) is not None
    match = _FAMILY_FIRST.search(name) or _NUMBER_FIRST.search(name)
    if match is None:
        return ClaudeModel(None, claude)
    return ClaudeModel((int(match.group(1)), int(match.group(2) or 0)), claude)
