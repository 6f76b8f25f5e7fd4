"""What every part of the hotline shares: this node's identity, storage, peers, outbox, alerts and formats."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from airrc.alerts import Alerts
from airrc.config import RosterLevel
from airrc.crypto.keys import NodeIdentity
from airrc.federation.outbox import Outbox
from airrc.hotline.deadlines import AckWindows
from airrc.hotline.formats import FormatCatalog
from airrc.store.db import Store
from airrc.store.statements import StatementLog
from airrc.trust.peers import TrustStore

__all__ = ["HotlineContext"]


@dataclass(frozen=True)
class HotlineContext:
    node_id: str
    identity: NodeIdentity
    store: Store
    statements: StatementLog
    trust: TrustStore
    outbox: Outbox
    alerts: Alerts
    catalog: FormatCatalog
    windows: AckWindows
    roster: Sequence[RosterLevel]
    max_statement_bytes: int
    # What a channel opened "from a report" refers to (the node wires exchange's lookup: a statement id,
    # a stable report id or a key; refuses revoked reports). Without it, only exchange.report statement ids.
    report_reference: Callable[[Session, str], str] | None = None
