"""Alerts: the one place every mechanism raises what an operator must see.

An alert is a row (kept with the transaction that found the problem), counted on ``/metrics``, listed and
acknowledged with ``airrc alerts``, and optionally pushed to a webhook or a command after commit.
"""

from __future__ import annotations

import builtins
import json
import logging
import subprocess
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import httpx
from sqlalchemy import BigInteger, Integer, LargeBinary, String, event, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from airrc.errors import Conflict, Error, NotFound
from airrc.store.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from airrc.statements import SignedStatement

__all__ = ["Alert", "AlertNotifier", "Alerts", "Severity", "notify_after_commit"]

log = logging.getLogger(__name__)
Severity = Literal["info", "warning", "critical"]
MAX_DETAILS = 16 * 1024


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    code: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    message: Mapped[str] = mapped_column(String(500), nullable=False)
    details: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, default=b"{}")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "details": json.loads(self.details),
            "raised_at": self.raised_at.isoformat(),
            "acked_at": self.acked_at.isoformat() if self.acked_at else None,
            "acked_by": self.acked_by,
        }


class AlertNotifier:
    """Pushes a raised alert to a webhook and/or a command, off the caller's thread, never raising."""

    def __init__(self, webhook_url: str | None, command: Sequence[str] | None) -> None:
        self.webhook_url = webhook_url
        self.command = list(command) if command else None

    def notify(self, alert: dict[str, Any]) -> threading.Thread | None:
        if not self.webhook_url and not self.command:
            return None
        thread = threading.Thread(target=self._deliver, args=(alert,), daemon=True, name="alert-notify")
        thread.start()
        return thread

    def _deliver(self, alert: dict[str, Any]) -> None:
        payload = json.dumps(alert).encode()
        if self.webhook_url:
            try:
                httpx.post(
                    self.webhook_url,
                    content=payload,
                    timeout=10,
                    headers={"content-type": "application/json"},
                )
            except httpx.HTTPError as exc:
                log.warning("alert webhook failed: %s", type(exc).__name__)
        if self.command:
            try:
                subprocess.run(self.command, input=payload, timeout=30, check=False, capture_output=True)
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("alert command failed: %s", type(exc).__name__)


def notify_after_commit(session: Session, notifier: AlertNotifier, payload: dict[str, Any]) -> None:
    """Notify once ``session``'s transaction commits, never for one that rolls back."""

    def _after_commit(_session: Session) -> None:
        notifier.notify(payload)

    event.listen(session, "after_commit", _after_commit, once=True)


class Alerts:
    """Raise, list and acknowledge alerts."""

    def __init__(self, notifier: AlertNotifier | None = None) -> None:
        self.notifier = notifier or AlertNotifier(None, None)

    def raise_alert(
        self, session: Session, code: str, message: str, *, severity: Severity = "warning", **details: Any
    ) -> Alert:
        """Record an alert in ``session``'s transaction; notification happens once it commits."""
        encoded = json.dumps(details, default=str, sort_keys=True).encode()
        if len(encoded) > MAX_DETAILS:
            encoded = json.dumps({"truncated": True}).encode()
        alert = Alert(
            code=code, severity=severity, message=message[:500], details=encoded, raised_at=utcnow()
        )
        session.add(alert)
        session.flush()
        notify_after_commit(session, self.notifier, alert.to_json())
        return alert

    def refused_statement(self, session: Session, signed: SignedStatement, exc: Error) -> Alert:
        """A received statement its mechanism refused: alerted, with the refusal's code."""
        st = signed.statement
        return self.raise_alert(
            session,
            exc.code,
            f"a {st.kind} statement from {st.issuer[:16]} was not accepted: {exc.message}",
            statement=st.id,
        )

    def list(self, session: Session, *, include_acked: bool = False, limit: int = 100) -> list[Alert]:
        query = select(Alert).order_by(Alert.id.desc()).limit(min(limit, 1000))
        if not include_acked:
            query = query.where(Alert.acked_at.is_(None))
        return list(session.scalars(query))

    def ack(self, session: Session, alert_id: int, *, by: str) -> Alert:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise NotFound(f"no alert {alert_id}", code="alert.not_found")
        if alert.acked_at is not None:
            raise Conflict(f"alert {alert_id} is already acknowledged", code="alert.already_acked")
        alert.acked_at = utcnow()
        alert.acked_by = by
        return alert

    def resolve(self, session: Session, code: str, *, by: str, **details: Any) -> builtins.list[Alert]:
        """Acknowledge the open alerts of ``code`` whose details hold ``details``: the condition they
        reported is over (a FLASH message acknowledged, say). Returns those acknowledged."""
        done = []
        for alert in session.scalars(select(Alert).where(Alert.code == code, Alert.acked_at.is_(None))):
            held = json.loads(alert.details or b"{}")
            if all(held.get(key) == value for key, value in details.items()):
                alert.acked_at, alert.acked_by = utcnow(), by
                done.append(alert)
        return done

    def counts(self, session: Session) -> dict[tuple[str, str, bool], int]:
        """(code, severity, acknowledged) -> number of alerts, for ``/metrics``."""
        rows = session.execute(
            select(Alert.code, Alert.severity, Alert.acked_at.is_not(None), func.count()).group_by(
                Alert.code, Alert.severity, Alert.acked_at.is_not(None)
            )
        )
        return {(code, sev, bool(acked)): int(n) for code, sev, acked, n in rows}
