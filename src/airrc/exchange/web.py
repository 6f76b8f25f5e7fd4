"""What the exchange's REST and TAXII routes use of the node they are served by."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends
from sqlalchemy.orm import Session

from airrc.exchange.collections import TaxiiStore
from airrc.exchange.service import ExchangeService
from airrc.routing import served_host
from airrc.trust.host import TrustHost

__all__ = ["ExchangeHost", "NodeDep"]


class ExchangeHost(TrustHost, Protocol):
    @property
    def name(self) -> str: ...
    @property
    def exchange(self) -> ExchangeService: ...
    @property
    def taxii(self) -> TaxiiStore: ...
    def names(self, session: Session) -> dict[str, str]: ...


NodeDep = Annotated[ExchangeHost, Depends(served_host)]
