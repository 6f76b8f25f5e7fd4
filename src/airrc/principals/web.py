"""The HTTP dependencies every router shares: a transaction, and the authenticated caller with its roles."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from airrc.errors import AuthError, Forbidden
from airrc.principals.accounts import AuthenticatedPrincipal, PrincipalRow, Principals
from airrc.routing import served_host
from airrc.store.db import Store

__all__ = [
    "AdminDep",
    "BasicHost",
    "BearerOrBasicPrincipal",
    "CurrentPrincipal",
    "Host",
    "ReadSessionDep",
    "SessionDep",
    "SigningHost",
    "SigningHostDep",
    "WatchOfficerDep",
    "require_roles",
    "unlock_for_signing",
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


class BasicHost(Host, Protocol):
    """A host that also checks a user's password, throttled as its logins are."""

    def authenticate_password(
        self, username: str, password: str, *, address: str | None = None
    ) -> AuthenticatedPrincipal: ...


BasicHostDep = Annotated[BasicHost, Depends(served_host)]
MAX_BASIC_CREDENTIALS = 1024


class _VerifiedCredentials:
    """Basic credentials verified in the last minute, kept only as a keyed hash, so a TAXII client that
    sends them with every request does not cost an argon2 run (and a write) each time."""

    lifetime = 60.0

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._seen: dict[bytes, tuple[str, float]] = {}

    def _digest(self, username: str, password: str) -> bytes:
        material = username.encode() + b"\x00" + password.encode()
        return hashlib.blake2b(material, key=self._key, digest_size=32).digest()

    def get(self, username: str, password: str) -> str | None:
        with self._lock:
            found = self._seen.get(self._digest(username, password))
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def put(self, username: str, password: str, principal_id: str) -> None:
        with self._lock:
            now = time.monotonic()
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if v[1] >= now}
            self._seen[self._digest(username, password)] = (principal_id, now + self.lifetime)


_VERIFIED = _VerifiedCredentials()


def _basic_credentials(token: str) -> tuple[str, str]:
    if len(token) > MAX_BASIC_CREDENTIALS:
        raise AuthError("invalid username or password", code="auth.bad_credentials")
    try:
        username, sep, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise AuthError("malformed Basic credentials", code="auth.bad_credentials") from exc
    if not sep or not username:
        raise AuthError("malformed Basic credentials", code="auth.bad_credentials")
    return username, password


def get_principal_or_basic(request: Request, host: BasicHostDep) -> AuthenticatedPrincipal:
    """A bearer token, or HTTP Basic with a user's password (RFC 7617; what TAXII 2.1 clients send)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return get_principal(request, host)
    username, password = _basic_credentials(token.strip())
    known = _VERIFIED.get(username, password)
    if known is not None:
        with host.store.read_session() as session:
            row = session.get(PrincipalRow, known)
            # A user disabled or re-roled since is seen at once; only the password check is remembered.
            if row is not None and row.active and row.username == username:
                return AuthenticatedPrincipal(row.id, row.username, "user", row.role_set, "basic")
    address = request.client.host if request.client else None
    principal = host.authenticate_password(username, password, address=address)
    _VERIFIED.put(username, password, principal.id)
    return principal


BearerOrBasicPrincipal = Annotated[AuthenticatedPrincipal, Depends(get_principal_or_basic)]


class SigningHost(Host, Protocol):
    """A host that unlocks a person's key for one signing act, throttled as its logins are."""

    def unlock_personal_key(
        self, principal: AuthenticatedPrincipal, password: str, *, address: str | None = None
    ) -> AuthenticatedPrincipal: ...


SigningHostDep = Annotated[SigningHost, Depends(served_host)]


def unlock_for_signing(
    request: Request, host: SigningHost, principal: AuthenticatedPrincipal, password: str | None
) -> AuthenticatedPrincipal:
    """The caller with their personal key, for this request only: a token never carries the key, so a
    signing act sends the person's password with it (``auth.key_locked`` without it)."""
    if principal.kind != "user":
        raise Forbidden("only a person signs personally", code="auth.key_locked")
    if not password:
        raise Forbidden(
            'a personal signature needs your password in this request (field "password")',
            code="auth.key_locked",
        )
    address = request.client.host if request.client else None
    return host.unlock_personal_key(principal, password, address=address)


def require_roles(*roles: str) -> Callable[[AuthenticatedPrincipal], Awaitable[AuthenticatedPrincipal]]:
    """A dependency that admits only principals holding one of ``roles``."""

    async def check(principal: CurrentPrincipal) -> AuthenticatedPrincipal:
        principal.require(*roles)
        return principal

    return check


AdminDep = Annotated[AuthenticatedPrincipal, Depends(require_roles("admin"))]
WatchOfficerDep = Annotated[AuthenticatedPrincipal, Depends(require_roles("admin", "duty_officer"))]
