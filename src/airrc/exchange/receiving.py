"""What partners send: a received ``exchange.report`` stored, indexed and correlated, or withdrawn.

Runs inside the transaction that stores the statement (the service's StatementLog hook); consent
statements go to :class:`~airrc.exchange.onward.OnwardTransfer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from airrc.crypto.sealing import SealedBody, open_sealed
from airrc.exchange.bodies import ExchangeBody
from airrc.exchange.correlate import correlate
from airrc.exchange.model import ExchangeError, Report, parse_report
from airrc.exchange.onward import OnwardTransfer
from airrc.exchange.tables import ReportRow
from airrc.statements import SignedStatement
from airrc.store.db import utcnow

if TYPE_CHECKING:
    from airrc.exchange.service import ExchangeService

__all__ = ["SEVERITY_ORDER", "open_body", "receive_statement"]

SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def receive_statement(svc: ExchangeService, session: Session, signed: SignedStatement) -> None:
    """One received ``exchange.report`` (or consent statement), inside the transaction that stores it."""
    st = signed.statement
    if st.kind in OnwardTransfer.RECEIVED_KINDS:
        svc.onward.receive(session, signed)
        return
    try:
        body = ExchangeBody.model_validate(st.body)
    except ValidationError as exc:
        raise ExchangeError("malformed exchange.report body", code="exchange.malformed") from exc
    row = session.scalar(
        select(ReportRow).where(ReportRow.origin == st.issuer, ReportRow.report_id == body.report_id)
    )
    opened = open_body(svc, signed, body.sealed) if body.sealed is not None else None
    if body.action == "revoke":
        if st.tlp not in ("clear", "green") and (body.reason is not None or opened is None):
            raise ExchangeError("an AMBER revocation carries its reason sealed", code="exchange.unsealed")
        if opened is not None and not (
            isinstance(opened, dict) and set(opened) == {"reason"} and isinstance(opened["reason"], str)
        ):
            raise ExchangeError("a sealed revocation holds only its reason", code="exchange.malformed")
        if row is not None:
            row.status, row.updated_at = "revoked", utcnow()
            svc.taxii.revoke(
                session,
                svc.taxii.collection_id("from", st.issuer),
                f"report--{body.report_id}",
                at=st.issued_at_datetime,
            )
        return
    doc = opened if opened is not None else body.report
    report = parse_report(doc, received=True)
    if report.report_id != body.report_id or report.version != body.version:
        raise ExchangeError("the report does not match its statement", code="exchange.mismatch")
    if report.tlp != st.tlp:
        raise ExchangeError("the report's TLP differs from its statement's", code="exchange.mismatch")
    now = utcnow()
    if row is None:
        row = ReportRow(report_id=report.report_id, origin=st.issuer, local=False, created_at=now)
        session.add(row)
    elif row.version >= report.version:
        return  # an older or repeated version arriving late changes nothing
    for name, value in svc.row_columns(report, now, doc).items():
        setattr(row, name, value)
    row.version, row.status, row.published_at = report.version, "published", st.issued_at_datetime
    row.statement_id = st.id
    session.flush()
    _watch(svc, session, row, report, st.issuer)
    svc.index_terms(session, row, report)
    author = svc.trust.current(session, st.issuer).name
    bundle = svc.stix_bundle(report, row, st.issuer, author, view=doc)
    svc.taxii.add(session, svc.taxii.collection_id("from", st.issuer), bundle["objects"])
    correlate(session, row, report)


def _watch(svc: ExchangeService, session: Session, row: ReportRow, report: Report, issuer: str) -> None:
    watched = not svc.watch_sectors or bool(svc.watch_sectors & set(report.sectors))
    if not watched or SEVERITY_ORDER[report.severity] < SEVERITY_ORDER[svc.watch_severity]:
        return
    peer = svc.trust.current(session, issuer).name
    title = report.title.en or report.title.zh or report.report_id
    svc.alerts.raise_alert(
        session,
        "exchange.watched_report",
        f"{report.severity} report from {peer} ({', '.join(report.sectors) or 'no sector'}): {title}"
        f" — open a hotline channel: airrc hotline open {peer} --report {report.report_id}",
        severity="critical" if report.severity == "critical" else "warning",
        peer=peer,
        report_id=report.report_id,
        version=report.version,
        sectors=list(report.sectors),
    )


def open_body(svc: ExchangeService, signed: SignedStatement, sealed: SealedBody) -> Any:
    """The plaintext of a sealed exchange body addressed to this node, checked against its sender."""
    st = signed.statement
    return open_sealed(
        sealed,
        recipient=svc.identity,
        recipient_id=svc.node_id,
        sender_id=st.issuer,
        sender_verifier=svc.trust.verifier_for(st.issuer, st.issued_at_datetime),
        kind="exchange.report",
        max_bytes=svc.max_statement_bytes,
    )
