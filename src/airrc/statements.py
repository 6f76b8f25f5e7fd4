"""Signed statements: the one shape of every fact that crosses a border.

A :class:`SignedStatement` is a :class:`Statement` plus a hybrid signature over
``"airrc/statement/v1\\n" + RFC8785(statement)``. :func:`verify_statement` fails closed: it returns the
statement only when size, issuer, both signatures, time and audience all check out.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from airrc.crypto.canonical import canonical_bytes, parse_json
from airrc.crypto.sealing import SealedBody
from airrc.crypto.signing import HybridSignature, HybridSigner, HybridVerifier
from airrc.crypto.trust import NodeCard
from airrc.errors import StatementError, first_problem

__all__ = [
    "PUBLIC",
    "STATEMENT_DOMAIN",
    "Keyring",
    "KindSpec",
    "RosterBody",
    "RosterEntry",
    "SignedStatement",
    "Statement",
    "format_timestamp",
    "kind_spec",
    "new_statement_id",
    "parse_signed_statement",
    "register_kind",
    "registered_kinds",
    "sign_statement",
    "verify_statement",
]

STATEMENT_DOMAIN = "airrc/statement/v1"
PUBLIC = "public"
Tlp = Literal["clear", "green", "amber", "amber+strict", "red"]
NODE_ID = r"^[0-9a-f]{64}$"
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
KIND_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with a ``Z``, microseconds when present: the only form statements carry."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must carry a timezone")
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def new_statement_id() -> str:
    return str(uuid.uuid4())


class Statement(BaseModel):
    """The signed content of a statement. Exactly one of ``body`` and ``sealed`` is present."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    id: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    kind: str = Field(max_length=64, pattern=KIND_PATTERN)
    issuer: str = Field(pattern=NODE_ID)
    seq: int = Field(ge=1, le=2**63 - 1)
    issued_at: str
    audience: Literal["public"] | tuple[str, ...]
    tlp: Tlp = "green"
    refs: tuple[str, ...] = Field(default=(), max_length=64)
    body: Any = None
    sealed: SealedBody | None = None

    @field_validator("issued_at")
    @classmethod
    def _rfc3339_utc(cls, value: str) -> str:
        if not _TIMESTAMP.match(value):
            raise ValueError("issued_at must be RFC 3339 UTC ending in 'Z'")
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value

    @field_validator("audience")
    @classmethod
    def _audience(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        if isinstance(value, tuple):
            if not value or len(value) > 256:
                raise ValueError("audience must list 1 to 256 node ids, or be 'public'")
            if len(set(value)) != len(value) or any(not re.match(NODE_ID, v) for v in value):
                raise ValueError("audience entries must be distinct node ids")
        return value

    @model_validator(mode="after")
    def _body_xor_sealed(self) -> Statement:
        if (self.body is None) == (self.sealed is None):
            raise ValueError("a statement carries exactly one of 'body' and 'sealed'")
        if self.sealed is not None and self.audience == PUBLIC:
            raise ValueError("a sealed statement needs an explicit audience")
        return self

    @property
    def issued_at_datetime(self) -> datetime:
        return datetime.fromisoformat(self.issued_at.replace("Z", "+00:00"))

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def signed_bytes(self) -> bytes:
        return canonical_bytes(self.to_json())

    def addressed_to(self, node_id: str) -> bool:
        return self.audience == PUBLIC or node_id in self.audience


class SignedStatement(BaseModel):
    """A statement with its hybrid signature, as stored and sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    statement: Statement
    signatures: HybridSignature

    def to_json(self) -> dict[str, Any]:
        return {
            "statement": self.statement.to_json(),
            "signatures": self.signatures.model_dump(by_alias=True),
        }

    @cached_property
    def _canonical(self) -> bytes:
        return canonical_bytes(self.to_json())

    def canonical(self) -> bytes:
        """RFC 8785 bytes of the whole signed statement; their SHA-256 is its digest and ledger leaf."""
        # Computed once: the model is frozen, and RFC 8785 serialisation is the hot path of federation.
        return self._canonical

    def digest(self) -> bytes:
        return hashlib.sha256(self._canonical).digest()


# -- kinds registry ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindSpec:
    """What the node knows about a statement kind."""

    name: str
    body_model: type[BaseModel] | None = None
    receipted: bool = True
    sealed: bool = False
    description: str = ""


_KINDS: dict[str, KindSpec] = {}
M = TypeVar("M", bound=type[BaseModel])


def register_kind(
    name: str,
    *,
    receipted: bool = True,
    sealed: bool = False,
    description: str = "",
) -> Callable[[M], M]:
    """Class decorator registering ``name`` with the decorated model as its body schema; twice raises."""

    def decorate(model: M) -> M:
        _add_kind(KindSpec(name, model, receipted, sealed, description or (model.__doc__ or "").strip()))
        return model

    return decorate


def _add_kind(spec: KindSpec) -> None:
    if not re.match(KIND_PATTERN, spec.name):
        raise ValueError(f"invalid statement kind name {spec.name!r}")
    if spec.name in _KINDS:
        raise ValueError(f"statement kind {spec.name!r} is already registered")
    _KINDS[spec.name] = spec


def kind_spec(name: str) -> KindSpec | None:
    """The registered spec, or ``None`` for a kind this node does not interpret (stored, not read)."""
    return _KINDS.get(name)


def registered_kinds() -> tuple[str, ...]:
    return tuple(sorted(_KINDS))


class RosterEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str = Field(max_length=64)
    username: str = Field(max_length=64)
    roles: tuple[str, ...]
    public_key: str = Field(max_length=64, description="base64 raw Ed25519 personal key")
    ml_dsa_65_key: str = Field(max_length=2700, description="base64 raw ML-DSA-65 personal key")
    active: bool = True


@register_kind("node.roster")
class RosterBody(BaseModel):
    """The node's users, their roles and personal public keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    users: tuple[RosterEntry, ...] = Field(max_length=10_000)


@register_kind("node.card")
class CardBody(BaseModel):
    """A (rotated) node card, published so peers can follow the rotation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    card: NodeCard


@register_kind("node.ping")
class PingBody(BaseModel):
    """A link test; receipted, never re-sent by catch-up."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nonce: str = Field(max_length=64)
    sent_at: str = Field(max_length=40)


# Kinds the federation and ledger layers own; their body models arrive with those packages.
_add_kind(KindSpec("federation.receipt", receipted=False, description="digests accepted by a receiver"))
_add_kind(KindSpec("ledger.cosignature", receipted=False, description="a witness's cosignature"))


# -- signing and verification ------------------------------------------------------------------------------


def sign_statement(statement: Statement, signer: HybridSigner) -> SignedStatement:
    return SignedStatement(
        statement=statement, signatures=signer.sign(STATEMENT_DOMAIN, statement.signed_bytes())
    )


def parse_signed_statement(data: bytes | str | dict[str, Any], *, max_bytes: int) -> SignedStatement:
    """Parse untrusted input into a :class:`SignedStatement` (shape only; no signature check)."""
    doc = data if isinstance(data, dict) else parse_json(data, max_bytes=max_bytes)
    try:
        return SignedStatement.model_validate(doc)
    except ValidationError as exc:
        where, message = first_problem(exc, "statement")
        raise StatementError(
            f"malformed statement at {where}: {message}", code="statement.malformed"
        ) from exc


class Keyring(Protocol):
    """Where verification finds pinned cards."""

    def verifier_for(self, issuer: str, at: datetime) -> HybridVerifier:
        """The key that signed for ``issuer`` at ``at``; raises :class:`UnknownIssuer` if not pinned."""
        ...


def verify_statement(
    signed: SignedStatement,
    *,
    keyring: Keyring,
    for_node: str,
    max_bytes: int,
    clock_skew: timedelta,
    now: datetime | None = None,
) -> SignedStatement:
    """Return ``signed`` only if every check passes; otherwise raise the specific error.

    Checks: size, issuer pinned, both signatures, not dated in the future beyond ``clock_skew`` (age alone
    never invalidates), ``for_node`` is the issuer or in the audience, and the body of a known kind fits it.
    """
    statement = signed.statement
    size = len(signed.canonical())
    if size > max_bytes:
        raise StatementError(
            f"statement is {size} bytes, over the {max_bytes} limit", code="statement.too_large"
        )
    verifier = keyring.verifier_for(statement.issuer, statement.issued_at_datetime)
    verifier.verify(STATEMENT_DOMAIN, statement.signed_bytes(), signed.signatures)
    moment = now or datetime.now(UTC)
    if statement.issued_at_datetime - moment > clock_skew:
        raise StatementError(
            "statement is dated in the future beyond the allowed clock skew", code="statement.from_future"
        )
    if statement.issuer != for_node and not statement.addressed_to(for_node):
        raise StatementError("this node is not in the statement's audience", code="statement.not_in_audience")
    spec = kind_spec(statement.kind)
    if spec is not None and spec.body_model is not None and statement.body is not None:
        try:
            spec.body_model.model_validate(statement.body)
        except ValidationError as exc:
            raise StatementError(
                f"body does not fit kind {statement.kind}", code="statement.bad_body"
            ) from exc
    if spec is not None and spec.sealed and statement.sealed is None:
        raise StatementError(f"kind {statement.kind} must be sealed", code="statement.must_be_sealed")
    return signed
