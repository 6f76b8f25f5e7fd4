"""Peers' logs over HTTP: their checkpoints and proofs fetched and verified (C2SP tlog endpoints), our
checkpoint offered to a witness (C2SP tlog-witness add-checkpoint), and a peer's log audited and cosigned.
Every request goes through :class:`~airrc.federation.peer_client.PeerClient`."""

from __future__ import annotations

import base64
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from airrc.crypto.canonical import parse_json
from airrc.crypto.trust import NodeCard
from airrc.errors import FederationError, InputError, LedgerError, ProofError
from airrc.federation.peer_client import PeerClient
from airrc.ledger.checkpoint import (
    MAX_NOTE_BYTES,
    Checkpoint,
    Cosignature,
    SignedNote,
    parse_checkpoint_text,
    parse_note,
    verify_checkpoint,
    verify_cosignature,
)
from airrc.ledger.gossip import MAX_GOSSIP_ENTRIES, GossipVerdict, check_gossiped, parse_published
from airrc.ledger.inclusion import InclusionReport, check_round, due, record
from airrc.ledger.log import TransparencyLog
from airrc.ledger.merkle import leaf_hash, verify_inclusion
from airrc.ledger.proofs import decode_hashes
from airrc.ledger.tables import LedgerCosignature
from airrc.ledger.witness import Witness, WitnessResult

__all__ = [
    "audit_peer",
    "check_received",
    "fetch_checkpoint",
    "fetch_consistency_proof",
    "fetch_first_cosignature",
    "fetch_inclusion_proof",
    "fetch_verified_inclusion",
    "gossip_with",
    "request_cosignature",
]

SessionFactory = Callable[[], AbstractContextManager[Session]]
HTTP_TIMEOUT = 10.0


def _get_first(
    client: httpx.Client, peer: NodeCard, path: str, params: dict[str, int | str] | None = None
) -> httpx.Response:
    return PeerClient(client, timeout=HTTP_TIMEOUT).get(peer, path, params)


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
    except FederationError as exc:
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
        response = PeerClient(client, timeout=HTTP_TIMEOUT).post_text(
            peer, "/ledger/v1/witness/add-checkpoint", body
        )
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


def gossip_with(  # noqa: PLR0917 - the parties a comparison needs
    store_session: SessionFactory,
    witness: Witness,
    log: TransparencyLog,
    own: NodeCard,
    reporter: NodeCard,
    client: httpx.Client,
) -> list[GossipVerdict]:
    """Fetch the checkpoints ``reporter`` cosigned and compare each with what we were shown; a split view is
    kept and alerted (``ledger.split_view``). Consistency proofs come from each log's own endpoints."""
    answer = _get_first(client, reporter, "/ledger/v1/witness/cosigned")
    try:
        # Each entry is a note of at most MAX_NOTE_BYTES; the list is bounded by MAX_GOSSIP_ENTRIES.
        doc = parse_json(answer.content, max_bytes=MAX_GOSSIP_ENTRIES * (MAX_NOTE_BYTES + 1024))
    except InputError as exc:
        raise LedgerError(f"{reporter.name} published malformed gossip", code="ledger.bad_gossip") from exc
    notes = parse_published(doc)
    verdicts = []
    for note in notes:
        with store_session() as session:
            verdicts.append(
                check_gossiped(
                    session,
                    note,
                    reporter=reporter,
                    witness=witness,
                    log=log,
                    own=own,
                    consistency=lambda card, old, new: fetch_consistency_proof(client, card, old, new),
                )
            )
    return verdicts


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


def check_received(
    store_session: SessionFactory, witness: Witness, peer: NodeCard, client: httpx.Client
) -> InclusionReport:
    """Prove the statements ``peer`` sent us included in the checkpoint of its log we last cosigned, fetching
    its inclusion proofs; one its log lacks is kept and alerted (``ledger.not_in_log``)."""
    with store_session() as session:
        round_ = due(session, witness, peer.id)

    def proofs(index: int, size: int) -> list[bytes] | None:
        try:
            return fetch_inclusion_proof(client, peer, index, size)
        except LedgerError:
            return []  # a malformed proof proves nothing
        except (FederationError, httpx.HTTPError):
            return None

    results = check_round(round_, proofs)
    with store_session() as session:
        return record(session, witness, peer, round_, results)
