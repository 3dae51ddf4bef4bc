"""The handlers that make every failure of an app answer in the OpenAI error shape: FastAPI's
422 `{"detail": ...}` never leaks (validation problems are 400 with the offending `param`), 404
and 405 say what was asked, a bug is a logged 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..protocol.errors import DEFAULT_TYPES, APIError, error_body

log = logging.getLogger("reference_server")


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
