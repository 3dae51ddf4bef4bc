"""Generate the JSON Schema contracts in `schemas/` from the openai-python pydantic models.

Provenance script: the committed schemas are plain JSON; run `python scripts/gen_schemas.py` to
regenerate them after an SDK upgrade (needs the `openai` dev dependency, nothing else).

What it does on top of pydantic's `model_json_schema`:
- one file per named schema, `$id`s under BASE, relative `$ref`s between files;
- OpenAPI `required` lists, stricter than the SDK (REQUIRED_ADD / PROPERTIES_ADD below);
- `anyOf[X, null]` becomes `if null / else X` (one clear error instead of an anyOf soup);
- unions of objects discriminated by a `type` const become a dispatch (`allOf` of `if type==c
  then $ref`) with an `x-union` marker the validator turns into ONE "unknown type" error;
- the Open Responses event variants (`response.reasoning.*`, nested `error`) are added by hand.
"""

from __future__ import annotations

import json
import shutil
import sys
import typing
from pathlib import Path
from typing import Any

import openai
from openai.types.responses import (
    Response,
    ResponseOutputItem,
    ResponseStreamEvent,
    response_create_params,
)
from pydantic import TypeAdapter

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "schemas"
BASE = "https://responses-conformance.example/schemas/"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
OPENRESPONSES = "Open Responses specification 2026-01-15"
SDK = f"openai-python {openai.__version__}"

# Fields the SDK types as `Optional[...] = None` that OpenAI's OpenAPI document lists as required
# (present, possibly null). PROTOCOL.md "Catalogue" and the official API's observed output.
REQUIRED_ADD: dict[str, list[str]] = {
    "Response": ["error", "incomplete_details", "instructions", "metadata", "temperature", "top_p"],
    "ResponseErrorEvent": ["code", "param"],
    "ResponseOutputText": ["logprobs"],
    "openai__types__responses__response_output_item__ImageGenerationCall": ["result"],
    "ResponseCodeInterpreterToolCall": ["code", "outputs"],
}
# Fields the OpenAPI document declares (required) that the SDK does not know.
PROPERTIES_ADD: dict[str, dict[str, dict[str, Any]]] = {
    "ResponseFunctionCallArgumentsDoneEvent": {
        "name": {"type": "string", "description": "The name of the function that was called."},
    },
}

# Friendly file names for the schemas other modules name (validate(schema_name, obj)).
RENAME = {
    "Response": "response",
    "ResponseUsage": "usage",
    "ResponseError": "response_error",
    "IncompleteDetails": "incomplete_details",
    "ResponseOutputText": "parts/output_text",
    "ResponseOutputRefusal": "parts/refusal",
    "PartReasoningText": "parts/reasoning_text",
    "openai__types__responses__response_reasoning_item__Summary": "parts/summary_text",
    "Summary": "parts/summary_text",
    "openai__types__responses__response_output_text__Logprob": "logprob",
    "openai__types__responses__response_output_text__LogprobTopLogprob": "top_logprob",
}
# Named unions: the set of member definitions -> file. Inline unions with exactly these members
# are replaced by a $ref to the file.
NAMED_UNIONS = {"output_item": "output item", "annotation": "annotation", "content_part": "content part"}


def defs_key(cls: type, defs: dict[str, Any]) -> str:
    qualified = cls.__module__.replace(".", "__") + "__" + cls.__name__
    for key in (qualified, cls.__name__):
        if key in defs:
            return key
    raise KeyError(f"no definition for {cls!r}")


def type_const(schema: dict[str, Any]) -> str | None:
    prop = schema.get("properties", {}).get("type", {})
    if "type" in schema.get("required", []) and isinstance(prop.get("const"), str):
        return prop["const"]
    return None


class Generator:
    def __init__(self) -> None:
        self.files: dict[str, dict[str, Any]] = {}  # path without .json -> schema
        self.event_files: dict[str, dict[str, str]] = {}

    # -- group A: events, Response, output items ---------------------------------------------
    def build_main(self) -> None:
        events = typing.get_args(typing.get_args(ResponseStreamEvent)[0])
        items = typing.get_args(typing.get_args(ResponseOutputItem)[0])
        union = typing.Union[ResponseStreamEvent, Response, ResponseOutputItem]  # noqa: UP007
        full = TypeAdapter(union).json_schema(mode="validation")
        defs: dict[str, Any] = full["$defs"]
        self.defs = defs
        names: dict[str, str] = {}
        for cls in events:
            key = defs_key(cls, defs)
            names[key] = "events/" + typing.get_args(cls.model_fields["type"].annotation)[0]
        item_keys = []
        for cls in items:
            key = defs_key(cls, defs)
            item_keys.append(key)
            names[key] = "items/" + typing.get_args(cls.model_fields["type"].annotation)[0]
        for key in defs:
            if key in names:
                continue
            if key in RENAME:
                names[key] = RENAME[key]
            elif key.startswith("Annotation") and type_const(defs[key]):
                names[key] = "annotations/" + type_const(defs[key])  # type: ignore[operator]
            else:
                names[key] = "defs/" + clean(key)
        self.names = names
        self.unions = {
            frozenset(item_keys): "output_item",
            frozenset(k for k in defs if names[k].startswith("annotations/")): "annotation",
            frozenset(["ResponseOutputText", "ResponseOutputRefusal", "PartReasoningText"]): "content_part",
        }
        for key, schema in defs.items():
            schema = json.loads(json.dumps(schema))
            for prop, sub in PROPERTIES_ADD.get(key, {}).items():
                schema["properties"][prop] = sub
                schema.setdefault("required", []).append(prop)
            for prop in REQUIRED_ADD.get(key, []):
                assert prop in schema["properties"], (key, prop)
                if prop not in schema.setdefault("required", []):
                    schema["required"].append(prop)
            path = names[key]
            self.add(path, self.convert(schema, path, top=True), title=key)
        for members, path in self.unions.items():
            refs = [{"$ref": f"#/$defs/{m}"} for m in sorted(members, key=lambda m: names[m])]
            self.add(path, self.dispatch(refs, path, NAMED_UNIONS[path]) or {}, title=path)
        for key, path in names.items():
            if path.startswith("events/"):
                etype = path[len("events/") :]
                self.event_files[etype] = {"file": path + ".json", "$id": BASE + path + ".json",
                                           "source": SDK, "sdk_class": key}
        self.add_open_responses()
        self.add_websocket()

    def add_open_responses(self) -> None:
        for suffix in ("delta", "done"):
            src = json.loads(json.dumps(self.files[f"events/response.reasoning_text.{suffix}"]))
            etype = f"response.reasoning.{suffix}"
            src["properties"]["type"] = {"type": "string", "const": etype}
            src["description"] = (f"Open Responses variant of response.reasoning_text.{suffix} "
                                  f"({OPENRESPONSES}).")
            self.add("events/" + etype, src, title=etype)
            self.event_files[etype] = {"file": f"events/{etype}.json", "$id": f"{BASE}events/{etype}.json",
                                       "source": OPENRESPONSES}
        nullable_str = {"type": ["string", "null"]}
        nested = {
            "type": "object",
            "description": ("The `error` event with code/message/param nested under `error`: the form "
                            f"the live api.openai.com sends and the {OPENRESPONSES} prescribes."),
            "required": ["type", "sequence_number", "error"],
            "properties": {
                "type": {"type": "string", "const": "error"},
                "sequence_number": {"type": "integer"},
                "error": {
                    "type": "object",
                    "required": ["type", "message"],
                    "properties": {
                        "type": {"type": "string"},
                        "code": nullable_str,
                        "message": {"type": "string"},
                        "param": nullable_str,
                    },
                },
            },
        }
        self.add("events/error.nested", nested, title="error (nested form)")
        self.event_files["error"]["variants"] = {"nested": BASE + "events/error.nested.json"}  # type: ignore[assignment]

    # -- group A': what only a WebSocket carries (openai-python's `ResponsesServerEvent`) ------
    def add_websocket(self) -> None:
        """The steering notices and the socket's own `error`, written from the SDK's models
        (`ResponseSteerAcceptedEvent`, `…PendingEvent`, `…FailedEvent`, `ResponseWsError`) by
        hand: the generated form would type `steer.input` of a failure, which returns the
        client's input as sent (valid or not), and close the SDK's open enums (`reason`,
        `error.code`: "clients should handle unknown values")."""
        string = {"type": "string"}
        nullable_str = {"type": ["string", "null"]}
        stream_id = {"type": "string", "description": "The WebSocket lane of the response.create that asked."}
        steer_ids = {"type": "object", "required": ["id", "previous_response_id"],
                     "properties": {"id": string, "previous_response_id": string}}

        def notice(etype: str, description: str, required: list[str], props: dict[str, Any]) -> None:
            self.add("ws/" + etype, {
                "type": "object", "description": description,
                "required": ["type", "sequence_number", *required],
                "properties": {"type": {"type": "string", "const": etype}, "sequence_number": {"type": "integer"},
                               **props, "stream_id": stream_id},
            }, title=etype)

        notice("response.steer.accepted",
               "Steering input is queued for the running response (numbered in its sequence).",
               ["steer"], {"steer": steer_ids})
        # The stubs name what the client owes; an unknown stub type is not judged.
        stubs = {"function_call_output": ["call_id", "name"], "custom_tool_call_output": ["call_id"],
                 "computer_call_output": ["call_id"], "shell_call_output": ["call_id"],
                 "apply_patch_call_output": ["call_id"], "tool_search_output": ["call_id", "execution"],
                 "mcp_approval_response": ["approval_request_id"]}
        stub = {"type": "object", "required": ["type"], "properties": {"type": string}, "allOf": [
            {"if": {"properties": {"type": {"const": kind}}},
             "then": {"required": keys, "properties": {k: {"const": "client"} if k == "execution" else string
                                                       for k in keys}}}
            for kind, keys in stubs.items()]}
        notice("response.steer.pending",
               "Accepted steering input still queued after the response completed: it waits for the "
               "client-owned results that `required_input` names.",
               ["steer", "reason", "required_input"],
               {"steer": steer_ids, "reason": string, "required_input": {"type": "array", "items": stub}})
        notice("response.steer.failed",
               "Steering input rejected or not committed; `steer.input` is the input as the client sent it.",
               ["steer", "error"],
               {"steer": {"type": "object", "required": ["input", "previous_response_id"],
                          "properties": {"id": string, "previous_response_id": string}},
                "error": {"type": "object", "required": ["code", "message", "type"],
                          "properties": {"code": string, "message": string,
                                         "type": {"type": "string", "const": "invalid_request_error"}}}})
        self.add("ws/error", {
            "type": "object",
            "description": ("An `error` about the socket or a client message (not JSON, an unknown type, "
                            "a full queue, a create that fails validation): `status` is the HTTP status it "
                            "stands for. An error the response's stream emits is events/error.nested."),
            "required": ["type", "error"],
            "properties": {
                "type": {"type": "string", "const": "error"},
                "status": {"type": "integer"},
                "sequence_number": {"type": "integer"},
                "error": {"type": "object", "required": ["type", "message"], "properties": {
                    "type": string, "code": nullable_str, "message": string, "param": nullable_str,
                    "headers": {"type": ["object", "null"], "additionalProperties": string},
                    "misalignment": {"type": ["object", "null"]}}},
                "stream_id": stream_id,
            },
        }, title="error (WebSocket)")

    # -- group B: the create-response request body ---------------------------------------------
    def build_request(self) -> None:
        full = TypeAdapter(response_create_params.ResponseCreateParamsBase).json_schema(mode="validation")
        defs = full.pop("$defs")
        self.defs = defs
        self.names = {k: "request/" + clean(k) for k in defs}
        self.unions = {}
        body = json.loads(json.dumps(full))
        props = body["properties"]
        props["stream"] = {"type": ["boolean", "null"]}
        # The official API treats an explicit null for an optional request field as absent.
        for name, sub in list(props.items()):
            if name not in body.get("required", []) and not _allows_null(sub):
                props[name] = {"anyOf": [sub, {"type": "null"}]}
        _tighten_request(props)
        for key, schema in defs.items():
            path = self.names[key]
            self.add(path, self.convert(json.loads(json.dumps(schema)), path, top=True), title=key)
        body["description"] = "The body of POST /v1/responses (create a response)."
        self.add("request", self.convert(body, "request", top=True), title="create-response request")

    # -- conversion --------------------------------------------------------------------------
    def add(self, path: str, schema: dict[str, Any], title: str) -> None:
        out = {"$schema": DRAFT, "$id": BASE + path + ".json", "title": title}
        out.update({k: v for k, v in schema.items() if k not in ("title", "$id", "$schema")})
        self.files[path] = out

    def ref(self, target_key: str, here: str) -> dict[str, Any]:
        return {"$ref": relpath(self.names[target_key] + ".json", here)}

    def convert(self, node: Any, here: str, top: bool = False) -> Any:
        if isinstance(node, list):
            return [self.convert(x, here) for x in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            key = node["$ref"].split("/")[-1]
            return self.ref(key, here)
        if "anyOf" in node:
            return self.convert_anyof(node, here)
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k in ("title", "default"):
                continue
            if k == "additionalProperties" and v is True:
                continue  # open objects are the default; say nothing
            if k == "properties":
                out[k] = {name: self.convert(sub, here) for name, sub in v.items()}
            elif k in ("items", "additionalProperties", "not", "if", "then", "else", "contains"):
                out[k] = self.convert(v, here)
            elif k in ("allOf", "oneOf", "prefixItems"):
                out[k] = [self.convert(x, here) for x in v]
            else:
                out[k] = v
        return out

    def convert_anyof(self, node: dict[str, Any], here: str) -> dict[str, Any]:
        branches = node["anyOf"]
        extra = {k: v for k, v in node.items() if k in ("description",)}
        nullable = any(b == {"type": "null"} for b in branches)
        rest = [b for b in branches if b != {"type": "null"}]
        if any(b == {} for b in rest):
            return extra
        inner: dict[str, Any]
        union_path = self.named_union(rest)
        if union_path:
            inner = {"$ref": relpath(union_path + ".json", here)}
        elif len(rest) == 1:
            inner = self.convert(rest[0], here)
        else:
            objects = [b for b in rest if "$ref" in b and self.is_typed_object(b)]
            others = [b for b in rest if b not in objects]
            disp = self.dispatch(objects, here, None) if len(objects) >= 2 else None
            if disp is not None and not others:
                inner = disp
            elif disp is not None and all(_non_object(b) for b in others):
                alt = self.convert(others[0], here) if len(others) == 1 else \
                    {"anyOf": [self.convert(b, here) for b in others]}
                inner = {"if": {"type": "object"}, "then": disp, "else": alt}
            else:
                inner = {"anyOf": [self.convert(b, here) for b in rest]}
        if nullable:
            simple = _simple_primitive(inner)
            inner = simple if simple is not None else {"if": {"type": "null"}, "else": inner}
        inner = {**extra, **inner}
        return inner

    def is_typed_object(self, branch: dict[str, Any]) -> bool:
        key = branch["$ref"].split("/")[-1]
        return type_const(self.defs[key]) is not None

    def named_union(self, branches: list[dict[str, Any]]) -> str | None:
        if not branches or not all("$ref" in b for b in branches):
            return None
        keys = frozenset(b["$ref"].split("/")[-1] for b in branches)
        return self.unions.get(keys)

    def dispatch(self, refs: list[dict[str, Any]], here: str, label: str | None) -> dict[str, Any] | None:
        consts: list[str] = []
        cases = []
        for b in refs:
            key = b["$ref"].split("/")[-1]
            c = type_const(self.defs[key])
            if c is None or c in consts:
                return None
            consts.append(c)
            cases.append({"if": {"properties": {"type": {"const": c}}, "required": ["type"]},
                          "then": self.ref(key, here)})
        disc: dict[str, Any] = {"type": "string", "enum": consts}
        disc["x-union"] = label or "variant"
        return {"type": "object", "required": ["type"], "properties": {"type": disc}, "allOf": cases}


def _allows_null(sub: dict[str, Any]) -> bool:
    if sub.get("type") == "null" or (isinstance(sub.get("type"), list) and "null" in sub["type"]):
        return True
    return any(b == {"type": "null"} for b in sub.get("anyOf", []))


def _non_object(b: dict[str, Any]) -> bool:
    return "$ref" not in b and b.get("type") in ("string", "integer", "number", "boolean", "array")


def _simple_primitive(inner: dict[str, Any]) -> dict[str, Any] | None:
    t = inner.get("type")
    if not isinstance(t, str) or t in ("object", "array"):
        return None
    if set(inner) - {"type", "enum", "const", "description"}:
        return None
    out = dict(inner)
    out["type"] = [t, "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    if "const" in out:
        out["enum"] = [out.pop("const"), None]
    return out


def _tighten_request(props: dict[str, Any]) -> None:
    """Request limits the official API enforces (PROTOCOL.md "Requests")."""
    def inner(p: dict[str, Any]) -> dict[str, Any]:
        for b in p.get("anyOf", []):
            if b != {"type": "null"}:
                return b
        return p
    mot = inner(props["max_output_tokens"])
    mot["minimum"] = 16
    meta = inner(props["metadata"])
    meta["maxProperties"] = 16
    meta["propertyNames"] = {"maxLength": 64}
    meta["additionalProperties"] = {"type": "string", "maxLength": 512}


def clean(key: str) -> str:
    if key.startswith("openai__types__"):
        return ".".join(key[len("openai__types__"):].split("__"))
    return key


def relpath(target: str, here: str) -> str:
    depth = here.count("/")
    return "../" * depth + target


def main() -> int:
    gen = Generator()
    gen.build_main()
    main_files = dict(gen.files)
    gen.build_request()
    assert set(main_files) <= set(gen.files)
    for sub in ("events", "items", "defs", "parts", "annotations", "request", "ws"):
        shutil.rmtree(OUT / sub, ignore_errors=True)
    for path, schema in sorted(gen.files.items()):
        target = OUT / (path + ".json")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(schema, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    index = {
        "$comment": "Maps each streaming event type to its schema. Generated by scripts/gen_schemas.py.",
        "base": BASE,
        "versions": {
            "sdk": SDK,
            "openapi": "required lists follow OpenAI's OpenAPI document (openai-openapi, 2026 "
                       "revision as summarised in PROTOCOL.md); see docs/contracts.md",
            "open_responses": OPENRESPONSES,
        },
        "events": dict(sorted(gen.event_files.items())),
        "schemas": {p: p + ".json" for p in sorted(gen.files) if not p.startswith(("events/", "defs/", "request/"))},
    }
    (OUT / "index.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    keep = OUT / ".keep"
    if keep.exists():
        keep.unlink()
    print(f"wrote {len(gen.files)} schemas, {len(gen.event_files)} event types", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
