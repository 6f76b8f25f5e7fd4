"""C2SP checkpoints in C2SP signed notes, and C2SP timestamped Ed25519 cosignatures. Pure, no I/O.

A log checkpoint carries two signature lines under the log's key name (its origin): Ed25519 (type 0x01)
and ML-DSA-65 (type 0xff followed by the identifier ``airrc/ml-dsa-65``). Verification requires both.
Witnesses add Ed25519 cosignatures (type 0x04) over ``cosignature/v1``, a time line and the note text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa

from airrc.crypto.keys import COSIGNATURE_TYPE, NodeIdentity, c2sp_ed25519_key_id, c2sp_key_id
from airrc.crypto.trust import NodeCard
from airrc.errors import LedgerError, NoteError
from airrc.ledger.merkle import EMPTY_ROOT, HASH_SIZE

__all__ = [
    "MAX_NOTE_BYTES",
    "Checkpoint",
    "Cosignature",
    "NoteSignature",
    "SignedNote",
    "cosign",
    "format_checkpoint",
    "parse_checkpoint_text",
    "parse_note",
    "parse_tree_size",
    "require_cosigned_by",
    "sign_checkpoint",
    "verify_checkpoint",
    "verify_cosignature",
]

MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURE_LINES = 64
EM_DASH = "\u2014"
MLDSA_TYPE = b"\xff" + b"airrc/ml-dsa-65"
ED25519_SIG = 64
MLDSA65_SIG = 3309


@dataclass(frozen=True)
class Checkpoint:
    """The three mandatory lines of a C2SP checkpoint."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return format_checkpoint(self)


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{EM_DASH} {self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class SignedNote:
    text: str
    signatures: tuple[NoteSignature, ...]

    def serialise(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


@dataclass(frozen=True)
class Cosignature:
    """A verified witness cosignature: who, when, and the line to append to the note."""

    witness_id: str
    timestamp: int
    line: str


def parse_tree_size(text: str) -> int | None:
    """A tree size as C2SP notes write it: ASCII digits, no leading zero, below 2^63; else None."""
    if not 0 < len(text) <= 19 or not text.isascii() or not text.isdigit():
        return None
    if text != "0" and text.startswith("0"):
        return None
    size = int(text)
    return size if size < 2**63 else None


def format_checkpoint(checkpoint: Checkpoint) -> str:
    return f"{checkpoint.origin}\n{checkpoint.size}\n{base64.b64encode(checkpoint.root).decode()}\n"


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def parse_note(data: str | bytes) -> SignedNote:
    """Strictly parse a signed note: text, one blank line, then one or more signature lines."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_NOTE_BYTES:
        raise NoteError("note exceeds the size limit", code="ledger.note_too_large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("note is not UTF-8") from exc
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise NoteError("note contains control characters")
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n"):
        raise NoteError("note lacks the blank line before its signatures")
    body, sig_block = text[: split + 1], text[split + 2 :]
    lines = sig_block.split("\n")[:-1]
    if not lines or len(lines) > MAX_SIGNATURE_LINES:
        raise NoteError("note has no signature lines, or too many")
    signatures = []
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or not _valid_name(parts[1]):
            raise NoteError("malformed signature line")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NoteError("signature is not base64", code="ledger.bad_base64") from exc
        if len(blob) < 5:
            raise NoteError("signature is too short")
        signatures.append(NoteSignature(parts[1], blob[:4], blob[4:]))
    return SignedNote(body, tuple(signatures))


def parse_checkpoint_text(text: str) -> Checkpoint:
    """Parse the checkpoint lines: origin, decimal size without leading zeros, base64 root; extensions refused."""
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "":
        raise NoteError(
            "a checkpoint is exactly origin, size and root lines", code="ledger.malformed_checkpoint"
        )
    origin, size_text, root_text = lines[:3]
    if not origin or any(ch.isspace() for ch in origin):
        raise NoteError("checkpoint origin is empty or has spaces", code="ledger.malformed_checkpoint")
    size = parse_tree_size(size_text)
    if size is None:
        raise NoteError(
            "checkpoint size is not a canonical decimal below 2^63", code="ledger.malformed_checkpoint"
        )
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("checkpoint root is not base64", code="ledger.bad_base64") from exc
    if len(root) != HASH_SIZE:
        raise NoteError("checkpoint root is not 32 bytes", code="ledger.malformed_checkpoint")
    if size == 0 and root != EMPTY_ROOT:
        raise NoteError("an empty checkpoint must carry the empty root", code="ledger.malformed_checkpoint")
    return Checkpoint(origin, size, root)


def _mldsa_key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + MLDSA_TYPE + public_key).digest()[:4]


def _cosigner_key_id(name: str, public_key: bytes) -> bytes:
    return c2sp_key_id(name, COSIGNATURE_TYPE, public_key)


def sign_checkpoint(checkpoint: Checkpoint, identity: NodeIdentity) -> SignedNote:
    """Sign a checkpoint with the node's Ed25519 key and, on a second line, its ML-DSA-65 key."""
    text = checkpoint.text()
    name = checkpoint.origin
    ed_pub = identity.ed25519_key.public_key().public_bytes_raw()
    pq_pub = identity.mldsa_key.public_key().public_bytes_raw()
    return SignedNote(
        text,
        (
            NoteSignature(name, c2sp_ed25519_key_id(name, ed_pub), identity.ed25519_key.sign(text.encode())),
            NoteSignature(name, _mldsa_key_id(name, pq_pub), identity.mldsa_key.sign(text.encode())),
        ),
    )


def verify_checkpoint(note: SignedNote, card: NodeCard) -> Checkpoint:
    """Verify a log's checkpoint against its pinned card: both of its signatures must be present and valid.

    Signature lines from other keys (cosignatures, unknown keys) are ignored, as C2SP requires.
    """
    checkpoint = parse_checkpoint_text(note.text)
    if checkpoint.origin != card.origin:
        raise LedgerError("checkpoint origin is not this log's", code="ledger.unknown_log")
    verifier = card.keys.verifier()
    ed_pub = verifier.ed25519_key.public_bytes_raw()
    pq_pub = verifier.mldsa_key.public_bytes_raw()
    ed_id, pq_id = c2sp_ed25519_key_id(card.origin, ed_pub), _mldsa_key_id(card.origin, pq_pub)
    seen_ed = seen_pq = False
    message = note.text.encode()
    for sig in note.signatures:
        if sig.name != card.origin:
            continue
        if sig.key_id == ed_id:
            _require(
                len(sig.signature) == ED25519_SIG and _verifies(verifier.ed25519_key, sig.signature, message)
            )
            seen_ed = True
        elif sig.key_id == pq_id:
            _require(
                len(sig.signature) == MLDSA65_SIG and _verifies(verifier.mldsa_key, sig.signature, message)
            )
            seen_pq = True
    if not (seen_ed and seen_pq):
        raise LedgerError("checkpoint lacks a signature from the log's keys", code="ledger.bad_signature")
    return checkpoint


def _verifies(
    key: ed25519.Ed25519PublicKey | mldsa.MLDSA65PublicKey, signature: bytes, message: bytes
) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _require(ok: bool) -> None:
    if not ok:
        raise LedgerError("a checkpoint signature from the log's key fails", code="ledger.bad_signature")


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(note: SignedNote, identity: NodeIdentity, witness_name: str, timestamp: int) -> NoteSignature:
    """A C2SP tlog-cosignature/v1 (timestamped Ed25519) over the note's checkpoint."""
    if not 0 < timestamp < 2**63:
        raise ValueError("cosignature timestamp out of range")
    public = identity.ed25519_key.public_key().public_bytes_raw()
    signature = identity.ed25519_key.sign(_cosigned_message(note.text, timestamp))
    return NoteSignature(
        witness_name, _cosigner_key_id(witness_name, public), struct.pack(">Q", timestamp) + signature
    )


def verify_cosignature(note: SignedNote, signature: NoteSignature, witness: NodeCard) -> Cosignature:
    """Check one cosignature line by ``witness`` over ``note``; raise unless it verifies."""
    public = witness.keys.ed25519_raw()
    if signature.name != witness.origin or signature.key_id != _cosigner_key_id(witness.origin, public):
        raise LedgerError("cosignature is not from this witness", code="ledger.unknown_witness")
    if len(signature.signature) != 8 + ED25519_SIG:
        raise LedgerError("cosignature has the wrong length", code="ledger.bad_cosignature")
    (timestamp,) = struct.unpack(">Q", signature.signature[:8])
    if not 0 < timestamp < 2**63:
        raise LedgerError("cosignature timestamp out of range", code="ledger.bad_cosignature")
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public).verify(
            signature.signature[8:], _cosigned_message(note.text, timestamp)
        )
    except InvalidSignature as exc:
        raise LedgerError("cosignature does not verify", code="ledger.bad_cosignature") from exc
    return Cosignature(witness.id, timestamp, signature.line())


def require_cosigned_by(note: SignedNote, witness: NodeCard) -> Cosignature:
    """The cosignature ``witness`` made over ``note``; ``ledger.not_witnessed`` unless one of its lines
    verifies (so the holder of ``witness``'s key saw, and checked, this very tree)."""
    for signature in note.signatures:
        try:
            return verify_cosignature(note, signature, witness)
        except LedgerError:
            continue
    raise LedgerError(f"the checkpoint carries no cosignature by {witness.name}", code="ledger.not_witnessed")


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    return _cosigner_key_id(name, public_key)
