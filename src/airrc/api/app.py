"""Builds the FastAPI application from a :class:`~airrc.node.Node`; maps error codes to HTTP in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from airrc import __version__
from airrc.api.deps import NodeDep
from airrc.api.errors import GuardEdges, install_error_handlers
from airrc.api.limits import BodySizeLimit
from airrc.console import host as console_host
from airrc.console import pages as console_pages
from airrc.control import routes as control_routes
from airrc.errors import Error
from airrc.exchange import routes as exchange_routes
from airrc.exchange import taxii as taxii_routes
from airrc.exchange import web as exchange_web
from airrc.federation import routes as federation_routes
from airrc.hotline import routes as hotline_routes
from airrc.hotline import transcript as hotline_transcript
from airrc.ledger import routes as ledger_routes
from airrc.media import routes as media_routes
from airrc.node import Node
from airrc.principals import web as principals_web
from airrc.principals.accounts import AuthenticatedPrincipal, TokenRow
from airrc.principals.web import AdminDep, CurrentPrincipal, SessionDep, WatchOfficerDep, require_roles
from airrc.routing import BoundedJSONRoute, RowId
from airrc.standards import routes as standards_routes
from airrc.statements import parse_signed_statement, verify_statement
from airrc.store.statements import StatementRow
from airrc.worker import FederationWorker, issue_ping

__all__ = ["create_app", "statement_readers"]


def _served(node: Node) -> Node:
    """The node as every router takes it; the assignments make mypy check that it provides what each needs."""
    _: tuple[
        control_routes.ControlHost,
        exchange_web.ExchangeHost,
        federation_routes.FederationHost,
        hotline_transcript.TranscriptHost,
        ledger_routes.LedgerHost,
        principals_web.SigningHost,
        principals_web.BasicHost,
        standards_routes.StandardsPeerHost,
        media_routes.MediaHost,
        console_host.ConsoleHost,
    ] = (node, node, node, node, node, node, node, node, node, node)
    return node


log = logging.getLogger(__name__)

# Who may read a stored statement, by the mechanism of its kind: the roles of that mechanism's own routes.
_READERS_BY_MECHANISM: dict[str, tuple[str, ...]] = {
    "exchange": exchange_routes.READERS,
    "hotline": hotline_routes.READERS,
    "control": control_routes.READERS,
    "standards": standards_routes.READERS,
    "media": media_routes.READERS,
    "node": ("admin", "duty_officer", "analyst", "evaluator", "approver", "observer"),
    "ledger": ("admin", "duty_officer", "analyst", "evaluator", "approver", "observer"),
    "federation": ("admin", "duty_officer"),
}


def statement_readers(kind: str) -> tuple[str, ...]:
    """The roles that may read a statement of ``kind``; a kind of no known mechanism: admins only."""
    return _READERS_BY_MECHANISM.get(kind.partition(".")[0], ("admin",))


class _NodeCollector(Collector):
    """Metrics read from storage at scrape time, so every process's alerts are counted."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def collect(self) -> Iterable[Metric]:
        alerts = GaugeMetricFamily(
            "airrc_alerts", "Alerts raised, by code, severity and state", labels=["code", "severity", "state"]
        )
        statements = GaugeMetricFamily("airrc_statements", "Statements stored", labels=["origin"])
        peers = GaugeMetricFamily("airrc_peers", "Pinned peer nodes")
        depth = GaugeMetricFamily("airrc_outbox_depth", "Statements waiting for delivery", labels=["peer"])
        oldest = GaugeMetricFamily(
            "airrc_outbox_oldest_age_seconds", "Age of the oldest undelivered statement", labels=["peer"]
        )
        failing = GaugeMetricFamily(
            "airrc_link_failing", "1 when the link to a peer is failing", labels=["peer"]
        )
        latency = GaugeMetricFamily(
            "airrc_link_latency_ms", "Latest delivery latency to a peer", labels=["peer"]
        )
        awaiting = GaugeMetricFamily(
            "airrc_hotline_unacknowledged", "Hotline messages awaiting acknowledgement", labels=["state"]
        )
        drill_ok = GaugeMetricFamily(
            "airrc_hotline_drill_ok",
            "1 when the latest link test to a peer was acknowledged",
            labels=["peer"],
        )
        drill_failures = GaugeMetricFamily(
            "airrc_hotline_drill_consecutive_failures",
            "Link tests in a row left unacknowledged",
            labels=["peer"],
        )
        drill_rtt = GaugeMetricFamily(
            "airrc_hotline_drill_round_trip_seconds", "Send to automatic acknowledgement", labels=["peer"]
        )
        with self.node.store.session() as session:
            for (code, severity, acked), count in self.node.alerts.counts(session).items():
                alerts.add_metric([code, severity, "acked" if acked else "open"], count)
            for local, count in session.execute(
                select(StatementRow.local, func.count()).group_by(StatementRow.local)
            ):
                statements.add_metric(["local" if local else "received"], count)
            cards = self.node.trust.peers(session)
            peers.add_metric([], len(cards))
            queues = {q.peer_id: q for q in self.node.outbox.stats(session)}
            for card in cards:
                queue = queues.get(card.id)
                depth.add_metric([card.name], queue.depth if queue else 0)
                oldest.add_metric([card.name], queue.oldest_age_seconds if queue else 0.0)
                link = self.node.outbox.link(session, card.id)
                failing.add_metric([card.name], 1 if link.failing else 0)
                if link.last_latency_ms is not None:
                    latency.add_metric([card.name], link.last_latency_ms)
            hotline = self.node.hotline
            for state, count in hotline.counts(session).items():
                awaiting.add_metric([state], count)
            for drill in hotline.drill_status(session):
                drill_ok.add_metric([drill["peer"]], 1 if drill["result"] == "ok" else 0)
                drill_failures.add_metric([drill["peer"]], drill["consecutive_failures"])
                if drill["round_trip_seconds"] is not None:
                    drill_rtt.add_metric([drill["peer"]], drill["round_trip_seconds"])
        yield from (alerts, statements, peers, depth, oldest, failing, latency)
        yield from (awaiting, drill_ok, drill_failures, drill_rtt)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class TokenResponse(BaseModel):
    token: str
    expires_in: int


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=64)
    password: str = Field(min_length=12, max_length=1024)
    roles: list[str] = Field(min_length=1, max_length=6)


class PingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    peer: str = Field(max_length=63)
    count: int = Field(default=1, ge=1, le=1000)


class UserPublic(BaseModel):
    id: str
    username: str
    kind: str
    roles: list[str]
    public_key: str | None
    active: bool


def _routes() -> APIRouter:
    router = APIRouter(prefix="/api/v1", route_class=BoundedJSONRoute)

    @router.post("/auth/login", response_model=TokenResponse, tags=["auth"])
    def login(body: LoginRequest, request: Request, node: NodeDep) -> TokenResponse:
        address = request.client.host if request.client else None
        token = node.login(body.username, body.password, address=address)
        return TokenResponse(token=token, expires_in=int(node.session_lifetime.total_seconds()))

    @router.post("/auth/logout", tags=["auth"])
    def logout(node: NodeDep, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
        """Revoke the token this request came with."""
        node.principals.revoke(session, principal.token_id)
        return {"revoked": principal.token_id}

    @router.get("/tokens", tags=["auth"])
    def list_tokens(node: NodeDep, session: SessionDep, _: AdminDep) -> list[dict[str, Any]]:
        return [_token_json(t, u) for t, u in node.principals.tokens(session)]

    @router.delete("/tokens/{token_id}", tags=["auth"])
    def revoke_token(
        token_id: Annotated[str, Path(max_length=32)], node: NodeDep, session: SessionDep, _: AdminDep
    ) -> dict[str, Any]:
        row = node.principals.revoke(session, token_id)
        return {"revoked": row.id}

    @router.post("/users/{username}/{action}", tags=["users"])
    def enable_or_disable_user(
        username: Annotated[str, Path(max_length=64)],
        action: Literal["enable", "disable"],
        node: NodeDep,
        session: SessionDep,
        _: AdminDep,
    ) -> dict[str, Any]:
        """Disable a principal (every token revoked; a person's key inactive in a new roster), or enable it
        again (a login lock-out cleared too)."""
        row = node.set_user_active(session, username, action == "enable")
        return {"username": row.username, "active": row.active}

    @router.get("/auth/whoami", tags=["auth"])
    def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
        return {
            "id": principal.id,
            "username": principal.username,
            "kind": principal.kind,
            "roles": sorted(principal.roles),
        }

    @router.get("/node", tags=["node"])
    def node_info(node: NodeDep, _: CurrentPrincipal) -> dict[str, Any]:
        return {"id": node.id, "name": node.name, "version": __version__, "card": node.card.to_json()}

    @router.get("/peers", tags=["node"])
    def peers(node: NodeDep, session: SessionDep, _: CurrentPrincipal) -> list[dict[str, Any]]:
        return [
            {"id": c.id, "name": c.name, "role": c.role, "serial": c.serial, "endpoints": list(c.endpoints)}
            for c in node.trust.peers(session)
        ]

    @router.get("/users", response_model=list[UserPublic], tags=["users"])
    def list_users(node: NodeDep, session: SessionDep, _: AdminDep) -> list[UserPublic]:
        return [
            UserPublic(
                id=p.id,
                username=p.username,
                kind=p.kind,
                roles=sorted(p.role_set),
                public_key=p.personal_public_key,
                active=p.active,
            )
            for p in node.principals.list(session)
        ]

    @router.post("/users", response_model=UserPublic, status_code=201, tags=["users"])
    def add_user(body: UserCreate, node: NodeDep, session: SessionDep, _: AdminDep) -> UserPublic:
        row = node.add_user(session, body.username, body.password, body.roles)
        return UserPublic(
            id=row.id,
            username=row.username,
            kind=row.kind,
            roles=sorted(row.role_set),
            public_key=row.personal_public_key,
            active=row.active,
        )

    @router.get("/alerts", tags=["alerts"])
    def list_alerts(
        node: NodeDep, session: SessionDep, _: WatchOfficerDep, include_acked: bool = False
    ) -> list[dict[str, Any]]:
        return [a.to_json() for a in node.alerts.list(session, include_acked=include_acked)]

    @router.post("/alerts/{alert_id}/ack", tags=["alerts"])
    def ack_alert(
        alert_id: RowId, node: NodeDep, session: SessionDep, who: WatchOfficerDep
    ) -> dict[str, Any]:
        return node.alerts.ack(session, alert_id, by=who.username).to_json()

    @router.post("/federation/ping", tags=["federation"])
    def ping(body: PingRequest, node: NodeDep, _: WatchOfficerDep) -> dict[str, Any]:
        """Queue link-test pings to a peer; the worker delivers them at once."""
        with node.store.read_session() as session:
            card = node.trust.by_name(session, body.peer)
        return {"peer": card.name, "statements": [issue_ping(node, card.id) for _ in range(body.count)]}

    @router.get("/statements/{statement_id}", tags=["statements"])
    def get_statement(
        statement_id: Annotated[str, Path(max_length=64)],
        node: NodeDep,
        session: SessionDep,
        principal: CurrentPrincipal,
    ) -> dict[str, Any]:
        """One statement, to those who may read its mechanism's records through that mechanism's routes."""
        signed = node.statements.get(session, statement_id)
        principal.require(*statement_readers(signed.statement.kind))
        return signed.to_json()

    @router.post("/statements/verify", tags=["statements"])
    async def verify(request: Request, node: NodeDep, _: CurrentPrincipal) -> dict[str, Any]:
        """Verify a signed statement against this node's pinned cards; answers the statement or an error."""
        limits = node.settings.limits
        raw = await request.body()
        signed = parse_signed_statement(raw, max_bytes=limits.max_statement_bytes)
        await run_in_threadpool(
            verify_statement,
            signed,
            keyring=node.trust,
            for_node=node.id,
            max_bytes=limits.max_statement_bytes,
            clock_skew=node.clock_skew,
        )
        return {"verified": True, "digest": signed.digest().hex(), "statement": signed.statement.to_json()}

    return router


def _token_json(token: TokenRow, username: str) -> dict[str, Any]:
    return {
        "id": token.id,
        "principal": username,
        "kind": token.kind,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat(),
        "revoked": token.revoked,
    }


async def _checkpoint_loop(node: Node) -> None:
    """Sign a checkpoint periodically when the log has grown (not once per entry)."""

    def sign() -> None:
        with node.store.session() as session:
            node.ledger.checkpoint(session)

    while True:
        await asyncio.sleep(node.settings.checkpoint_interval_seconds)
        try:
            await asyncio.to_thread(sign)
        except Error as exc:
            log.warning("periodic checkpoint failed: %s", exc.code)


MetricsReaderDep = Annotated[
    AuthenticatedPrincipal, Depends(require_roles("admin", "duty_officer", "monitor"))
]


def create_app(node: Node, *, background: bool = False) -> FastAPI:
    """A new application serving ``node``; no module-level state.

    With ``background`` (as ``airrc serve`` runs it) it also signs checkpoints periodically and runs the
    federation worker: delivery, catch-up, witnessing and link tests.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not background:
            yield
            return
        task = asyncio.create_task(_checkpoint_loop(node))
        worker = FederationWorker(node)
        worker.start()
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await asyncio.to_thread(worker.stop)

    app = FastAPI(title="airrc node", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.node = _served(node)
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_NodeCollector(node))

    install_error_handlers(app)

    @app.get("/healthz", tags=["node"])
    def healthz(node: NodeDep) -> dict[str, Any]:
        node.store.ping()
        return {"status": "ok", "name": node.name, "id": node.id, "version": __version__}

    @app.get("/metrics", tags=["node"])
    def metrics(_: MetricsReaderDep) -> Response:
        """Link, outbox, hotline and alert state: operators and ``monitor`` scrape accounts only."""
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.include_router(_routes())
    app.include_router(ledger_routes.router)
    app.include_router(federation_routes.router)
    app.include_router(control_routes.router)
    app.include_router(hotline_routes.router)
    app.include_router(exchange_routes.router)
    app.include_router(taxii_routes.router)
    app.include_router(standards_routes.router)
    app.include_router(standards_routes.peer_router)
    app.include_router(media_routes.router)
    app.include_router(console_pages.router)
    app.add_middleware(GuardEdges)
    app.add_middleware(BodySizeLimit, limit=node.settings.limits.max_request_bytes)
    return app
