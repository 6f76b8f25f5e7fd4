"""FastAPI dependencies: the node, a transaction, and the authenticated caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from airrc.api.auth import AuthenticatedPrincipal
from airrc.errors import AuthError
from airrc.node import Node

__all__ = [
    "AdminDep",
    "CurrentPrincipal",
    "NodeDep",
    "ReadSessionDep",
    "SessionDep",
    "WatchOfficerDep",
    "require_roles",
]


# Dependencies that do no I/O are async: FastAPI runs sync ones in the thread pool, one hop each.
async def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


NodeDep = Annotated[Node, Depends(get_node)]


def get_session(node: NodeDep) -> Iterator[Session]:
    with node.store.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_read_session(node: NodeDep) -> Iterator[Session]:
    with node.store.read_session() as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


def get_principal(request: Request, node: NodeDep) -> AuthenticatedPrincipal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("a bearer token is required", code="auth.unauthenticated")
    with node.store.read_session() as session:
        return node.principals.authenticate(session, token.strip())


CurrentPrincipal = Annotated[AuthenticatedPrincipal, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[[AuthenticatedPrincipal], Awaitable[AuthenticatedPrincipal]]:
    """A dependency that admits only principals holding one of ``roles``."""

    async def check(principal: CurrentPrincipal) -> AuthenticatedPrincipal:
        principal.require(*roles)
        return principal

    return check


AdminDep = Annotated[AuthenticatedPrincipal, Depends(require_roles("admin"))]
WatchOfficerDep = Annotated[AuthenticatedPrincipal, Depends(require_roles("admin", "duty_officer"))]
