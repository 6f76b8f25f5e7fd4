"""Login throttling, per user and per client address, kept in the database so every worker agrees.

After ``free`` consecutive failures a key must wait 2^(n - free) seconds (capped) since its last failure
before a password is even checked; a user reaching ``lock_after`` failures is locked out until an admin
unlocks them (an alert is raised once). A correct password clears the user's and the address's count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from airrc.errors import Throttled
from airrc.principals.tables import LoginFailure
from airrc.store.db import utcnow

__all__ = ["LoginFailure", "LoginThrottle"]


@dataclass(frozen=True)
class LoginThrottle:
    free_per_user: int = 5
    free_per_address: int = 20
    lock_after: int = 20
    max_wait: timedelta = timedelta(minutes=15)

    def check(
        self, session: Session, username: str, address: str | None, *, now: datetime | None = None
    ) -> None:
        """Raise :class:`Throttled` while this user or address must wait (or the user is locked out)."""
        moment = now or utcnow()
        for key, free in self._keys(username, address):
            row = session.get(LoginFailure, key)
            if row is None:
                continue
            if row.locked:
                raise Throttled(
                    "this account is locked after repeated failed logins; an admin must unlock it",
                    retry_after=int(self.max_wait.total_seconds()),
                    code="auth.locked_out",
                )
            if row.failures >= free:
                wait = min(self.max_wait, timedelta(seconds=2 ** min(row.failures - free, 20)))
                left = row.last_failure_at + wait - moment
                if left > timedelta(0):
                    raise Throttled(
                        f"too many failed logins; retry in {int(left.total_seconds()) + 1} s",
                        retry_after=int(left.total_seconds()) + 1,
                    )

    def failed(self, session: Session, username: str, address: str | None) -> bool:
        """Count a failure; True when this failure locked the user out (raise the alert then)."""
        locked_now = False
        for key, _free in self._keys(username, address):
            row = session.get(LoginFailure, key)
            if row is None:
                row = LoginFailure(key=key, failures=0, last_failure_at=utcnow(), locked=False)
                session.add(row)
            row.failures += 1
            row.last_failure_at = utcnow()
            if key.startswith("user:") and row.failures >= self.lock_after and not row.locked:
                row.locked = locked_now = True
        session.flush()
        return locked_now

    def succeeded(self, session: Session, username: str, address: str | None) -> None:
        keys = [k for k, _ in self._keys(username, address)]
        session.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys)))

    def unlock(self, session: Session, username: str) -> bool:
        """Clear a user's failures and lock-out; False if there was nothing to clear."""
        done = session.execute(delete(LoginFailure).where(LoginFailure.key == f"user:{username}"))
        return bool(getattr(done, "rowcount", 0))

    def locked(self, session: Session) -> list[str]:
        rows = session.scalars(select(LoginFailure.key).where(LoginFailure.locked.is_(True)))
        return sorted(k.removeprefix("user:") for k in rows)

    def _keys(self, username: str, address: str | None) -> list[tuple[str, int]]:
        keys = [(f"user:{username[:64]}", self.free_per_user)]
        if address:
            keys.append((f"addr:{address[:64]}", self.free_per_address))
        return keys
