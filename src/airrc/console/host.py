"""What the console uses of the served node (the node provides it; ``api.app`` checks that statically)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from airrc.alerts import Alerts
    from airrc.config import Settings
    from airrc.federation.outbox import Outbox
    from airrc.hotline.service import HotlineService
    from airrc.ledger.log import TransparencyLog
    from airrc.ledger.witness import Witness
    from airrc.principals.accounts import AuthenticatedPrincipal, Principals
    from airrc.store.db import Store
    from airrc.trust.peers import TrustStore

__all__ = ["ConsoleHost"]


class ConsoleHost(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def principals(self) -> Principals: ...
    @property
    def alerts(self) -> Alerts: ...
    @property
    def trust(self) -> TrustStore: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def ledger(self) -> TransparencyLog: ...
    @property
    def witness(self) -> Witness: ...
    @property
    def hotline(self) -> HotlineService: ...

    def login(self, username: str, password: str, *, address: str | None = None) -> str: ...

    def unlock_personal_key(
        self, principal: AuthenticatedPrincipal, password: str, *, address: str | None = None
    ) -> AuthenticatedPrincipal: ...
