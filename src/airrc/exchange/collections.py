"""TAXII collections of a node and the STIX objects stored in them (the storage side of ``taxii.py``).

Collections: one view per partner (exactly the STIX of what that partner may see), one per peer for what it
shared with us, and a writable inbox. Objects are kept per collection and version with a monotonically
increasing sequence, so paging cursors are positions in storage and survive a restart.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from airrc.crypto.trust import NodeCard
from airrc.exchange.taxii_tables import TaxiiGrant, TaxiiObject, TaxiiStatus
from airrc.principals.accounts import AuthenticatedPrincipal
from airrc.store.db import utcnow

__all__ = [
    "STIX_MEDIA",
    "Collection",
    "TaxiiGrant",
    "TaxiiObject",
    "TaxiiStatus",
    "TaxiiStore",
    "stamp",
    "version_of",
]

STIX_MEDIA = "application/stix+json;version=2.1"
_NAMESPACE = uuid.UUID("0b7f4a8e-2f0c-4c61-9e5c-7d0a4d7e9b13")
READ_ALL_ROLES = {"admin", "analyst"}


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    kind: str  # view | from | inbox
    peer_id: str | None

    def to_json(self, *, can_read: bool, can_write: bool) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "can_read": can_read,
            "can_write": can_write,
            "media_types": [STIX_MEDIA],
        }


def version_of(obj: dict[str, Any]) -> str:
    return str(obj.get("modified") or obj.get("created") or "1970-01-01T00:00:00.000Z")


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class TaxiiStore:
    """Collections of one node and the STIX objects stored in them."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id

    def collection_id(self, kind: str, peer_id: str | None = None) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.node_id}\n{kind}\n{peer_id or ''}"))

    def collections(self, peers: list[NodeCard]) -> list[Collection]:
        out = [
            Collection(
                self.collection_id("inbox"),
                "Inbox",
                "Write STIX 2.1 here: each report or grouping becomes a draft report for an analyst.",
                "inbox",
                None,
            )
        ]
        for card in peers:
            out.append(
                Collection(
                    self.collection_id("view", card.id),
                    f"Shared with {card.name}",
                    f"Exactly what {card.name} may see: its sharing policy, redactions and PII scrubbing applied.",
                    "view",
                    card.id,
                )
            )
            out.append(
                Collection(
                    self.collection_id("from", card.id),
                    f"Received from {card.name}",
                    f"What {card.name} shared with us.",
                    "from",
                    card.id,
                )
            )
        return out

    def add(self, session: Session, collection_id: str, objects: list[dict[str, Any]]) -> list[str]:
        """Store new object versions in bulk (a version already stored is left as it is); returns the ids
        stored."""
        now = utcnow()
        values = [
            {
                "collection_id": collection_id,
                "object_id": obj["id"],
                "type": obj["type"],
                "version": version_of(obj),
                "spec_version": str(obj.get("spec_version", "2.1")),
                "date_added": now,
                "data": json.dumps(obj, ensure_ascii=False, sort_keys=True),
                "is_last": True,
                "is_first": True,
            }
            for obj in objects
        ]
        if not values:
            return []
        insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(TaxiiObject)
            .on_conflict_do_nothing(index_elements=["collection_id", "object_id", "version"])
            .returning(TaxiiObject.object_id)
        )
        stored: list[str] = []
        for start in range(0, len(values), 1000):
            batch = session.scalars(statement, values[start : start + 1000]).all()
            stored += batch
            self._mark_first_and_last(session, collection_id, sorted(set(batch)))
        return stored

    def revoke(self, session: Session, collection_id: str, object_id: str, *, at: datetime) -> bool:
        """Store a new version of an object with ``revoked: true`` (STIX 2.1 §3.6), so TAXII readers that
        already hold it see the withdrawal; False when the collection never held the object."""
        latest = session.scalar(
            select(TaxiiObject).where(
                TaxiiObject.collection_id == collection_id,
                TaxiiObject.object_id == object_id,
                TaxiiObject.is_last.is_(True),
            )
        )
        if latest is None:
            return False
        obj = json.loads(latest.data)
        if obj.get("revoked") is True:
            return True
        previous = datetime.fromisoformat(version_of(obj).replace("Z", "+00:00"))
        # A version must be later than the one it replaces, even on a clock that went back.
        moment = max(at, previous + timedelta(milliseconds=1))
        modified = (
            moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        )
        self.add(session, collection_id, [{**obj, "revoked": True, "modified": modified}])
        return True

    def _mark_first_and_last(self, session: Session, collection_id: str, object_ids: list[str]) -> None:
        """Objects that got a new version: recompute which of their versions is first and which last."""
        if not object_ids:
            return
        versions = (
            select(TaxiiObject.object_id, func.min(TaxiiObject.version), func.max(TaxiiObject.version))
            .where(TaxiiObject.collection_id == collection_id, TaxiiObject.object_id.in_(object_ids))
            .group_by(TaxiiObject.object_id)
            .having(func.count() > 1)
        )
        for object_id, first, last in session.execute(versions).all():
            session.execute(
                update(TaxiiObject)
                .where(TaxiiObject.collection_id == collection_id, TaxiiObject.object_id == object_id)
                .values(is_first=TaxiiObject.version == first, is_last=TaxiiObject.version == last)
            )

    def rights(
        self, session: Session, principal: AuthenticatedPrincipal, collection: Collection
    ) -> tuple[bool, bool]:
        if principal.roles & READ_ALL_ROLES:
            return True, collection.kind == "inbox"
        grant = session.get(TaxiiGrant, (principal.id, collection.id))
        if grant is None:
            return False, False
        return grant.can_read, grant.can_write and collection.kind == "inbox"

    def grant(
        self, session: Session, principal_id: str, collection_id: str, *, read: bool, write: bool
    ) -> None:
        row = session.get(TaxiiGrant, (principal_id, collection_id))
        if row is None:
            session.add(
                TaxiiGrant(
                    principal_id=principal_id, collection_id=collection_id, can_read=read, can_write=write
                )
            )
        else:
            row.can_read, row.can_write = read, write
