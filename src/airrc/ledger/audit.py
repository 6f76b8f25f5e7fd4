"""Checking a log end to end: our own storage (``airrc ledger verify``), and peers' logs over HTTP.

``verify_storage`` recomputes every entry from the stored statements, every tree level from the entries,
the root, and checks every signed checkpoint and every stored cosignature. ``request_cosignature`` and
``audit_peer`` speak C2SP tlog-witness and the public ledger endpoints to other nodes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from airrc.crypto.trust import NodeCard
from airrc.errors import Error, LedgerError, ProofError, UnknownIssuer
from airrc.ledger.checkpoint import (
    Checkpoint,
    Cosignature,
    SignedNote,
    parse_checkpoint_text,
    parse_note,
    verify_checkpoint,
    verify_cosignature,
)
from airrc.ledger.log import ENTRY_LEVEL, LedgerCheckpoint, LedgerCosignature, TransparencyLog
from airrc.ledger.merkle import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash, verify_inclusion
from airrc.ledger.proofs import decode_hashes, verify_note_with_chain
from airrc.ledger.witness import Witness, WitnessResult
from airrc.statements import parse_signed_statement, verify_statement
from airrc.store.statements import StatementRow
from airrc.trust.peers import TrustStore

__all__ = [
    "StorageReport",
    "audit_peer",
    "fetch_checkpoint",
    "fetch_consistency_proof",
    "fetch_first_cosignature",
    "fetch_inclusion_proof",
    "fetch_verified_inclusion",
    "request_cosignature",
    "verify_storage",
]

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


# -- over HTTP ---------------------------------------------------------------------------------------------


def _post_first(client: httpx.Client, peer: NodeCard, path: str, body: str) -> httpx.Response:
    last: Exception | None = None
    for endpoint in peer.endpoints:
        try:
            return client.post(
                endpoint.rstrip("/") + path,
                content=body.encode(),
                timeout=HTTP_TIMEOUT,
                headers={"content-type": "text/plain; charset=utf-8"},
            )
        except httpx.TransportError as exc:
            last = exc
    raise LedgerError(f"no endpoint of {peer.name} answered", code="ledger.peer_unreachable") from last


def _get_first(
    client: httpx.Client, peer: NodeCard, path: str, params: dict[str, int | str] | None = None
) -> httpx.Response:
    last: Exception | None = None
    for endpoint in peer.endpoints:
        try:
            response = client.get(endpoint.rstrip("/") + path, params=params, timeout=HTTP_TIMEOUT)
        except httpx.TransportError as exc:
            last = exc
            continue
        if response.status_code != 200:
            raise LedgerError(
                f"{peer.name} answered {response.status_code} for {path}",
                code="ledger.peer_error",
                status=response.status_code,
                body=response.text[:200],
            )
        return response
    raise LedgerError(f"no endpoint of {peer.name} answered", code="ledger.peer_unreachable") from last


def fetch_checkpoint(client: httpx.Client, peer: NodeCard) -> tuple[SignedNote, Checkpoint]:
    """``peer``'s current checkpoint, verified against its card."""
    note = parse_note(_get_first(client, peer, "/ledger/v1/checkpoint").text)
    return note, verify_checkpoint(note, peer)


def fetch_inclusion_proof(client: httpx.Client, peer: NodeCard, index: int, size: int) -> list[bytes]:
    """``peer``'s inclusion proof for leaf ``index`` in its tree of ``size`` (checked by the caller)."""
    doc = _get_first(client, peer, "/ledger/v1/proof/inclusion", {"index": index, "size": size}).json()
    if not isinstance(doc, dict):
        raise LedgerError(f"{peer.name} sent a malformed proof", code="ledger.bad_proof")
    return decode_hashes(doc.get("hashes"))


def fetch_consistency_proof(client: httpx.Client, peer: NodeCard, old: int, size: int) -> list[bytes]:
    """``peer``'s consistency proof between its trees of ``old`` and ``size`` entries (checked by the caller)."""
    doc = _get_first(client, peer, "/ledger/v1/proof/consistency", {"old": old, "size": size}).json()
    if not isinstance(doc, dict):
        raise LedgerError(f"{peer.name} sent a malformed proof", code="ledger.bad_proof")
    return decode_hashes(doc.get("hashes"))


def fetch_verified_inclusion(
    client: httpx.Client, peer: NodeCard, index: int, digest: bytes, checkpoint: Checkpoint
) -> list[bytes]:
    """``peer``'s proof that the statement with ``digest`` is leaf ``index`` of its checkpointed tree."""
    if index >= checkpoint.size:
        raise LedgerError(
            f"{peer.name} has not yet checkpointed leaf {index}; retry after its next checkpoint",
            code="ledger.not_yet_checkpointed",
        )
    proof = fetch_inclusion_proof(client, peer, index, checkpoint.size)
    try:
        verify_inclusion(leaf_hash(digest), index, checkpoint.size, proof, checkpoint.root)
    except LedgerError as exc:
        raise ProofError(
            f"{peer.name}'s log does not include leaf {index}", code="ledger.not_in_log"
        ) from exc
    return proof


def fetch_first_cosignature(
    client: httpx.Client, witness: NodeCard, origin: str, above: int
) -> tuple[int, bytes, str]:
    """(size, root, cosignature line) of the first checkpoint of ``origin`` larger than ``above`` that
    ``witness`` cosigned, as the witness reports it (the caller verifies the line)."""
    try:
        response = _get_first(
            client, witness, "/ledger/v1/witness/first-cosigned", {"origin": origin, "above": above}
        )
    except LedgerError as exc:
        if exc.details.get("status") == 404:
            raise LedgerError(
                f"{witness.name} has cosigned no checkpoint of {origin} larger than {above}",
                code="ledger.not_cosigned",
            ) from exc
        raise
    try:
        doc = response.json()
        return int(doc["size"]), base64.b64decode(doc["root"], validate=True), str(doc["cosignature"])
    except (ValueError, KeyError, TypeError) as exc:
        raise LedgerError(f"{witness.name} sent a malformed answer", code="ledger.peer_error") from exc


def request_cosignature(
    store_session: SessionFactory, log: TransparencyLog, peer: NodeCard, client: httpx.Client
) -> Cosignature:
    """Ask ``peer`` to witness our latest checkpoint (C2SP add-checkpoint) and store its cosignature."""
    with store_session() as session:
        note = log.checkpoint(session)
        checkpoint = parse_checkpoint_text(note.text)
        old = (
            session.scalar(
                select(func.max(LedgerCosignature.size)).where(LedgerCosignature.witness_id == peer.id)
            )
            or 0
        )
    for _attempt in range(3):
        with store_session() as session:
            proof = log.consistency_proof(session, old, checkpoint.size) if 0 < old < checkpoint.size else []
        body = (
            f"old {old}\n"
            + "".join(base64.b64encode(p).decode() + "\n" for p in proof)
            + "\n"
            + note.serialise()
        )
        response = _post_first(client, peer, "/ledger/v1/witness/add-checkpoint", body)
        if response.status_code == 409 and response.headers.get("content-type", "").startswith(
            "text/x.tlog.size"
        ):
            old = int(response.text.strip())
            if old > checkpoint.size:
                raise LedgerError(
                    f"{peer.name} has cosigned a larger tree ({old}) than ours ({checkpoint.size})",
                    code="ledger.inconsistent",
                )
            continue
        if response.status_code != 200:
            code = _error_code(response)
            raise LedgerError(
                f"{peer.name} refused to cosign: {response.status_code} {code}",
                code="ledger.witness_refused",
                status=response.status_code,
                peer_code=code,
            )
        cosigned = parse_note(note.text + "\n" + response.text)
        for signature in cosigned.signatures:
            try:
                result = verify_cosignature(note, signature, peer)
            except LedgerError:
                continue  # other keys' lines are ignored, as C2SP requires
            with store_session() as session:
                log.add_cosignature(session, checkpoint.size, peer.id, result.timestamp, result.line)
            return result
        raise LedgerError(f"{peer.name} returned no valid cosignature", code="ledger.bad_cosignature")
    raise LedgerError(f"{peer.name} kept answering a stale size", code="ledger.witness_refused")


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "unknown"


def audit_peer(
    store_session: SessionFactory, witness: Witness, peer: NodeCard, client: httpx.Client
) -> WitnessResult:
    """Fetch ``peer``'s checkpoint and a consistency proof from what we last cosigned; verify and cosign."""
    note, checkpoint = fetch_checkpoint(client, peer)
    with store_session() as session:
        state = witness.latest(session, peer.id)
        old = state.size if state is not None else 0
    proof = fetch_consistency_proof(client, peer, old, checkpoint.size) if 0 < old < checkpoint.size else []
    return witness.submit(old, proof, note)
