"""What planning, running, attesting and verifying share: this node, its storage, log, witness, peers,
the catalog and suites, and the bounds on what peers send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from airrc.crypto.keys import NodeIdentity
from airrc.ledger.log import TransparencyLog
from airrc.ledger.witness import Witness
from airrc.standards.catalog import Catalog
from airrc.standards.suites import SuiteCatalog
from airrc.store.db import Store
from airrc.store.statements import StatementLog
from airrc.trust.peers import TrustStore

__all__ = ["StandardsContext"]


@dataclass(frozen=True)
class StandardsContext:
    node_id: str
    identity: NodeIdentity
    store: Store
    statements: StatementLog
    trust: TrustStore
    log: TransparencyLog
    witness: Witness
    catalog: Catalog
    suites: SuiteCatalog
    evals_dir: Path
    max_statement_bytes: int
    max_log_bytes: int
    request_max_age: timedelta
    clock_skew: timedelta
