"""The HTTP dependencies every router shares: a transaction, and the authenticated caller with its roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from airrc.errors import AuthError
from airrc.principals.accounts import AuthenticatedPrincipal, Principals
from airrc.routing import served_host
from airrc.store.db import Store

__all__ = [
    "AdminDep",
    "CurrentPrincipal",
    "Host",
    "ReadSessionDep",
    "SessionDep",
    "WatchOfficerDep",
    "require_roles",
]


class Host(Protocol):
    """What authenticating a caller needs of the served node."""

    @property
    def store(self) -> Store: ...
    @property
    def principals(self) -> Principals: ...


HostDep = Annotated[Host, Depends(served_host)]


def get_session(host: HostDep) -> Iterator[Session]:
    with host.store.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_read_session(host: HostDep) -> Iterator[Session]:
    with host.store.read_session() as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


def get_principal(request: Request, host: HostDep) -> AuthenticatedPrincipal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("a bearer token is required", code="auth.unauthenticated")
    with host.store.read_session() as session:
        return host.principals.authenticate(session, token.strip())


CurrentPrincipal = Annotated[AuthenticatedPrincipal, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[[AuthenticatedPrincipal], Awaitable[AuthenticatedPrincipal]]:
    """A dependency that admits only principals holding one of ``roles``."""

    async def check(principal: CurrentPrincipal) -> AuthenticatedPrincipal:
        principal.require(*roles)
        return principal

    return check


AdminDep = Annotated[AuthenticatedPrincipal, Depends(require_roles("admin"))]
WatchOfficerDep = Annotated[AuthenticatedPrincipal, Depends(require_roles("admin", "duty_officer"))]
