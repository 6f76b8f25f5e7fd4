"""What the inbox and the outbox share: this node's identity, storage, trust and bounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from airrc.alerts import Alerts
from airrc.store.db import Store
from airrc.store.statements import StatementLog
from airrc.trust.peers import TrustStore

__all__ = ["FederationComponent", "FederationContext"]


@dataclass(frozen=True)
class FederationContext:
    node_id: str
    store: Store
    trust: TrustStore
    statements: StatementLog
    alerts: Alerts
    max_statement_bytes: int
    max_batch_length: int
    max_request_bytes: int
    clock_skew: timedelta
    request_max_age: timedelta


class FederationComponent:
    """Base of the inbox and the outbox: the shared context, unpacked for readable code."""

    def __init__(self, context: FederationContext) -> None:
        self.context = context
        self.node_id = context.node_id
        self.store = context.store
        self.trust = context.trust
        self.statements = context.statements
        self.alerts = context.alerts
        self.max_statement_bytes = context.max_statement_bytes
        self.max_batch_length = context.max_batch_length
        self.max_request_bytes = context.max_request_bytes
        self.clock_skew = context.clock_skew
        self.request_max_age = context.request_max_age
