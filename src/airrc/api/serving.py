"""The HTTP server's guard against slow clients (slowloris): uvicorn bounds idle keep-alive time but not
how long a client may take to send its headers or its body; this protocol closes such connections."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["guarded_protocol"]


def guarded_protocol(*, header_timeout: float, body_timeout: float) -> type[H11Protocol]:
    """An h11 protocol that closes a connection whose request headers take longer than ``header_timeout``
    seconds (from connection or the previous response), or whose body takes longer than ``body_timeout``."""

    class GuardedH11Protocol(H11Protocol):
        _guard: asyncio.TimerHandle | None = None
        _armed_for: Any = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_headers()

        def handle_events(self) -> None:
            before = self.cycle
            super().handle_events()
            if self.cycle is not None and self.cycle is not before:
                self._disarm()
                if self.cycle.more_body:
                    self._guard = self.loop.call_later(body_timeout, self._body_deadline, self.cycle)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm_headers(self) -> None:
            self._disarm()
            self._armed_for = self.cycle
            self._guard = self.loop.call_later(header_timeout, self._header_deadline)

        def _disarm(self) -> None:
            if self._guard is not None:
                self._guard.cancel()
                self._guard = None

        def _header_deadline(self) -> None:
            # No new request began since the timer was armed: the headers are too slow (or never came).
            if self.cycle is self._armed_for and not self.transport.is_closing():
                self.transport.close()

        def _body_deadline(self, cycle: Any) -> None:
            if self.cycle is cycle and cycle.more_body and not cycle.response_started:
                self.transport.close()

    return GuardedH11Protocol
