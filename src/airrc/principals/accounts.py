"""People and programs: users with roles and personal signing keys, AI service principals, tokens.

A user's personal key is hybrid (Ed25519 + ML-DSA-65, like the node's) and encrypted at rest under a key
derived from their password (argon2id). No token ever carries it: a signing act (an acknowledgement, a
vote) needs the person's password at that moment (:meth:`Principals.unlock`), and the key lives only for
that one request.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import os
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from sqlalchemy import select
from sqlalchemy.orm import Session

from airrc.crypto.signing import HybridSignature, HybridSigner
from airrc.errors import AuthError, Conflict, Forbidden, InputError, NotFound
from airrc.principals.tables import PrincipalRow, TokenRow
from airrc.statements import RosterBody, RosterEntry
from airrc.store.db import Store, utcnow

__all__ = [
    "HUMAN_ROLES",
    "SERVICE_ROLES",
    "AuthenticatedPrincipal",
    "PrincipalRow",
    "Principals",
    "Role",
    "TokenRow",
]

Role = Literal[
    "admin", "duty_officer", "analyst", "evaluator", "approver", "observer", "ai_system", "monitor"
]
HUMAN_ROLES: frozenset[str] = frozenset(
    {"admin", "duty_officer", "analyst", "evaluator", "approver", "observer"}
)
# AI systems may request and read, never approve, acknowledge or administer. ``monitor`` only scrapes
# /metrics (a Prometheus service account), which no partner's reader token may do.
SERVICE_ROLES: frozenset[str] = frozenset({"ai_system", "analyst", "observer", "monitor"})
ALL_ROLES: frozenset[str] = frozenset(get_args(Role))
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
# v1 sealed an Ed25519 key alone; v2 seals the hybrid key (Ed25519 private key, then the ML-DSA-65 seed).
KEY_AAD = b"airrc/personal-key/v2\n"
LEGACY_KEY_AAD = b"airrc/personal-key/v1\n"
MAX_TOKEN = timedelta(days=366)
TOKEN_PREFIX = "airrc"  # noqa: S105 - a label, not a secret


@dataclass(frozen=True)
class AuthenticatedPrincipal:
    """Who is calling; with their personal key only inside a request that carried their password."""

    id: str
    username: str
    kind: Literal["user", "service"]
    roles: frozenset[str]
    token_id: str
    personal_key: HybridSigner | None = field(default=None, repr=False)

    def require(self, *roles: str) -> None:
        """Raise ``auth.forbidden`` unless the principal holds one of ``roles``."""
        if not self.roles & set(roles):
            raise Forbidden(f"requires one of the roles: {', '.join(sorted(roles))}")

    def sign_personally(self, message: bytes) -> HybridSignature:
        """Both halves of the personal key over ``message`` (domain-separated by its maker)."""
        if self.personal_key is None:
            raise Forbidden(
                "a personal signature needs your password at the moment of signing", code="auth.key_locked"
            )
        return self.personal_key.sign_message(message)

    def personal_public_keys(self) -> tuple[str, str]:
        if self.personal_key is None:
            raise Forbidden(
                "a personal signature needs your password at the moment of signing", code="auth.key_locked"
            )
        return self.personal_key.public_b64()


@dataclass(frozen=True)
class KdfParams:
    """argon2id parameters for password hashing and key derivation (RFC 9106 second recommendation)."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 1


class Principals:
    """Create, authenticate and list people and AI systems."""

    def __init__(self, kdf: KdfParams | None = None) -> None:
        self.kdf = kdf or KdfParams()
        self._hasher = PasswordHasher(
            time_cost=self.kdf.time_cost, memory_cost=self.kdf.memory_kib, parallelism=self.kdf.parallelism
        )
        self._dummy: str | None = None

    @property
    def _dummy_hash(self) -> str:
        # Compared against when the user is unknown, so a login takes as long either way.
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    # -- creation ----------------------------------------------------------------------------------------

    def add_user(self, session: Session, username: str, password: str, roles: Iterable[str]) -> PrincipalRow:
        role_set = _check_roles(roles, HUMAN_ROLES, "user")
        _check_username(username)
        _check_password(password)
        self._ensure_free(session, username)
        user_id = str(uuid.uuid4())
        personal = HybridSigner.generate()
        ed_public, pq_public = personal.public_b64()
        salt = os.urandom(16)
        row = PrincipalRow(
            id=user_id,
            username=username,
            kind="user",
            roles=",".join(sorted(role_set)),
            password_hash=self._hasher.hash(password),
            personal_public_key=ed_public,
            personal_pq_public_key=pq_public,
            personal_key_sealed=self._seal_personal_key(personal, password, salt, user_id),
            key_salt=salt,
            active=True,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return row

    def add_service(self, session: Session, name: str, roles: Iterable[str] = ("ai_system",)) -> PrincipalRow:
        role_set = _check_roles(roles, SERVICE_ROLES, "AI system")
        _check_username(name)
        self._ensure_free(session, name)
        row = PrincipalRow(
            id=str(uuid.uuid4()),
            username=name,
            kind="service",
            roles=",".join(sorted(role_set)),
            active=True,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return row

    def _ensure_free(self, session: Session, username: str) -> None:
        if session.scalar(select(PrincipalRow.id).where(PrincipalRow.username == username)) is not None:
            raise Conflict(f"a principal named {username!r} exists", code="auth.principal_exists")

    def get(self, session: Session, username: str) -> PrincipalRow:
        row = session.scalar(select(PrincipalRow).where(PrincipalRow.username == username))
        if row is None:
            raise NotFound(f"no principal named {username!r}", code="auth.no_such_principal")
        return row

    def list(self, session: Session) -> list[PrincipalRow]:
        return list(session.scalars(select(PrincipalRow).order_by(PrincipalRow.username)))

    # -- passwords and personal keys ---------------------------------------------------------------------

    def _derive(self, password: str, salt: bytes) -> bytes:
        return bytes(
            hash_secret_raw(
                password.encode(),
                salt,
                time_cost=self.kdf.time_cost,
                memory_cost=self.kdf.memory_kib,
                parallelism=self.kdf.parallelism,
                hash_len=32,
                type=Type.ID,
            )
        )

    def _seal_personal_key(self, key: HybridSigner, password: str, salt: bytes, user_id: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + ChaCha20Poly1305(self._derive(password, salt)).encrypt(
            nonce, key.private_bytes(), KEY_AAD + user_id.encode()
        )

    def _unlock_personal_key(self, row: PrincipalRow, password: str) -> HybridSigner:
        if row.personal_key_sealed is None or row.key_salt is None:
            raise AuthError("this principal has no personal key", code="auth.no_personal_key")
        sealed = row.personal_key_sealed
        cipher = ChaCha20Poly1305(self._derive(password, row.key_salt))
        try:
            raw = cipher.decrypt(sealed[:12], sealed[12:], KEY_AAD + row.id.encode())
        except InvalidTag as exc:
            try:
                cipher.decrypt(sealed[:12], sealed[12:], LEGACY_KEY_AAD + row.id.encode())
            except InvalidTag:
                raise AuthError("invalid username or password", code="auth.bad_credentials") from exc
            # Never upgraded in place: a new key must reach peers in a roster, so an admin re-creates the user.
            raise AuthError(
                f"{row.username}'s personal key is Ed25519 alone (made before hybrid personal keys); an admin "
                "must give them a new account",
                code="auth.legacy_personal_key",
            ) from exc
        return HybridSigner.from_private_bytes(raw)

    def check_password(self, session: Session, username: str, password: str) -> PrincipalRow:
        """The active user with this password; otherwise ``auth.bad_credentials`` after equal work."""
        if len(password) > MAX_PASSWORD:
            raise AuthError("invalid username or password", code="auth.bad_credentials")
        row = session.scalar(select(PrincipalRow).where(PrincipalRow.username == username))
        known = row is not None and row.password_hash is not None
        try:
            self._hasher.verify(
                row.password_hash if row is not None and row.password_hash else self._dummy_hash, password
            )
            verified = True
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            verified = False
        if row is None or not (known and verified and row.active and row.kind == "user"):
            raise AuthError("invalid username or password", code="auth.bad_credentials")
        return row

    def unlock(
        self,
        session: Session,
        username: str,
        password: str,
        *,
        token_id: str = "cli",  # noqa: S107 - a label
    ) -> AuthenticatedPrincipal:
        """The user, acting now with their personal key unlocked, for one act that carries responsibility
        (the CLI prompts; the REST API takes the password in that act's request)."""
        row = self.check_password(session, username, password)
        key = self._unlock_personal_key(row, password)
        return AuthenticatedPrincipal(row.id, row.username, "user", row.role_set, token_id, key)

    # -- tokens ------------------------------------------------------------------------------------------

    def create_token(
        self,
        session: Session,
        principal: PrincipalRow,
        *,
        lifetime: timedelta,
        kind: Literal["session", "api"] = "api",
    ) -> str:
        """A new bearer token, shown once; stored only as a hash. It never carries the personal key."""
        if not principal.active:
            raise AuthError("principal is disabled", code="auth.disabled")
        if lifetime <= timedelta(0) or lifetime > MAX_TOKEN:
            raise InputError(
                f"a token lives between 1 second and {MAX_TOKEN.days} days", code="auth.bad_lifetime"
            )
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        session.add(
            TokenRow(
                id=token_id,
                principal_id=principal.id,
                secret_hash=_hash_secret(secret),
                kind=kind,
                created_at=now,
                expires_at=now + lifetime,
                revoked=False,
            )
        )
        session.flush()
        return f"{TOKEN_PREFIX}_{token_id}_{secret}"

    def login(self, store: Store, username: str, password: str, *, lifetime: timedelta) -> str:
        """A session token after the password checked. The slow password work (argon2) runs in a read-only
        transaction, so a login never holds the database's write lock."""
        with store.read_session() as session:
            principal = self.check_password(session, username, password)
        with store.session() as session:
            row = session.get(PrincipalRow, principal.id)
            if row is None:
                raise AuthError("invalid username or password", code="auth.bad_credentials")
            return self.create_token(session, row, lifetime=lifetime, kind="session")

    def authenticate(self, session: Session, token: str) -> AuthenticatedPrincipal:
        """Resolve a bearer token; unknown, malformed, revoked or expired tokens raise ``auth.invalid_token``."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(token) > 200:
            raise AuthError("invalid or expired token", code="auth.invalid_token")
        _, token_id, secret = parts
        row = session.get(TokenRow, token_id)
        expected = row.secret_hash if row is not None else "0" * 64
        matches = hmac.compare_digest(expected, _hash_secret(secret))
        if row is None or not matches or row.revoked or row.expires_at <= utcnow():
            raise AuthError("invalid or expired token", code="auth.invalid_token")
        principal = session.get(PrincipalRow, row.principal_id)
        if principal is None or not principal.active:
            raise AuthError("invalid or expired token", code="auth.invalid_token")
        kind: Literal["user", "service"] = "user" if principal.kind == "user" else "service"
        return AuthenticatedPrincipal(principal.id, principal.username, kind, principal.role_set, token_id)

    def revoke(self, session: Session, token_id: str) -> TokenRow:
        row = session.get(TokenRow, token_id)
        if row is None:
            raise NotFound(f"no token {token_id}", code="auth.no_such_token")
        row.revoked = True
        return row

    def tokens(self, session: Session, username: str | None = None) -> builtins.list[tuple[TokenRow, str]]:
        """Tokens with their principal's name, newest first (secrets are never stored, so never shown)."""
        query = select(TokenRow, PrincipalRow.username).join(
            PrincipalRow, PrincipalRow.id == TokenRow.principal_id
        )
        if username is not None:
            query = query.where(PrincipalRow.username == self.get(session, username).username)
        return [(t, u) for t, u in session.execute(query.order_by(TokenRow.created_at.desc())).all()]

    def set_active(self, session: Session, username: str, active: bool) -> PrincipalRow:
        """Enable or disable a principal; disabling revokes every token it holds."""
        row = self.get(session, username)
        row.active = active
        if not active:
            for token in session.scalars(select(TokenRow).where(TokenRow.principal_id == row.id)):
                token.revoked = True
        session.flush()
        return row

    # -- roster ------------------------------------------------------------------------------------------

    def roster(self, session: Session) -> RosterBody:
        users = session.scalars(
            select(PrincipalRow).where(PrincipalRow.kind == "user").order_by(PrincipalRow.id)
        )
        return RosterBody(
            users=tuple(
                RosterEntry(
                    user_id=u.id,
                    username=u.username,
                    roles=tuple(sorted(u.role_set)),
                    public_key=u.personal_public_key or "",
                    ml_dsa_65_key=u.personal_pq_public_key or "",
                    active=u.active,
                )
                for u in users
            )
        )


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_roles(roles: Iterable[str], allowed: frozenset[str], what: str) -> frozenset[str]:
    role_set = frozenset(roles)
    if not role_set:
        raise InputError(f"a {what} needs at least one role", code="auth.bad_role")
    unknown = role_set - ALL_ROLES
    if unknown:
        raise InputError(
            f"unknown role(s): {', '.join(sorted(unknown))}; a {what} may hold: {', '.join(sorted(allowed))}",
            code="auth.bad_role",
        )
    refused = role_set - allowed
    if refused:
        raise InputError(
            f"a {what} may not hold: {', '.join(sorted(refused))}; it may hold: {', '.join(sorted(allowed))}",
            code="auth.bad_role",
        )
    return role_set


def _check_username(name: str) -> None:
    if not re.match(USERNAME_PATTERN, name):
        raise InputError(
            "names are 1-63 of a-z 0-9 . _ - starting with a letter or digit", code="auth.bad_username"
        )


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InputError(
            f"passwords are {MIN_PASSWORD} to {MAX_PASSWORD} characters", code="auth.weak_password"
        )
