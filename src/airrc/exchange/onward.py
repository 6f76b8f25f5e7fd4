"""Onward transfer: a partner's terms travel with everything built on its report.

A received report says whether it may be shared onward (``jurisdiction.onward_transfer``): ``allowed``,
``with_consent`` (the default) or ``prohibited``. One of our drafts is built on it when it was imported from
a STIX bundle naming it, or when it cites one of its observables. Such a draft may go back to the originator,
and to anyone else only where the terms allow: never when prohibited, and with consent only to the partners
the originator granted in a signed ``exchange.consent_answer`` to our signed ``exchange.consent_request``.
Publishing against the terms is refused (``exchange.onward_prohibited``) before anything is issued.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from airrc.alerts import Alerts
from airrc.errors import Conflict, Forbidden, NotFound
from airrc.exchange.bodies import ConsentAnswerBody, ConsentRequestBody
from airrc.exchange.model import ExchangeError, Report
from airrc.exchange.tables import ConsentRow, DerivationRow, ReportRow, TermRow
from airrc.statements import SignedStatement
from airrc.store.db import utcnow
from airrc.store.statements import StatementLog
from airrc.trust.peers import TrustStore

__all__ = ["Blocked", "OnwardTransfer", "Restriction"]

_CHUNK = 500


@dataclass(frozen=True)
class Restriction:
    """A received report one of our drafts is built on, and the originator's terms for it."""

    source_report_id: str
    originator: str
    originator_name: str
    terms: str  # with_consent | prohibited
    why: str


@dataclass(frozen=True)
class Blocked:
    restriction: Restriction
    partners: tuple[str, ...]  # partner ids it may not reach


def _terms(row: ReportRow) -> str:
    doc = json.loads(row.data)
    jurisdiction = doc.get("jurisdiction") if isinstance(doc, dict) else None
    terms = jurisdiction.get("onward_transfer") if isinstance(jurisdiction, dict) else None
    return terms if terms in ("allowed", "with_consent", "prohibited") else "with_consent"


class OnwardTransfer:
    RECEIVED_KINDS = ("exchange.consent_request", "exchange.consent_answer")

    def __init__(self, *, node_id: str, statements: StatementLog, trust: TrustStore, alerts: Alerts) -> None:
        self.node_id = node_id
        self.statements = statements
        self.trust = trust
        self.alerts = alerts

    def _name(self, session: Session, node_id: str) -> str:
        if node_id == self.node_id:
            return "this node"
        try:
            return self.trust.current(session, node_id).name
        except NotFound:
            return node_id[:16]

    # -- what a draft is built on ----------------------------------------------------------------------------

    def record_derivation(self, session: Session, row: ReportRow, source_report_ids: Iterable[str]) -> None:
        for source in dict.fromkeys(source_report_ids):
            if session.get(DerivationRow, (row.key, source)) is None:
                session.add(DerivationRow(report_key=row.key, source_report_id=source))

    def restrictions(self, session: Session, row: ReportRow, report: Report) -> list[Restriction]:
        """Every received report ``row`` is built on whose terms are not ``allowed``."""
        why: dict[int, str] = {}
        derived = session.scalars(
            select(DerivationRow.source_report_id).where(DerivationRow.report_key == row.key)
        ).all()
        if derived:
            for key in session.scalars(
                select(ReportRow.key).where(ReportRow.local.is_(False), ReportRow.report_id.in_(derived))
            ):
                why[key] = "imported from its STIX"
        wanted = {(f"obs:{o.type}", o.value[:512]) for o in report.observables}
        values = sorted({v for _, v in wanted})
        for start in range(0, len(values), _CHUNK):
            hits = session.execute(
                select(TermRow.report_key, TermRow.kind, TermRow.value)
                .join(ReportRow, ReportRow.key == TermRow.report_key)
                .where(ReportRow.local.is_(False), TermRow.value.in_(values[start : start + _CHUNK]))
            ).all()
            for key, kind, value in hits:
                if (kind, value) in wanted:
                    why.setdefault(key, f"cites its observable {kind[4:]} {value}")
        found = []
        for source in session.scalars(select(ReportRow).where(ReportRow.key.in_(list(why)))):
            terms = _terms(source)
            if terms != "allowed":
                found.append(
                    Restriction(
                        source.report_id,
                        source.origin,
                        self._name(session, source.origin),
                        terms,
                        why[source.key],
                    )
                )
        return sorted(found, key=lambda r: (r.originator_name, r.source_report_id))

    def granted(self, session: Session, source_report_id: str, report_id: str) -> set[str]:
        rows = session.scalars(
            select(ConsentRow).where(
                ConsentRow.requester == self.node_id,
                ConsentRow.source_report_id == source_report_id,
                ConsentRow.report_id == report_id,
                ConsentRow.state == "granted",
            )
        )
        return {partner for r in rows for partner in r.partner_ids()}

    def blocked(
        self, session: Session, row: ReportRow, report: Report, partners: Iterable[str]
    ) -> list[Blocked]:
        """The partners of ``partners`` each restriction keeps ``row`` from reaching."""
        targets = tuple(dict.fromkeys(partners))
        result = []
        for restriction in self.restrictions(session, row, report):
            allowed = {restriction.originator}
            if restriction.terms == "with_consent":
                allowed |= self.granted(session, restriction.source_report_id, row.report_id)
            kept_from = tuple(p for p in targets if p not in allowed)
            if kept_from:
                result.append(Blocked(restriction, kept_from))
        return result

    def check(self, session: Session, row: ReportRow, report: Report, partners: Iterable[str]) -> None:
        """Raise ``exchange.onward_prohibited`` when ``row`` would reach a partner against a source's terms."""
        blocked = self.blocked(session, row, report, partners)
        if not blocked:
            return
        parts = []
        for b in blocked:
            names = ", ".join(self._name(session, p) for p in b.partners)
            r = b.restriction
            ask = (
                f"ask first: airrc report consent request {row.report_id}"
                if r.terms == "with_consent"
                else "remove what it took from that report"
            )
            parts.append(
                f"{r.originator_name}'s report {r.source_report_id} ({r.why}) may not be shared onward "
                f"{'at all' if r.terms == 'prohibited' else 'without its consent'}, so not to {names}; {ask}"
            )
        raise Forbidden(
            "; ".join(parts),
            code="exchange.onward_prohibited",
            sources=[
                {
                    "report_id": b.restriction.source_report_id,
                    "originator": b.restriction.originator_name,
                    "terms": b.restriction.terms,
                    "partners": [self._name(session, p) for p in b.partners],
                }
                for b in blocked
            ],
        )

    # -- asking and answering --------------------------------------------------------------------------------

    def request(
        self, session: Session, row: ReportRow, report: Report, partners: Iterable[str]
    ) -> list[ConsentRow]:
        """Ask every originator whose consent ``row`` lacks for ``partners``; one signed request each."""
        blocked = self.blocked(session, row, report, partners)
        prohibited = [b for b in blocked if b.restriction.terms == "prohibited"]
        if prohibited:
            r = prohibited[0].restriction
            raise Forbidden(
                f"{r.originator_name}'s report {r.source_report_id} may not be shared onward at all; "
                "consent cannot be asked for",
                code="exchange.onward_prohibited",
            )
        rows = []
        for b in blocked:
            body = ConsentRequestBody(
                source_report_id=b.restriction.source_report_id, report_id=row.report_id, partners=b.partners
            )
            signed = self.statements.issue(
                session,
                kind="exchange.consent_request",
                audience=[b.restriction.originator],
                tlp="amber",
                body=body.model_dump(mode="json"),
            )
            consent = ConsentRow(
                request_id=signed.statement.id,
                requester=self.node_id,
                originator=b.restriction.originator,
                source_report_id=body.source_report_id,
                report_id=body.report_id,
                partners=json.dumps(list(body.partners)),
                state="requested",
                requested_at=utcnow(),
            )
            session.add(consent)
            rows.append(consent)
        return rows

    def answer(self, session: Session, request_id: str, *, grant: bool) -> ConsentRow:
        """Grant or refuse a partner's request to share one of our reports onward: a signed answer to it."""
        consent = session.get(ConsentRow, request_id)
        if consent is None or consent.originator != self.node_id:
            raise NotFound(f"no consent request {request_id} to this node", code="exchange.unknown_consent")
        if consent.state != "requested":
            raise Conflict(
                f"consent request {request_id} is already {consent.state}", code="exchange.answered"
            )
        signed = self.statements.issue(
            session,
            kind="exchange.consent_answer",
            audience=[consent.requester],
            tlp="amber",
            body=ConsentAnswerBody(
                request=consent.request_id,
                source_report_id=consent.source_report_id,
                report_id=consent.report_id,
                partners=tuple(consent.partner_ids()),
                granted=grant,
            ).model_dump(mode="json"),
        )
        consent.state = "granted" if grant else "refused"
        consent.answered_at, consent.answer_id = utcnow(), signed.statement.id
        return consent

    def consents(self, session: Session) -> list[ConsentRow]:
        return list(session.scalars(select(ConsentRow).order_by(ConsentRow.requested_at.desc()).limit(1000)))

    def describe_partners(self, session: Session, partners: Iterable[str]) -> list[str]:
        return [self._name(session, p) for p in partners]

    def describe(self, session: Session, consent: ConsentRow) -> dict[str, Any]:
        return {
            "request_id": consent.request_id,
            "direction": "asked by us" if consent.requester == self.node_id else "asked of us",
            "requester": self._name(session, consent.requester),
            "originator": self._name(session, consent.originator),
            "source_report_id": consent.source_report_id,
            "report_id": consent.report_id,
            "partners": [self._name(session, p) for p in consent.partner_ids()],
            "state": consent.state,
        }

    # -- received ------------------------------------------------------------------------------------------

    def receive(self, session: Session, signed: SignedStatement) -> None:
        st = signed.statement
        try:
            if st.kind == "exchange.consent_request":
                self._received_request(session, st.id, st.issuer, ConsentRequestBody.model_validate(st.body))
            else:
                self._received_answer(session, st.id, st.issuer, ConsentAnswerBody.model_validate(st.body))
        except ValidationError as exc:
            raise ExchangeError(f"malformed {st.kind} body", code="exchange.malformed") from exc

    def _received_request(
        self, session: Session, request_id: str, issuer: str, body: ConsentRequestBody
    ) -> None:
        ours = session.scalar(
            select(ReportRow).where(ReportRow.local.is_(True), ReportRow.report_id == body.source_report_id)
        )
        if ours is None:
            raise ExchangeError(
                f"consent asked for {body.source_report_id}, which is not our report",
                code="exchange.not_our_report",
            )
        if session.get(ConsentRow, request_id) is not None:
            return
        session.add(
            ConsentRow(
                request_id=request_id,
                requester=issuer,
                originator=self.node_id,
                source_report_id=body.source_report_id,
                report_id=body.report_id,
                partners=json.dumps(list(body.partners)),
                state="requested",
                requested_at=utcnow(),
            )
        )
        who = self._name(session, issuer)
        names = ", ".join(self._name(session, p) for p in body.partners)
        self.alerts.raise_alert(
            session,
            "exchange.consent_requested",
            f"{who} asks to share a report built on our report {body.source_report_id} with {names}: "
            f"airrc report consent grant {request_id} (or --refuse)",
            severity="warning",
            peer=who,
            request_id=request_id,
            source_report_id=body.source_report_id,
        )

    def _received_answer(
        self, session: Session, answer_id: str, issuer: str, body: ConsentAnswerBody
    ) -> None:
        consent = session.get(ConsentRow, body.request)
        if (
            consent is None
            or consent.requester != self.node_id
            or consent.originator != issuer
            or (consent.source_report_id, consent.report_id) != (body.source_report_id, body.report_id)
            or sorted(consent.partner_ids()) != sorted(body.partners)
        ):
            raise ExchangeError("a consent answer to no request of ours", code="exchange.bad_consent")
        if consent.state != "requested":
            return
        consent.state = "granted" if body.granted else "refused"
        consent.answered_at, consent.answer_id = utcnow(), answer_id
        who = self._name(session, issuer)
        self.alerts.raise_alert(
            session,
            "exchange.consent_answered",
            f"{who} {consent.state} sharing report {consent.report_id} onward "
            f"(built on its report {consent.source_report_id})",
            severity="info",
            peer=who,
            request_id=consent.request_id,
            state=consent.state,
        )
