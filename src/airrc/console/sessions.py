"""Console sign-in: a session token (the same login, password check and throttle as ``/api/v1/auth``) in
an HttpOnly cookie, a CSRF token derived from it, and an idle timeout kept in ``console_sessions``."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from sqlalchemy.orm import Session

from airrc.console.tables import ConsolePreference, ConsoleSession
from airrc.errors import AuthError, Forbidden
from airrc.principals.accounts import AuthenticatedPrincipal, Principals
from airrc.store.db import utcnow

__all__ = ["COOKIE", "ConsoleSessions", "check_csrf", "csrf_token"]

COOKIE = "airrc_console"
MAX_COOKIE = 200
# A session's last use is written at most this often: a page and its fragments are one use.
TOUCH_EVERY = timedelta(seconds=15)
_CSRF_LABEL = b"airrc/console/csrf/v1"


def csrf_token(session_token: str) -> str:
    """The CSRF token of a browser session: a keyed hash of its (HttpOnly) session token, so a page can carry
    it and another site, which reads neither, cannot forge it."""
    return hashlib.blake2b(_CSRF_LABEL, key=session_token.encode()[:64], digest_size=24).hexdigest()


def check_csrf(session_token: str, presented: str | None) -> None:
    """Raise ``console.csrf`` unless ``presented`` is this session's CSRF token."""
    if not presented or not hmac.compare_digest(presented.encode(), csrf_token(session_token).encode()):
        raise Forbidden("this form is out of date or was not sent by the console", code="console.csrf")


class ConsoleSessions:
    """Browser sessions over the node's session tokens."""

    def __init__(self, principals: Principals, *, idle: timedelta) -> None:
        self.principals = principals
        self.idle = idle

    def start(self, session: Session, token: str) -> AuthenticatedPrincipal:
        principal = self.principals.authenticate(session, token)
        session.add(ConsoleSession(token_id=principal.token_id, last_seen_at=utcnow()))
        session.flush()
        return principal

    def resume(self, session: Session, token: str | None, *, touch: bool = True) -> AuthenticatedPrincipal:
        """The signed-in principal; ``auth.unauthenticated`` without a session, ``console.session_expired``
        after the idle timeout (the token is revoked then)."""
        if not token or len(token) > MAX_COOKIE:
            raise AuthError("sign in to use the console", code="auth.unauthenticated")
        principal = self.principals.authenticate(session, token)
        row = session.get(ConsoleSession, principal.token_id)
        if row is None:
            raise AuthError("sign in to use the console", code="auth.unauthenticated")
        now = utcnow()
        if now - row.last_seen_at > self.idle:
            session.delete(row)
            self.principals.revoke(session, principal.token_id)
            session.commit()
            minutes = int(self.idle.total_seconds() // 60)
            raise AuthError(
                f"your console session ended after {minutes} minutes without use",
                code="console.session_expired",
            )
        if touch and now - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = now
        return principal

    def end(self, session: Session, token: str | None) -> None:
        if not token or len(token) > MAX_COOKIE:
            return
        try:
            principal = self.principals.authenticate(session, token)
        except AuthError:
            return
        row = session.get(ConsoleSession, principal.token_id)
        if row is not None:
            session.delete(row)
        self.principals.revoke(session, principal.token_id)

    def language(self, session: Session, principal_id: str) -> str | None:
        row = session.get(ConsolePreference, principal_id)
        return row.language if row is not None else None

    def set_language(self, session: Session, principal_id: str, language: str) -> None:
        row = session.get(ConsolePreference, principal_id)
        if row is None:
            session.add(ConsolePreference(principal_id=principal_id, language=language))
        else:
            row.language = language
