"""The dispatcher of received statements: each mechanism registers a handler for the kinds it reads; a
statement a peer sent goes to its kind's handler inside the transaction that stores it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from airrc.errors import Error
from airrc.statements import SignedStatement
from airrc.store.statements import StoredRow

__all__ = ["ReceivedHandler", "ReceivedStatements", "RefusalHandler"]

ReceivedHandler = Callable[[Session, SignedStatement], None]
RefusalHandler = Callable[[Session, SignedStatement, Error], object]


class ReceivedStatements:
    """A StatementLog hook. Each received statement of a registered kind runs its handler in its own
    savepoint; one the handler refuses is passed to ``refused`` (the node raises an alert) and never fails
    the batch that carried it: the sender's log holds it either way, and its siblings are still applied."""

    def __init__(self, refused: RefusalHandler) -> None:
        self._handlers: dict[str, ReceivedHandler] = {}
        self._refused = refused

    def register(self, kinds: Iterable[str], handle: ReceivedHandler) -> None:
        for kind in kinds:
            if kind in self._handlers:
                raise ValueError(f"{kind} already has a handler")
            self._handlers[kind] = handle

    def kinds(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def __call__(self, session: Session, pairs: list[tuple[SignedStatement, StoredRow]]) -> None:
        for signed, stored in pairs:
            handle = self._handlers.get(signed.statement.kind)
            if stored.local or handle is None:
                continue
            try:
                with session.begin_nested():
                    handle(session, signed)
            except Error as exc:
                self._refused(session, signed, exc)
