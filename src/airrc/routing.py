"""The route class every HTTP router uses: request JSON parsed by our bounded parser, so a hostile number
or a duplicate key is a typed 400 before any model or storage sees it."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import HTTPException, Path, Request, Response
from fastapi.routing import APIRoute

from airrc.crypto.canonical import parse_json
from airrc.errors import InputError

__all__ = ["MAX_ROW_ID", "BodyRefused", "BoundedJSONRoute", "RowId"]

# Row ids, sequence numbers and cursors are 64-bit in storage; anything larger is refused at the edge.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=0, le=MAX_ROW_ID)]

# Bodies are bounded by the size middleware before they get here; this is a second, generous bound.
MAX_JSON_BODY = 64 * 1024 * 1024


class BodyRefused(HTTPException):
    """A request body refused while FastAPI parses it; carries our error code to the error handler."""

    def __init__(self, error: InputError) -> None:
        super().__init__(status_code=400, detail=error.message)
        self.code = error.code


class _BoundedJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = parse_json(await self.body(), max_bytes=MAX_JSON_BODY)
            except InputError as exc:
                raise BodyRefused(exc) from exc
        return self._json


class BoundedJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handler(_BoundedJSONRequest(request.scope, request.receive))

        return bounded
