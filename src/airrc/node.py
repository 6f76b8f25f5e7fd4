"""The composition root: a :class:`Node` wires settings, storage, identity, trust and services."""

from __future__ import annotations

import secrets
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal, TypeVar

from sqlalchemy.orm import Session

from airrc.alerts import AlertNotifier, Alerts
from airrc.config import NO_NODE_HINT, SETTINGS_FILE, Settings, check_country
from airrc.control.policy import load_categories
from airrc.control.service import ControlService
from airrc.crypto.canonical import canonical_bytes, parse_json
from airrc.crypto.keys import NodeIdentity, write_private_file
from airrc.crypto.trust import NodeCard, make_genesis_card, verify_card
from airrc.errors import AuthError, ConfigError, LedgerError
from airrc.exchange.collections import TaxiiStore
from airrc.exchange.service import ExchangeService
from airrc.federation.context import FederationContext
from airrc.federation.inbox import Inbox
from airrc.federation.outbox import Outbox
from airrc.hotline.context import HotlineContext
from airrc.hotline.deadlines import AckWindows
from airrc.hotline.formats import load_formats
from airrc.hotline.service import HotlineService
from airrc.ledger.audit import Progress, StorageReport, verify_storage
from airrc.ledger.log import TransparencyLog
from airrc.ledger.witness import Witness
from airrc.media.service import MediaContext, MediaService
from airrc.principals.accounts import AuthenticatedPrincipal, PrincipalRow, Principals
from airrc.principals.throttle import LoginThrottle
from airrc.standards.catalog import load_catalog
from airrc.standards.service import StandardsService
from airrc.standards.suites import load_suites
from airrc.statements import SignedStatement
from airrc.store.db import Store
from airrc.store.received import ReceivedStatements
from airrc.store.statements import StatementLog
from airrc.trust.peers import TrustStore

_T = TypeVar("_T")

__all__ = ["InitResult", "Node"]

CARD_FILE = "card.json"


@dataclass(frozen=True)
class InitResult:
    node: Node
    admin_password: str | None


class Node:
    """One sovereign airrc node."""

    def __init__(
        self, settings: Settings, *, store: Store | None = None, principals: Principals | None = None
    ) -> None:
        self.settings = settings
        self.store = store or Store(settings.resolved_database_url)
        self.identity = NodeIdentity.load(settings.keys_dir)
        self.card = _load_card(settings.home / CARD_FILE)
        if self.card.keys != self.identity.public_keys():
            raise ConfigError("the node's card does not match its keys", code="config.card_key_mismatch")
        self.trust = TrustStore(self.store)
        self.statements = StatementLog(
            node_id=self.card.id,
            signer=self.identity.signer,
            max_statement_bytes=settings.limits.max_statement_bytes,
        )
        self.alerts = Alerts(AlertNotifier(settings.alert_webhook_url, settings.alert_command))
        self.principals = principals or Principals()
        self.throttle = LoginThrottle()
        self.ledger = TransparencyLog(self.card.origin, self.identity)
        self.witness = Witness(
            name=self.card.origin,
            identity=self.identity,
            trust=self.trust,
            alerts=self.alerts,
            store=self.store,
        )
        self.statements.log_append = self._log_batch
        context = FederationContext(
            node_id=self.id,
            store=self.store,
            trust=self.trust,
            statements=self.statements,
            alerts=self.alerts,
            max_statement_bytes=settings.limits.max_statement_bytes,
            max_batch_length=settings.limits.max_batch_length,
            max_request_bytes=settings.limits.max_request_bytes,
            clock_skew=self.clock_skew,
            request_max_age=self.federation_max_age,
        )
        self.inbox = Inbox(context)
        self.outbox = Outbox(
            context,
            signing_key=self.identity.signer,
            max_backoff=timedelta(seconds=settings.federation_max_backoff_seconds),
            link_failure_after=timedelta(seconds=settings.link_failure_after_seconds),
        )
        self.statements.hooks.append(self.outbox.enqueue)
        # What peers send goes to the mechanism that reads its kind; a refusal becomes an alert.
        self.received = ReceivedStatements(refused=self.alerts.refused_statement)
        self.statements.hooks.append(self.received)
        self.control = ControlService(
            node_id=self.id,
            node_keys=self.card.keys,
            identity=self.identity,
            store=self.store,
            statements=self.statements,
            alerts=self.alerts,
            catalog=load_categories(),
        )

        formats = load_formats()
        self.hotline = HotlineService(
            HotlineContext(
                node_id=self.id,
                identity=self.identity,
                store=self.store,
                statements=self.statements,
                trust=self.trust,
                outbox=self.outbox,
                alerts=self.alerts,
                catalog=formats,
                windows=AckWindows.build(
                    formats, settings.hotline.ack_seconds, settings.hotline.peer_ack_seconds
                ),
                roster=tuple(settings.hotline.roster),
                max_statement_bytes=settings.limits.max_statement_bytes,
                # Exchange is built after the hotline; the lookup is read when a channel opens.
                report_reference=lambda session, ref: self.exchange.hotline_reference(session, ref),  # noqa: PLW0108
            )
        )
        self.received.register(HotlineService.RECEIVED_KINDS, self.hotline.receive)
        self.taxii = TaxiiStore(self.id)
        self.exchange = ExchangeService(
            node_id=self.id,
            node_name=self.name,
            identity=self.identity,
            taxii=self.taxii,
            statements=self.statements,
            trust=self.trust,
            alerts=self.alerts,
            max_statement_bytes=settings.limits.max_statement_bytes,
            watch_severity=settings.watch_severity,
            watch_sectors=tuple(settings.watch_sectors),
        )
        self.received.register(ExchangeService.RECEIVED_KINDS, self.exchange.receive)
        self.standards = StandardsService(
            node_id=self.id,
            identity=self.identity,
            store=self.store,
            statements=self.statements,
            trust=self.trust,
            log=self.ledger,
            witness=self.witness,
            catalog=load_catalog(),
            suites=load_suites(),
            evals_dir=settings.home / "evals",
            max_statement_bytes=settings.limits.max_statement_bytes,
            max_log_bytes=settings.limits.max_eval_log_bytes,
            request_max_age=self.federation_max_age,
            clock_skew=self.clock_skew,
        )

        self.media = MediaService(
            MediaContext(
                node_id=self.id,
                store=self.store,
                statements=self.statements,
                trust=self.trust,
                alerts=self.alerts,
                max_media_bytes=settings.limits.max_media_bytes,
            )
        )
        self.received.register(MediaService.RECEIVED_KINDS, self.media.receive)

    def periodic_tasks(self) -> list[tuple[str, float, Callable[[], object]]]:
        """Work the background worker runs besides federation: (name, interval seconds, function)."""
        hotline = self.settings.hotline

        def deadlines() -> object:
            with self.store.session() as session:
                return self.hotline.check_deadlines(session)

        def drills() -> object:
            with self.store.session() as session:
                return self.hotline.run_drills(
                    session, interval=timedelta(seconds=hotline.drill_interval_seconds)
                )

        return [
            ("hotline.deadlines", hotline.deadline_check_seconds, deadlines),
            ("hotline.drills", min(hotline.drill_interval_seconds, 60.0), drills),
        ]

    def _log_batch(self, session: Session, digests: list[bytes]) -> int:
        # Checkpoints are signed at the end of each batch and periodically, never once per entry.
        first = self.ledger.append(session, digests)
        if len(digests) > 1:
            self.ledger.checkpoint(session)
        return first

    @property
    def id(self) -> str:
        return self.card.id

    @property
    def name(self) -> str:
        return self.card.name

    def names(self, session: Session) -> dict[str, str]:
        """Node id -> name, for this node and every pinned peer (what tables and reports show)."""
        return {card.id: card.name for card in self.trust.peers(session)} | {self.id: self.name}

    @classmethod
    def init(
        cls,
        settings: Settings,
        *,
        name: str,
        public_urls: tuple[str, ...] = (),
        admin_username: str = "admin",
        admin_password: str | None = None,
        principals: Principals | None = None,
        role: Literal["member", "observer"] = "member",
        country: str,
    ) -> InitResult:
        """Create a new node under ``settings.home``: keys, genesis card, schema, first admin, roster.

        ``country`` (ISO 3166-1 alpha-2) is written to the home's ``airrc.toml``: it is the origin of
        reports imported from other tools (TAXII inbox, ``airrc exchange import``)."""
        home = settings.home
        if (home / CARD_FILE).exists() or (settings.keys_dir / "node-keys.json").exists():
            raise ConfigError(f"{home} already holds a node", code="config.already_initialised")
        country = check_country(country)
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        settings_file = home / SETTINGS_FILE
        existing = settings_file.read_text() if settings_file.exists() else ""
        if "country" not in tomllib.loads(existing):
            # A top-level key must precede any [table] of the file.
            write_private_file(settings_file, f'country = "{country}"\n'.encode() + existing.encode())
        settings = settings.model_copy(update={"country": country})
        identity = NodeIdentity.generate()
        card = make_genesis_card(
            identity, name=name, endpoints=public_urls or tuple(settings.public_urls), role=role
        )
        identity.save(settings.keys_dir)
        write_private_file(home / CARD_FILE, canonical_bytes(card.to_json()))
        node = cls(settings, principals=principals)
        node.store.upgrade()
        generated = admin_password is None
        password = admin_password if admin_password is not None else secrets.token_urlsafe(18)
        with node.store.session() as session:
            node.trust.pin_chain(session, [card], is_self=True)
            node.principals.add_user(session, admin_username, password, ["admin"])
            node.publish_roster(session)
        return InitResult(node, password if generated else None)

    def add_user(self, session: Session, username: str, password: str, roles: list[str]) -> PrincipalRow:
        """Add a person and publish the new roster in the same transaction."""
        row = self.principals.add_user(session, username, password, roles)
        self.publish_roster(session)
        return row

    def set_user_active(self, session: Session, username: str, active: bool) -> PrincipalRow:
        """Disable (tokens revoked, personal key marked inactive in a new roster) or enable a principal."""
        row = self.principals.set_active(session, username, active)
        if active:
            self.throttle.unlock(session, username)
        if row.kind == "user":
            self.publish_roster(session)
        return row

    def login(self, username: str, password: str, *, address: str | None = None) -> str:
        """A session token, unless this user or address is throttled; failures are counted, and a lock-out
        raises an alert."""
        return self._throttled(
            username,
            address,
            lambda: self.principals.login(self.store, username, password, lifetime=self.session_lifetime),
        )

    def authenticate_password(
        self, username: str, password: str, *, address: str | None = None
    ) -> AuthenticatedPrincipal:
        """The user for HTTP Basic credentials (TAXII clients), throttled and counted exactly as a login;
        the personal key stays locked."""

        def check() -> AuthenticatedPrincipal:
            with self.store.read_session() as session:
                row = self.principals.check_password(session, username, password)
                return AuthenticatedPrincipal(row.id, row.username, "user", row.role_set, "basic")

        return self._throttled(username, address, check)

    def unlock_personal_key(
        self, principal: AuthenticatedPrincipal, password: str, *, address: str | None = None
    ) -> AuthenticatedPrincipal:
        """``principal`` (authenticated by its token) with its personal key, for one signing act; the
        password is throttled and counted as a login is."""

        def unlock() -> AuthenticatedPrincipal:
            with self.store.read_session() as session:
                signer = self.principals.unlock(
                    session, principal.username, password, token_id=principal.token_id
                )
            if signer.id != principal.id:
                raise AuthError("invalid username or password", code="auth.bad_credentials")
            return signer

        return self._throttled(principal.username, address, unlock)

    def _throttled(self, username: str, address: str | None, attempt: Callable[[], _T]) -> _T:
        with self.store.read_session() as session:
            self.throttle.check(session, username, address)
        try:
            result = attempt()
        except AuthError:
            with self.store.session() as session:
                if self.throttle.failed(session, username, address):
                    self.alerts.raise_alert(
                        session,
                        "auth.locked_out",
                        f"{username!r} is locked out after {self.throttle.lock_after} failed logins",
                        severity="warning",
                        user=username[:64],
                        address=address,
                    )
            raise
        with self.store.session() as session:
            self.throttle.succeeded(session, username, address)
        return result

    def publish_roster(self, session: Session) -> SignedStatement:
        roster = self.principals.roster(session)
        return self.statements.issue(session, kind="node.roster", body=roster.model_dump(mode="json"))

    def verify_ledger(self, progress: Progress | None = None) -> StorageReport:
        """Recompute the log from storage; a failure is also raised as a critical alert."""
        try:
            with self.store.session() as session:
                return verify_storage(session, self.ledger, self.card_chain(), self.trust, progress)
        except LedgerError as exc:
            with self.store.session() as session:
                self.alerts.raise_alert(
                    session,
                    exc.code,
                    f"ledger verification failed: {exc.message}",
                    severity="critical",
                    **exc.details,
                )
            raise

    def card_chain(self) -> list[NodeCard]:
        with self.store.session() as session:
            return self.trust.chain(session, self.id)

    @property
    def federation_max_age(self) -> timedelta:
        return timedelta(seconds=self.settings.federation_max_age_seconds)

    @property
    def clock_skew(self) -> timedelta:
        return timedelta(seconds=self.settings.limits.clock_skew_seconds)

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(hours=self.settings.session_hours)

    def close(self) -> None:
        self.store.dispose()


def _load_card(path: Path) -> NodeCard:
    try:
        doc = parse_json(path.read_bytes(), max_bytes=1 << 20)
    except FileNotFoundError as exc:
        raise ConfigError(f"no node at {path.parent}: {NO_NODE_HINT}", code="config.not_initialised") from exc
    return verify_card(NodeCard.model_validate(doc)) if isinstance(doc, dict) else _bad_card(path)


def _bad_card(path: Path) -> NodeCard:
    raise ConfigError(f"{path} is not a node card", code="config.bad_card")
