"""Checking our own log end to end from storage (``airrc ledger verify``).

``verify_storage`` recomputes every entry from the stored statements, every tree level from the entries,
the root, and checks every signed checkpoint and every stored cosignature. Peers' logs are audited over
HTTP by :mod:`airrc.federation.log_audit`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from airrc.crypto.trust import NodeCard
from airrc.errors import Error, LedgerError, UnknownIssuer
from airrc.ledger.checkpoint import (
    Checkpoint,
    SignedNote,
    parse_note,
    verify_cosignature,
)
from airrc.ledger.log import ENTRY_LEVEL, LedgerCheckpoint, LedgerCosignature, TransparencyLog
from airrc.ledger.merkle import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
from airrc.ledger.proofs import verify_note_with_chain
from airrc.statements import parse_signed_statement, verify_statement
from airrc.store.statements import StatementRow
from airrc.trust.peers import TrustStore

__all__ = ["Progress", "StorageReport", "verify_storage"]

Progress = Callable[[str, int, int], None]
SessionFactory = Callable[[], AbstractContextManager[Session]]
HTTP_TIMEOUT = 10.0


@dataclass(frozen=True)
class StorageReport:
    size: int
    root: bytes
    checkpoints: int
    cosignatures: int


def _fail(message: str, **details: object) -> LedgerError:
    return LedgerError(message, code="ledger.storage_corrupt", **details)


def _stored_level(log: TransparencyLog, session: Session, level: int, count: int) -> bytes:
    blob = bytearray()
    for expected_tile, (tile, data) in enumerate(log.iter_tiles(session, level)):
        if tile != expected_tile:
            raise _fail(
                f"level {level} is missing tile {expected_tile}", level=level, index=expected_tile * 256
            )
        blob += data
    if len(blob) != count * HASH_SIZE:
        first_bad = min(len(blob), count * HASH_SIZE) // HASH_SIZE
        raise _fail(
            f"level {level} stores {len(blob) // HASH_SIZE} hashes, expected {count}; first bad index "
            f"{first_bad}",
            level=level,
            index=first_bad,
        )
    return bytes(blob)


def _first_difference(stored: bytes, expected: bytes) -> int | None:
    if stored == expected:
        return None
    for i in range(0, len(expected), HASH_SIZE):
        if stored[i : i + HASH_SIZE] != expected[i : i + HASH_SIZE]:
            return i // HASH_SIZE
    return len(expected) // HASH_SIZE


def _root_from_levels(levels: list[bytes], size: int) -> bytes:
    def node(level: int, index: int) -> bytes:
        return levels[level][index * HASH_SIZE : (index + 1) * HASH_SIZE]

    def mth(start: int, end: int) -> bytes:
        span = end - start
        if span & (span - 1) == 0 and start % span == 0:
            return node(span.bit_length() - 1, start // span)
        k = 1 << ((span - 1).bit_length() - 1)
        return node_hash(mth(start, start + k), mth(start + k, end))

    return EMPTY_ROOT if size == 0 else mth(0, size)


def verify_storage(
    session: Session,
    log: TransparencyLog,
    own_chain: list[NodeCard],
    trust: TrustStore,
    progress: Progress | None = None,
) -> StorageReport:
    """Recompute the whole log from storage; raise ``ledger.storage_corrupt`` naming the first bad index."""
    report = progress or (lambda _stage, _done, _total: None)
    state = log.state(session)
    entries = _stored_level(log, session, ENTRY_LEVEL, state.size)
    _check_statements(session, entries, state.size, report)
    _check_rows(session, trust, own_chain[-1].id, report)
    levels = _check_levels(session, log, entries, state.size, report)
    root = _root_from_levels(levels, state.size)
    if root != state.root:
        raise _fail("the stored tree root does not match the recomputed root", index=state.size)
    checkpoints, cosignatures = _check_checkpoints(session, levels, state.size, own_chain, trust)
    return StorageReport(state.size, root, checkpoints, cosignatures)


def _check_statements(session: Session, entries: bytes, size: int, report: Progress) -> None:
    """Every statement we issued must be the entry at its index."""
    total = session.scalar(select(func.count()).where(StatementRow.log_index.is_not(None))) or 0
    done, last = 0, -1
    while True:
        rows = session.execute(
            select(StatementRow.log_index, StatementRow.data, StatementRow.statement_id)
            .where(StatementRow.log_index > last)
            .order_by(StatementRow.log_index)
            .limit(2000)
        ).all()
        if not rows:
            break
        for index, data, statement_id in rows:
            position = last = int(index or 0)
            digest = hashlib.sha256(data).digest()
            if position >= size or entries[position * HASH_SIZE : (position + 1) * HASH_SIZE] != digest:
                raise _fail(
                    f"entry {position} does not match statement {statement_id}",
                    level=ENTRY_LEVEL,
                    index=position,
                )
        done += len(rows)
        report("statements", done, total)
    report("statements", done, total)
    report("statements", done, total)


def _check_rows(session: Session, trust: TrustStore, node_id: str, report: Progress) -> None:
    """Every stored statement, ours and our peers': its digest column is the SHA-256 of its bytes (dedupe,
    equivocation checks and receipts rely on that column), its columns say what its bytes say, and each
    received one still verifies against the issuer's pinned keys."""
    total = session.scalar(select(func.count()).select_from(StatementRow)) or 0
    done, last = 0, 0
    while True:
        rows = list(
            session.scalars(
                select(StatementRow)
                .where(StatementRow.row_id > last)
                .order_by(StatementRow.row_id)
                .limit(500)
            )
        )
        if not rows:
            break
        for row in rows:
            last = row.row_id
            data = bytes(row.data)
            if row.digest != hashlib.sha256(data).hexdigest():
                raise _fail(f"statement {row.statement_id}: its digest column does not match its bytes")
            try:
                signed = parse_signed_statement(data, max_bytes=len(data) + 1)
            except Error as exc:
                raise _fail(
                    f"statement {row.statement_id}: its stored bytes do not parse ({exc.code})"
                ) from exc
            st = signed.statement
            if (st.id, st.issuer, st.seq, st.kind) != (row.statement_id, row.issuer, row.seq, row.kind):
                raise _fail(f"statement {row.statement_id}: its columns differ from its signed content")
            if not row.local:
                try:
                    verify_statement(
                        signed, keyring=trust, for_node=node_id, max_bytes=len(data) + 1, clock_skew=_STORED
                    )
                except Error as exc:
                    raise _fail(
                        f"received statement {row.statement_id} no longer verifies ({exc.code})"
                    ) from exc
        done += len(rows)
        report("stored statements", done, total)


# Stored statements were checked against the clock when they arrived; their age is not a fault now.
_STORED = timedelta(days=365 * 1000)


def _check_levels(
    session: Session, log: TransparencyLog, entries: bytes, size: int, report: Progress
) -> list[bytes]:
    """Each stored level against its recomputation from the level below (level 0 from the entries)."""
    expected = b"".join(leaf_hash(entries[i : i + HASH_SIZE]) for i in range(0, len(entries), HASH_SIZE))
    levels: list[bytes] = []
    level, count = 0, size
    while count > 0:
        stored = _stored_level(log, session, level, count)
        bad = _first_difference(stored, expected)
        if bad is not None:
            what = "leaf" if level == 0 else f"level {level} node"
            raise _fail(f"stored {what} {bad} does not match its recomputation", level=level, index=bad)
        levels.append(stored)
        report("tree levels", level + 1, size.bit_length())
        count >>= 1
        expected = b"".join(
            node_hash(stored[i : i + HASH_SIZE], stored[i + HASH_SIZE : i + 2 * HASH_SIZE])
            for i in range(0, count * 2 * HASH_SIZE, 2 * HASH_SIZE)
        )
        level += 1
    return levels


def _check_checkpoints(
    session: Session, levels: list[bytes], size: int, own_chain: list[NodeCard], trust: TrustStore
) -> tuple[int, int]:
    checkpoints = cosignatures = 0
    for row in session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size)):
        note = parse_note(row.note)
        checkpoint = _verify_with_chain(note, own_chain)
        if checkpoint.size != row.size or checkpoint.size > size:
            raise _fail(f"checkpoint at size {row.size} is misfiled", index=row.size)
        if _root_from_levels(levels, checkpoint.size) != checkpoint.root or row.root != checkpoint.root:
            raise _fail(f"checkpoint at size {row.size} does not match the tree", index=row.size)
        checkpoints += 1
        for cosig in session.scalars(select(LedgerCosignature).where(LedgerCosignature.size == row.size)):
            try:
                witness = trust.current(session, cosig.witness_id)
                verify_cosignature(note, parse_note(note.text + "\n" + cosig.line).signatures[0], witness)
            except (UnknownIssuer, LedgerError) as exc:
                raise _fail(
                    f"cosignature by {cosig.witness_id[:16]} at size {row.size} does not verify",
                    index=row.size,
                ) from exc
            cosignatures += 1
    return checkpoints, cosignatures


def _verify_with_chain(note: SignedNote, chain: list[NodeCard]) -> Checkpoint:
    try:
        return verify_note_with_chain(note, chain)
    except LedgerError as exc:
        raise _fail("a stored checkpoint is not signed by this node") from exc
