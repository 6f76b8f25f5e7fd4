"""Every error answered in the form its route family speaks, and the outermost guard of the app."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airrc.errors import Error, Throttled, http_status
from airrc.exchange import taxii as taxii_routes
from airrc.federation import routes as federation_routes
from airrc.routing import BodyRefused

__all__ = ["GuardEdges", "error_response", "install_error_handlers"]

log = logging.getLogger("airrc.api.app")


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _error_answer(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The error in the form its route family speaks: signed on ``/federation/v1/`` (RFC 9421, bound to the
    request), a TAXII error message on ``/taxii2/``, our JSON error body everywhere else."""
    path = request.url.path
    if path.startswith("/federation/v1/"):
        answer = federation_routes.signed_answer(
            request.app.state.node, request, status, {"error": {"code": code, "message": message}}
        )
        answer.headers.update(headers or {})
        return answer
    if path.startswith("/taxii2/"):
        return taxii_routes.error_answer(status, code, message, headers)
    return error_response(status, code, message, headers)


def _challenge(request: Request) -> dict[str, str]:
    if request.url.path.startswith("/taxii2/"):
        return {"www-authenticate": 'Basic realm="airrc TAXII", charset="UTF-8", Bearer'}
    return {"www-authenticate": "Bearer"}


def install_error_handlers(app: FastAPI) -> None:
    """Every error becomes our body ``{"error": {"code", "message"}}`` with the status of its code."""

    @app.exception_handler(Error)
    async def _airrc_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Error)  # noqa: S101 - registered for Error only
        status = http_status(exc)
        if status == 500:
            log.error("internal error %s", exc.code)
            return _error_answer(request, 500, "internal.error", "internal error")
        headers = _challenge(request) if status == 401 else None
        if isinstance(exc, Throttled):
            headers = {"retry-after": str(exc.retry_after)}
        return _error_answer(request, status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)  # noqa: S101
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        if first.get("type") == "json_invalid":
            return _error_answer(request, 400, "input.malformed_json", "malformed JSON")
        if first.get("loc", ("",))[0] in ("query", "path", "header"):
            # A bad id, cursor, number or time in the address is a bad request, not an unprocessable body.
            return _error_answer(
                request, 400, "input.bad_parameter", f"{where}: {first.get('msg', 'invalid')}"
            )
        return _error_answer(request, 422, "input.invalid", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101
        if isinstance(exc, BodyRefused):
            return _error_answer(request, 400, exc.code, str(exc.detail))
        codes = {404: "http.not_found", 405: "http.method_not_allowed", 400: "input.malformed_body"}
        code = codes.get(exc.status_code, "http.error")
        return _error_answer(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled %s", type(exc).__name__)
        return _error_answer(request, 500, "internal.error", "internal error")


class GuardEdges:
    """NUL in the address is refused (PostgreSQL cannot compare text holding it); any exception no handler
    took becomes our 500 error body here, inside the server's own error middleware, so the keep-alive
    connection stays open and nothing of the exception leaks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
            answer = error_response(400, "input.nul_character", "the address may not contain NUL")
            await answer(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:
                raise
            log.exception("unhandled %s on %s %s", type(exc).__name__, scope.get("method"), scope.get("path"))
            await error_response(500, "internal.error", "internal error")(scope, receive, send)
