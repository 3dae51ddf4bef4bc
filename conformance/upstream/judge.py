"""Judge a proxy from both sides (sans-IO): the client's request and answer against what the
upstream was asked and what it said (`conformance upstream`'s request log).

`Judge.pair(...)` takes one client exchange and the upstream exchange it caused and returns
`(rule_id, message)` pairs of the `upstream.*` family; it remembers each response id's turn so
that a `previous_response_id` continuation can be checked for the earlier turns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from conformance.excerpts import one_line
from conformance.upstream.app import fingerprint
from conformance.upstream.generations import refused_sampling
from conformance.upstream.model import View, read_request

Finding = tuple[str, str]


def _canon_args(text: str) -> str:
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except (ValueError, TypeError):
        return str(text)


def _turns(view: View) -> tuple[list[str], list[tuple[str, str]]]:
    """System texts, and the other messages with call arguments canonical and neighbours of the
    same role merged (Anthropic merges them; CC and Responses may not)."""
    system: list[str] = []
    rest: list[tuple[str, str]] = []
    for role, text in view.messages:
        if role == "system":
            system.append(text)
            continue
        if role == "call":
            name, _, args = text.partition("(")
            text = f"{name}({_canon_args(args[:-1])})"
        if rest and rest[-1][0] == role and role in ("user", "assistant"):
            rest[-1] = (role, rest[-1][1] + "\n" + text)
        else:
            rest.append((role, text))
    return system, rest


def _client_output(response: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
    text, reasoning, calls = [], [], []
    for item in response.get("output") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message":
            text += [p.get("text", "") for p in item.get("content") or [] if isinstance(p, dict)
                     and p.get("type") == "output_text"]
        elif item.get("type") == "reasoning":
            parts = item.get("content") or item.get("summary") or []
            reasoning += [p.get("text", "") for p in parts if isinstance(p, dict)]
        elif item.get("type") == "function_call":
            calls.append(item)
    return "".join(text), "".join(reasoning), calls


def _search_fidelity(ans: dict[str, Any], response: dict[str, Any]) -> list[Finding]:
    """The upstream's web searches arrive as web_search_call items, its citations as url_citation
    annotations (a search is a call the upstream made; a citation is part of its text)."""
    output = [i for i in response.get("output") or [] if isinstance(i, dict)]
    searches = [i for i in output if i.get("type") == "web_search_call"]
    out: list[Finding] = []
    up_searches = list(ans.get("searches") or [])
    if len(searches) < len(up_searches):
        queries = [one_line(s.get("query"), 40) for s in up_searches]
        out.append(("upstream.call-lost", f"the upstream searched the web {len(up_searches)} time(s) ({queries}); "
                                          f"the client got {len(searches)} web_search_call item(s)"))
    cited = {a.get("url") for item in output if item.get("type") == "message"
             for p in item.get("content") or [] if isinstance(p, dict)
             for a in p.get("annotations") or [] if isinstance(a, dict) and a.get("type") == "url_citation"}
    lost = [url for url in ans.get("citations") or [] if url not in cited]
    if lost:
        out.append(("upstream.text-changed", f"the upstream's text cites {lost}; the client's text has no "
                                             "url_citation for it"))
    return out


@dataclass
class Judge:
    kind: str
    client_secrets: list[str] = field(default_factory=list)
    # response id -> the non-system messages of that turn, its answer included
    history: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def pair(self, client_request: dict[str, Any], response: dict[str, Any] | None,
             upstream: dict[str, Any]) -> list[Finding]:
        cv = read_request("responses", client_request)
        uv = read_request(self.kind, upstream.get("body"))
        out = self._request(cv, uv, client_request, upstream)
        out += self._secrets(upstream)
        ans = upstream.get("answer") or {}
        if response is not None:
            out += self._fidelity(cv, ans, response)
            self._remember(response, uv, ans)
        return out

    # -- the request direction -----------------------------------------------------------

    def _request(self, cv: View, uv: View, body: dict[str, Any], upstream: dict[str, Any]) -> list[Finding]:
        out: list[Finding] = []
        c_sys, c_rest = _turns(cv)
        u_sys, u_rest = _turns(uv)
        u_sys_text = "\n".join(u_sys)
        lost_sys = [s for s in c_sys if s not in u_sys_text and ("user", s) not in u_rest]
        tail = u_rest[len(u_rest) - len(c_rest):] if c_rest else []
        if lost_sys or tail != c_rest:
            got = [f"{r}: {one_line(t, 40)}" for r, t in u_rest[-max(len(c_rest), 1) - 2:]]
            want = [f"{r}: {one_line(t, 40)}" for r, t in c_rest]
            out.append(("upstream.request-messages",
                        f"the upstream got {len(u_rest)} non-system messages ending {got}; expected the "
                        f"request's input as {want}" + (f"; instructions/system lost: {one_line(lost_sys, 80)}" if lost_sys else "")))
        prev = body.get("previous_response_id")
        forwarded = isinstance(upstream.get("body"), dict) and upstream["body"].get("previous_response_id")
        if isinstance(prev, str) and prev in self.history and tail == c_rest and not forwarded:
            # Joined without separators: an answer in several parts (text blocks split at a
            # citation) comes back as several blocks, which the view joins with newlines.
            before = {(r, t.replace("\n", "")) for r, t in u_rest[: len(u_rest) - len(c_rest)]}
            missing = [(r, t) for r, t in self.history[prev] if (r, t.replace("\n", "")) not in before]
            if missing:
                out.append(("upstream.request-history",
                            f"previous_response_id {prev}: the upstream request lacks the earlier turn's "
                            f"{[f'{r}: {one_line(t, 40)}' for r, t in missing]}"))
        want_tools = {n: s for n, s in cv.tools.items() if cv.allowed is None or n in cv.allowed}
        if cv.tool_choice == "none" and not uv.tools:
            want_tools = {}
        bad = [n for n, s in want_tools.items() if uv.tools.get(n) != s]
        if bad:
            out.append(("upstream.request-tools", f"tools {bad} did not reach the upstream with their schemas "
                                                  f"(upstream tools: {sorted(uv.tools)})"))
        out += self._web_search(cv, uv, body)
        if cv.tool_choice and want_tools and cv.tool_choice != "web_search":
            expected = cv.tool_choice
            if expected != (uv.tool_choice or "auto"):
                out.append(("upstream.request-tool-choice",
                            f"tool_choice {one_line(body.get('tool_choice'), 80)} reached the upstream as "
                            f"{uv.tool_choice or 'nothing'}"))
        if cv.parallel is False and uv.tools and uv.parallel is not False:
            out.append(("upstream.request-parallel-calls",
                        "parallel_tool_calls false did not reach the upstream (it may call several tools)"))
        if cv.max_tokens is not None and uv.max_tokens != cv.max_tokens:
            out.append(("upstream.request-max-tokens",
                        f"max_output_tokens {cv.max_tokens} reached the upstream as {uv.max_tokens}"))
        if isinstance(cv.schema, dict) and not self._format_sent(cv.schema, uv):
            out.append(("upstream.request-format", "text.format json_schema did not reach the upstream"))
        forced = (uv.tool_choice or "").startswith("function:") or uv.tool_choice in ("required", "web_search")
        if cv.reasoning and not uv.reasoning and not (self.kind == "anthropic" and forced):
            out.append(("upstream.request-reasoning", f"reasoning.effort {cv.reasoning} did not reach the upstream"))
        refused = refused_sampling(self.kind, upstream["body"] if isinstance(upstream.get("body"), dict) else {})
        for name in ("temperature", "top_p"):
            mine, theirs = getattr(cv, name), getattr(uv, name)
            if (mine is not None and theirs != mine and name not in refused
                    and not (self.kind == "anthropic" and uv.reasoning)):
                out.append(("upstream.request-sampling", f"{name} {mine} reached the upstream as {theirs}"))
        return out

    def _web_search(self, cv: View, uv: View, body: dict[str, Any]) -> list[Finding]:
        """An upstream that searches itself (Anthropic's server tool, a Responses relay) must be
        offered the client's web search tool with its domain filter, and forced when it is."""
        if self.kind == "chat-completions" or cv.web_search is None or cv.tool_choice == "none":
            return []
        if uv.web_search is None:
            return [("upstream.request-tools", f"the web search tool did not reach the upstream as its web search "
                                               f"tool (upstream tools: {sorted(uv.tools)})")]
        out: list[Finding] = []
        if cv.web_search.allowed and sorted(uv.web_search.allowed or []) != sorted(cv.web_search.allowed):
            out.append(("upstream.request-tools", f"web search allowed_domains {cv.web_search.allowed} reached the "
                                                  f"upstream as {uv.web_search.allowed}"))
        if cv.tool_choice == "web_search" and uv.tool_choice != "web_search":
            out.append(("upstream.request-tool-choice", f"tool_choice {one_line(body.get('tool_choice'), 80)} reached "
                                                        f"the upstream as {uv.tool_choice or 'nothing'}, not a forced web search"))
        return out

    def _format_sent(self, schema: dict[str, Any], uv: View) -> bool:
        if uv.schema == schema or schema in uv.tools.values():
            return True
        system = "\n".join(t for r, t in uv.messages if r == "system")
        return json.dumps(schema) in system or json.dumps(schema, separators=(",", ":")) in system

    def _secrets(self, upstream: dict[str, Any]) -> list[Finding]:
        prints = set(upstream.get("credentials") or [])
        body = json.dumps(upstream.get("body"))
        for secret in self.client_secrets:
            if fingerprint(secret) in prints or (len(secret) >= 8 and secret in body):
                return [("upstream.secret-forwarded", "the client's API key reached the upstream")]
        return []

    # -- the answer direction ------------------------------------------------------------

    def _fidelity(self, cv: View, ans: dict[str, Any], response: dict[str, Any]) -> list[Finding]:
        status = response.get("status")
        if ans.get("status", 200) >= 400 or ans.get("error"):
            if status == "completed":
                return [("upstream.error-hidden", f"the upstream answered {ans.get('error') or ans.get('status')} "
                                                  "and the client got a completed response")]
            return []
        if status not in ("completed", "incomplete") or (ans.get("recorded") and "text" not in ans):
            return []
        out: list[Finding] = []
        text, reasoning, calls = _client_output(response)
        refusal = "".join(p.get("refusal", "") for item in response.get("output") or [] if isinstance(item, dict)
                          and item.get("type") == "message" for p in item.get("content") or []
                          if isinstance(p, dict) and p.get("type") == "refusal")
        up_calls = list(ans.get("calls") or [])
        want_text = ans.get("text") or ""  # None: a recording whose text the converter renders by policy
        synthetic = [c for c in up_calls if c["name"] not in cv.tools] if cv.schema is not None else []
        if synthetic and not want_text:  # a structured-output tool turned back into text
            want_text = "".join(c["arguments"] for c in synthetic)
            up_calls = [c for c in up_calls if c["name"] in cv.tools]
        if ans.get("text", "") is not None and text != want_text and _canon_args(text) != _canon_args(want_text):
            out.append(("upstream.text-changed", f"client text {one_line(text, 80)!r} != upstream text {one_line(want_text, 80)!r}"))
        if (ans.get("refusal") or "") != refusal:
            out.append(("upstream.text-changed", f"client refusal {one_line(refusal, 80)!r} != upstream refusal "
                                                 f"{one_line(ans.get('refusal') or '', 80)!r}"))
        if ans.get("reasoning") and reasoning != ans["reasoning"]:
            what = "no reasoning" if not reasoning else f"reasoning {one_line(reasoning, 80)!r}"
            out.append(("upstream.reasoning-dropped", f"the upstream reasoned {one_line(ans['reasoning'], 80)!r}; the client got {what}"))
        by_id = {c.get("call_id"): c for c in calls}
        for i, up in enumerate(up_calls):
            got = by_id.get(up["id"])
            if got is None:
                if len(calls) < len(up_calls):
                    out.append(("upstream.call-lost", f"upstream call {i} {up['name']}({one_line(up['arguments'], 40)}) "
                                                      f"is missing ({len(calls)} of {len(up_calls)} calls arrived)"))
                    break
                out.append(("upstream.call-changed", f"upstream call id {up['id']} is not among the client's call ids"))
                continue
            if got.get("name") != up["name"] or _canon_args(str(got.get("arguments"))) != _canon_args(up["arguments"]):
                out.append(("upstream.call-changed", f"call {up['id']}: client got {got.get('name')}({one_line(str(got.get('arguments')), 40)}), "
                                                     f"upstream sent {up['name']}({one_line(up['arguments'], 40)})"))
        out += _search_fidelity(ans, response)
        finish = ans.get("finish")
        reason = (response.get("incomplete_details") or {}).get("reason")
        expected = {"length": ("incomplete", "max_output_tokens"),
                    "content_filter": ("incomplete", "content_filter")}.get(finish or "", ("completed", None))
        if (status, reason if status == "incomplete" else None) != expected:
            out.append(("upstream.finish-reason", f"upstream finish {finish!r} became status {status!r}"
                                                  + (f" ({reason})" if reason else "")))
        usage, up_usage = response.get("usage") or {}, ans.get("usage")
        if up_usage:
            diffs = [f"{k} {usage.get(k)} != {up_usage[k]}" for k in ("input_tokens", "output_tokens")
                     if up_usage.get(k) is not None and usage.get(k) != up_usage[k]]
            got_r = (usage.get("output_tokens_details") or {}).get("reasoning_tokens")
            if got_r and got_r != up_usage.get("reasoning_tokens"):
                diffs.append(f"reasoning_tokens {got_r} != {up_usage.get('reasoning_tokens')}")
            if diffs:
                out.append(("upstream.usage-mismatch", "usage differs from the upstream's: " + ", ".join(diffs)))
        return out

    def _remember(self, response: dict[str, Any], uv: View, ans: dict[str, Any]) -> None:
        rid = response.get("id")
        if not isinstance(rid, str):
            return
        _, rest = _turns(uv)
        text, _, calls = _client_output(response)
        if text:
            rest.append(("assistant", text))
        rest += [("call", f"{c.get('name')}({_canon_args(str(c.get('arguments')))})") for c in calls]
        self.history[rid] = rest
