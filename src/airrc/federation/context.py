"""What the inbox and the outbox share: this node's identity, storage, trust and bounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from airrc.alerts import Alerts
from airrc.federation.peers import TrustStore
from airrc.store.db import Store
from airrc.store.statements import StatementLog

__all__ = ["FederationContext"]


@dataclass(frozen=True)
class FederationContext:
    node_id: str
    store: Store
    trust: TrustStore
    statements: StatementLog
    alerts: Alerts
    max_statement_bytes: int
    max_batch_length: int
    clock_skew: timedelta
    request_max_age: timedelta
