"""What every HTTP router shares: the route class (request JSON parsed by our bounded parser, so a hostile
number or a duplicate key is a typed 400 before any model or storage sees it), bounded row ids, and the
served host.

Routers live with their mechanism and never import the node: each declares, as a ``Protocol``, the few
collaborators it needs (``store``, its service, ``settings``...) and takes the served host typed by that
protocol through :func:`served_host`. The node, which the API layer serves, satisfies every such protocol
(``api.app`` checks that statically)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import HTTPException, Path, Request, Response
from fastapi.routing import APIRoute

from airrc.crypto.canonical import parse_json
from airrc.errors import InputError

__all__ = ["MAX_ROW_ID", "BodyRefused", "BoundedJSONRoute", "RowId", "served_host"]

# Row ids, sequence numbers and cursors are 64-bit in storage; anything larger is refused at the edge.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=0, le=MAX_ROW_ID)]


async def served_host(request: Request) -> Any:
    """The object the app serves (the node); a router annotates it with the protocol it needs."""
    return request.app.state.node


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
