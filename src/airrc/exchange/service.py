"""Reports on a node: drafts, per-partner previews, publication as one statement per audience, updates,
revocations, what partners shared with us, correlation and search.

A report row holds the current version of one report of one origin node (ours, or a partner's view of
theirs). Its categories, sectors, techniques and observables are also written as indexed terms: search
filters and correlation read those, never the JSON.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    delete,
    select,
)
from sqlalchemy.orm import Session

from airrc.alerts import Alerts
from airrc.crypto.keys import NodeIdentity
from airrc.crypto.sealing import seal
from airrc.crypto.trust import NodeCard
from airrc.errors import Conflict, Forbidden, NotFound
from airrc.exchange.bodies import ExchangeBody, PolicyBody
from airrc.exchange.collections import TaxiiStore
from airrc.exchange.correlate import clusters, correlate, links, normalised_text, report_terms
from airrc.exchange.model import ExchangeError, Report, parse_report
from airrc.exchange.onward import Blocked, OnwardTransfer
from airrc.exchange.policy import PartnerPolicy, SharingDecision, decide, scrub_text
from airrc.exchange.receiving import receive_statement
from airrc.exchange.search import SearchQuery, report_counts, search, search_terms
from airrc.exchange.stix import report_to_bundle
from airrc.exchange.stix_import import bundle_to_reports, check_bundle, named_report_ids
from airrc.exchange.tables import ConsentRow, PolicyRow, ReportRow, ShareRow, TermRow, WordRow
from airrc.statements import SignedStatement, format_timestamp
from airrc.store.db import utcnow
from airrc.store.statements import Draft, StatementLog
from airrc.trust.peers import TrustStore

__all__ = ["ExchangeBody", "ExchangeService", "PolicyBody", "ReportRow", "SearchQuery"]


@dataclass(frozen=True)
class PublishResult:
    report: ReportRow
    decisions: list[SharingDecision]
    statements: list[str]


class ExchangeService:
    # The kinds this mechanism reads when a peer sends them (registered with the received dispatcher).
    RECEIVED_KINDS = ("exchange.report", *OnwardTransfer.RECEIVED_KINDS)

    def __init__(
        self,
        *,
        node_id: str,
        node_name: str,
        identity: NodeIdentity,
        taxii: TaxiiStore,
        statements: StatementLog,
        trust: TrustStore,
        alerts: Alerts,
        max_statement_bytes: int,
        watch_severity: str = "high",
        watch_sectors: tuple[str, ...] = (),
    ) -> None:
        self.node_id = node_id
        self.node_name = node_name
        self.identity = identity
        self.taxii = taxii
        self.statements = statements
        self.trust = trust
        self.alerts = alerts
        self.max_statement_bytes = max_statement_bytes
        self.watch_severity = watch_severity
        self.watch_sectors = frozenset(watch_sectors)
        self.onward = OnwardTransfer(node_id=node_id, statements=statements, trust=trust, alerts=alerts)

    # -- policies ------------------------------------------------------------------------------------------

    def _partner(self, session: Session, who: str) -> NodeCard:
        return self.trust.resolve(session, who)

    def _with_partner_ids(self, session: Session, report: Report) -> Report:
        """``share_with`` resolved once, here, to pinned node ids: names are never matched later."""
        if not report.share_with:
            return report
        ids = tuple(dict.fromkeys(self._partner(session, who).id for who in report.share_with))
        return report.model_copy(update={"share_with": ids})

    def set_policy(self, session: Session, partner: str, policy: PartnerPolicy) -> NodeCard:
        """Replace the policy toward ``partner``; a change is an ``exchange.policy`` statement to that
        partner, logged and delivered in this transaction (setting the same policy again issues nothing)."""
        card = self._partner(session, partner)
        row = session.get(PolicyRow, card.id)
        text = policy.model_dump_json()
        if row is not None and PartnerPolicy.model_validate_json(row.policy) == policy:
            return card
        if row is None:
            session.add(PolicyRow(partner_id=card.id, policy=text, updated_at=utcnow()))
        else:
            row.policy, row.updated_at = text, utcnow()
        self.statements.issue(
            session,
            kind="exchange.policy",
            audience=[card.id],
            tlp="amber",
            body=PolicyBody(partner=card.id, policy=policy).model_dump(mode="json"),
        )
        return card

    def policy(self, session: Session, partner: str) -> tuple[NodeCard, PartnerPolicy | None]:
        """The partner and the policy set for it (``None``: never set, the default applies)."""
        card = self._partner(session, partner)
        row = session.get(PolicyRow, card.id)
        return card, PartnerPolicy.model_validate_json(row.policy) if row is not None else None

    def policies(self, session: Session) -> dict[str, PartnerPolicy]:
        return {
            row.partner_id: PartnerPolicy.model_validate_json(row.policy)
            for row in session.scalars(select(PolicyRow))
        }

    # -- drafts ----------------------------------------------------------------------------------------------

    def create(self, session: Session, doc: dict[str, Any]) -> ReportRow:
        """A new draft from JSON (``report_id`` and ``version`` are assigned here)."""
        if not isinstance(doc, dict):
            raise ExchangeError("a report is a JSON object")
        report = self._with_partner_ids(
            session, parse_report({**doc, "report_id": str(uuid.uuid4()), "version": 1})
        )
        now = utcnow()
        row = ReportRow(
            report_id=report.report_id,
            origin=self.node_id,
            local=True,
            version=1,
            status="draft",
            created_at=now,
            **self.row_columns(report, now),
        )
        session.add(row)
        session.flush()
        self.index_terms(session, row, report)
        return row

    def edit(self, session: Session, key_or_id: str, doc: dict[str, Any]) -> ReportRow:
        """Change a draft, or start the next version of a published report (published again as an update)."""
        row = self.get(session, key_or_id, local_only=True)
        if row.status == "revoked":
            raise Conflict("a revoked report cannot be edited", code="exchange.revoked")
        version = row.version if row.status == "draft" else row.version + 1
        if not isinstance(doc, dict):
            raise ExchangeError("a report is a JSON object")
        report = self._with_partner_ids(
            session, parse_report({**doc, "report_id": row.report_id, "version": version})
        )
        for name, value in self.row_columns(report, utcnow()).items():
            setattr(row, name, value)
        row.version, row.status = version, "draft"
        self.index_terms(session, row, report)
        return row

    def row_columns(
        self, report: Report, now: datetime, view: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Row columns; a partner's report is kept exactly as its view arrived."""
        return {
            "tlp": report.tlp,
            "severity": report.severity,
            "text": normalised_text(report)[:20_000],
            "data": json.dumps(
                view if view is not None else report.to_json(), ensure_ascii=False, sort_keys=True
            ),
            "updated_at": now,
        }

    def index_terms(self, session: Session, row: ReportRow, report: Report) -> None:
        """Replace the row's search and correlation terms with those of ``report``."""
        session.execute(delete(TermRow).where(TermRow.report_key == row.key))
        session.execute(delete(WordRow).where(WordRow.report_key == row.key))
        terms = report_terms(report)
        if terms:
            session.add_all(TermRow(report_key=row.key, kind=k, value=v) for k, v in terms)
        words = search_terms(
            " ".join(t for t in (report.title.en, report.title.zh, report.summary.en, report.summary.zh) if t)
        )
        if words:
            session.add_all(WordRow(report_key=row.key, word=w) for w in words)
        session.flush()

    def get(self, session: Session, key_or_id: str | int, *, local_only: bool = False) -> ReportRow:
        query = select(ReportRow)
        text = str(key_or_id)
        if text.isascii() and text.isdigit():
            if len(text) > 19 or int(text) > 2**63 - 1:
                raise NotFound(f"no report {text[:24]}", code="exchange.unknown_report")
            query = query.where(ReportRow.key == int(text))
        else:
            query = query.where(ReportRow.report_id == text)
        if local_only:
            query = query.where(ReportRow.local.is_(True))
        row = session.scalars(query.order_by(ReportRow.local.desc())).first()
        if row is None:
            raise NotFound(f"no report {key_or_id}", code="exchange.unknown_report")
        return row

    # -- preview, publish, revoke ------------------------------------------------------------------------------

    def preview(self, session: Session, key_or_id: str) -> list[SharingDecision]:
        """For each pinned partner: whether this report would go, and exactly the JSON that would leave."""
        row = self.get(session, key_or_id, local_only=True)
        report = row.report()
        policies = self.policies(session)
        return [
            decide(report, policies.get(card.id), partner_id=card.id, partner_name=card.name)
            for card in self.trust.peers(session)
        ]

    def publish(self, session: Session, key_or_id: str) -> PublishResult:
        """One statement per partner allowed to see it, all with the same ``report_id``; sealed from AMBER up."""
        row = self.get(session, key_or_id, local_only=True)
        if row.status != "draft":
            raise Conflict(
                f"report {row.report_id} version {row.version} is already {row.status}",
                code="exchange.already_published",
            )
        report = row.report()
        decisions = self.preview(session, str(row.key))
        action: Literal["publish", "update"] = "publish" if row.version == 1 else "update"
        drafts = []
        shared = [d for d in decisions if d.shared and d.view is not None]
        self.onward.check(session, row, report, [d.partner_id for d in shared])
        for decision in shared:
            drafts.append(
                Draft(
                    kind="exchange.report",
                    audience=[decision.partner_id],
                    body=self._body(session, report, action, decision),
                    tlp=report.tlp,
                )
            )
        signed = self.statements.issue_many(session, drafts)
        now = utcnow()
        for decision, statement in zip(shared, signed, strict=True):
            session.add(
                ShareRow(
                    report_key=row.key,
                    partner_id=decision.partner_id,
                    version=row.version,
                    statement_id=statement.statement.id,
                    shared_at=now,
                )
            )
        row.status, row.published_at = "published", now
        for decision in shared:
            bundle = self.stix_bundle(report, row, self.node_id, self.node_name, view=decision.view)
            self.taxii.add(session, self.taxii.collection_id("view", decision.partner_id), bundle["objects"])
        correlate(session, row, report)
        return PublishResult(row, decisions, [s.statement.id for s in signed])

    def _shared_partners(self, session: Session, row: ReportRow) -> list[str]:
        return [d.partner_id for d in self.preview(session, str(row.key)) if d.shared]

    def onward_blocked(self, session: Session, key_or_id: str) -> list[Blocked]:
        """Which partners its sources' onward terms keep a draft from, as it would be published now."""
        row = self.get(session, key_or_id, local_only=True)
        return self.onward.blocked(session, row, row.report(), self._shared_partners(session, row))

    def request_consent(self, session: Session, key_or_id: str) -> list[ConsentRow]:
        """Ask each originator whose consent the draft needs for the partners it would reach."""
        row = self.get(session, key_or_id, local_only=True)
        return self.onward.request(session, row, row.report(), self._shared_partners(session, row))

    def stix_bundle(
        self, report: Report, row: ReportRow, author_id: str, author_name: str, *, view: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The STIX 2.1 bundle of ``report`` as authored by ``author_id``, from ``view`` when given."""
        return report_to_bundle(
            report,
            view=view,
            author_id=author_id,
            author_name=author_name,
            published=row.published_at or row.created_at,
            modified=row.updated_at,
            revoked=row.status == "revoked",
        )

    def export_stix(self, session: Session, key_or_id: str, *, partner: str | None = None) -> dict[str, Any]:
        """A report as a STIX 2.1 bundle: in full, or exactly as ``partner`` may see it."""
        row = self.get(session, key_or_id)
        report = row.report()
        if partner is None or not row.local:
            author = self.trust.current(session, row.origin).name if not row.local else self.node_name
            return self.stix_bundle(report, row, row.origin, author, view=json.loads(row.data))
        card = self._partner(session, partner)
        decision = decide(
            report, self.policies(session).get(card.id), partner_id=card.id, partner_name=card.name
        )
        if not decision.shared:
            raise Forbidden(
                f"{card.name} may not see this report: {decision.reason}", code="exchange.not_shared"
            )
        return self.stix_bundle(report, row, self.node_id, self.node_name, view=decision.view)

    def import_stix(
        self, session: Session, bundle: Any, *, origin_country: str | None, max_bytes: int = 4 << 20
    ) -> list[ReportRow]:
        """Draft reports from a STIX 2.1 bundle (ours or another tool's); all of them, or none."""
        check_bundle(bundle, max_bytes=max_bytes)
        rows = [
            self.create(session, draft) for draft in bundle_to_reports(bundle, origin_country=origin_country)
        ]
        # What the bundle names stays attached: a partner's report re-imported keeps its onward terms.
        for row in rows:
            self.onward.record_derivation(session, row, named_report_ids(bundle))
        return rows

    def _seal(self, session: Session, doc: dict[str, Any], partner_id: str) -> dict[str, Any]:
        return seal(
            doc,
            sender=self.identity,
            sender_id=self.node_id,
            recipients={partner_id: self.trust.current(session, partner_id).keys},
            kind="exchange.report",
        ).model_dump(mode="json")

    def _body(
        self, session: Session, report: Report, action: str, decision: SharingDecision
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"report_id": report.report_id, "version": report.version, "action": action}
        if report.tlp in ("clear", "green"):
            body["report"] = decision.view
        else:
            body["sealed"] = self._seal(session, decision.view or {}, decision.partner_id)
        return body

    def revoke(self, session: Session, key_or_id: str, reason: str) -> list[str]:
        """Withdraw a report from every partner that ever received it."""
        row = self.get(session, key_or_id, local_only=True)
        if row.status == "revoked":
            raise Conflict(f"report {row.report_id} is already revoked", code="exchange.revoked")
        partners = sorted(
            set(session.scalars(select(ShareRow.partner_id).where(ShareRow.report_key == row.key)))
        )
        report = row.report()
        tlp = "amber" if report.tlp == "red" else report.tlp
        # The reason is free text: scrubbed like the report's own text, and sealed from AMBER up like it.
        said = {"reason": scrub_text(reason, report.personal_names)}
        drafts = []
        for partner in partners:
            body: dict[str, Any] = {"report_id": row.report_id, "version": row.version, "action": "revoke"}
            if tlp in ("clear", "green"):
                body.update(said)
            else:
                body["sealed"] = self._seal(session, said, partner)
            drafts.append(Draft(kind="exchange.report", audience=[partner], body=body, tlp=tlp))
        signed = self.statements.issue_many(session, drafts)
        row.status, row.updated_at = "revoked", utcnow()
        for partner in partners:
            self.taxii.revoke(
                session,
                self.taxii.collection_id("view", partner),
                f"report--{row.report_id}",
                at=row.updated_at,
            )
        return [s.statement.id for s in signed]

    # -- what partners send (a StatementLog hook) --------------------------------------------------------------

    def receive(self, session: Session, signed: SignedStatement) -> None:
        """One received ``exchange.report`` (or consent statement), inside the transaction that stores it."""
        receive_statement(self, session, signed)

    def hotline_reference(self, session: Session, ref: str) -> str:
        """The exchange.report statement a hotline channel opened from ``ref`` refers to: ``ref`` is that
        statement's id, a report's stable id or its key. A revoked or never shared report opens nothing."""
        row = session.scalar(select(ReportRow).where(ReportRow.statement_id == ref))
        if row is None:
            shared = session.scalar(select(ShareRow).where(ShareRow.statement_id == ref))
            row = session.get(ReportRow, shared.report_key) if shared is not None else self.get(session, ref)
        if row is None:
            raise NotFound(f"no report {ref}", code="exchange.unknown_report")
        if row.status == "revoked":
            raise Conflict(
                f"report {row.report_id} is revoked and cannot open a hotline channel",
                code="exchange.revoked",
            )
        if not row.local and row.statement_id is not None:
            return row.statement_id
        latest = session.scalar(
            select(ShareRow.statement_id)
            .where(ShareRow.report_key == row.key)
            .order_by(ShareRow.version.desc(), ShareRow.shared_at.desc())
        )
        if latest is None:
            raise ExchangeError(
                f"report {row.report_id} was never shared: publish it first", code="exchange.not_published"
            )
        return latest

    def shares(self, session: Session, key: int) -> list[dict[str, Any]]:
        """Which partner got which version of one of our reports, and in which statement."""
        rows = session.scalars(select(ShareRow).where(ShareRow.report_key == key).order_by(ShareRow.version))
        return [
            {
                "partner_id": r.partner_id,
                "version": r.version,
                "statement": r.statement_id,
                "shared_at": format_timestamp(r.shared_at),
            }
            for r in rows
        ]

    # -- correlation and search (exchange/correlate.py, exchange/search.py) ----------------------------------

    def links(self, session: Session, key: int) -> list[dict[str, Any]]:
        return links(session, key)

    def clusters(self, session: Session) -> list[dict[str, Any]]:
        """Near-duplicate reports (across nodes), grouped."""
        return clusters(session)

    def search(self, session: Session, query: SearchQuery) -> list[ReportRow]:
        return search(session, query)

    def count(self, session: Session) -> dict[str, int]:
        return report_counts(session)
