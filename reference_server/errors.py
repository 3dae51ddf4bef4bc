"""OpenAI-shaped error bodies and the handlers that make every failure use them.

Every non-2xx answer is `{"error": {"message", "type", "param", "code"}}`: FastAPI's 422
`{"detail": ...}` never leaks (validation problems are 400 with the offending `param`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("reference_server")

# The `type` the official API reports for each status when nothing more specific applies.
DEFAULT_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
}


class APIError(Exception):
    """Raise anywhere in a request handler to answer with an OpenAI error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or DEFAULT_TYPES.get(status, "invalid_request_error")
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return error_body(self.message, type=self.type, param=self.param, code=self.code)


def json_type(value: Any) -> str:
    """The official wording of a JSON value's type in 400 messages ("an integer", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def invalid_type(param: str, expected: str, value: Any) -> APIError:
    return APIError(400, f"Invalid type for '{param}': expected {expected}, but got {json_type(value)} instead.",
                    param=param, code="invalid_type")


def bad_request(message: str, *, param: str | None = None, code: str | None = "invalid_value") -> APIError:
    return APIError(400, message, param=param, code=code)


def error_body(
    message: str, *, type: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def openai_error(
    status: int,
    message: str,
    *,
    type: str | None = None,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A JSONResponse carrying the OpenAI error shape."""
    type_ = type or DEFAULT_TYPES.get(status, "invalid_request_error")
    return JSONResponse(error_body(message, type=type_, param=param, code=code), status_code=status,
                        headers=headers)


def param_path(loc: Sequence[Any]) -> str | None:
    """A pydantic/FastAPI error location as an OpenAI `param`: ("body","input",0,"role") → "input[0].role"."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or None


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    param = param_path(first.get("loc", ()))
    msg = first.get("msg", "Invalid request.")
    message = f"Invalid value for '{param}': {msg}." if param else f"Invalid request: {msg}."
    return openai_error(400, message, param=param, code="invalid_value")


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        message = f"Invalid URL ({request.method} {request.url.path})"
        return openai_error(404, message)
    if status == 405:
        return openai_error(405, f"Method {request.method} is not allowed for {request.url.path}.",
                            code="method_not_allowed")
    detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
    return openai_error(status, detail)


async def _api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, APIError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _internal_handler(request: Request, exc: Exception) -> JSONResponse:
    # A genuine bug: log the traceback for the operator, show the client only the error shape.
    log.exception("internal error while handling %s %s", request.method, request.url.path)
    return openai_error(500, "The server had an error while processing your request.",
                        type="server_error", code="server_error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(APIError, _api_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(Exception, _internal_handler)
