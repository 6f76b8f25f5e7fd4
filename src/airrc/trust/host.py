"""What most routers use of the node they are served by: its settings, storage and pinned peers."""

from __future__ import annotations

from typing import Protocol

from airrc.config import Settings
from airrc.store.db import Store
from airrc.trust.peers import TrustStore

__all__ = ["TrustHost"]


class TrustHost(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def trust(self) -> TrustStore: ...
