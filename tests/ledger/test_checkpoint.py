import base64

import pytest

from airrc.crypto.keys import NodeIdentity
from airrc.crypto.trust import make_genesis_card
from airrc.errors import LedgerError
from airrc.ledger.checkpoint import (
    Checkpoint,
    NoteSignature,
    SignedNote,
    cosign,
    parse_checkpoint_text,
    parse_note,
    sign_checkpoint,
    verify_checkpoint,
    verify_cosignature,
)
from airrc.ledger.merkle import EMPTY_ROOT, root


@pytest.fixture(scope="module")
def log_key():
    identity = NodeIdentity.generate()
    return identity, make_genesis_card(identity, name="us-log")


def _note(log_key, size=3):
    identity, card = log_key
    return sign_checkpoint(Checkpoint(card.origin, size, root([b"a", b"b", b"c"][:size])), identity)


def test_checkpoint_roundtrip_and_format(log_key):
    _, card = log_key
    note = _note(log_key)
    text = note.serialise()
    lines = text.split("\n")
    assert lines[0] == card.origin
    assert lines[1] == "3"
    assert lines[3] == ""
    assert all(line.startswith("\u2014 " + card.origin + " ") for line in lines[4:-1])
    assert verify_checkpoint(parse_note(text), card).size == 3


def test_ed25519_line_uses_the_card_vkey_key_id(log_key):
    _, card = log_key
    note = _note(log_key)
    vkey_id = bytes.fromhex(card.vkey.split("+", 2)[1])
    assert note.signatures[0].key_id == vkey_id


def test_unknown_signature_lines_are_ignored(log_key):
    _, card = log_key
    text = (
        _note(log_key).serialise()
        + "\u2014 other.example/w1 "
        + base64.b64encode(b"\x00" * 40).decode()
        + "\n"
    )
    assert verify_checkpoint(parse_note(text), card).size == 3


@pytest.mark.parametrize("which", [0, 1])
def test_each_log_signature_is_required_and_checked(log_key, which):
    _, card = log_key
    note = _note(log_key)
    missing = SignedNote(note.text, (note.signatures[1 - which],))
    with pytest.raises(LedgerError) as err:
        verify_checkpoint(missing, card)
    assert err.value.code == "ledger.bad_signature"
    sig = note.signatures[which]
    broken = NoteSignature(sig.name, sig.key_id, bytes([sig.signature[0] ^ 1]) + sig.signature[1:])
    sigs = list(note.signatures)
    sigs[which] = broken
    with pytest.raises(LedgerError):
        verify_checkpoint(SignedNote(note.text, tuple(sigs)), card)


def test_wrong_key_id_is_an_unknown_key(log_key):
    _, card = log_key
    note = _note(log_key)
    renamed = tuple(NoteSignature(s.name, b"\x00\x00\x00\x00", s.signature) for s in note.signatures)
    with pytest.raises(LedgerError) as err:
        verify_checkpoint(SignedNote(note.text, renamed), card)
    assert err.value.code == "ledger.bad_signature"


def test_checkpoint_from_another_log_is_refused(log_key):
    other = NodeIdentity.generate()
    other_card = make_genesis_card(other, name="xx-other")
    with pytest.raises(LedgerError) as err:
        verify_checkpoint(_note(log_key), other_card)
    assert err.value.code == "ledger.unknown_log"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "origin\n3\nroot\n",  # no blank line / signatures
        "origin\n03\nAAAA\n\n\u2014 k AAAAAAAA\n",
        "a\n3\n" + base64.b64encode(b"x" * 32).decode() + "\n\n\u2014 k not-base64!\n",
        "a\n3\n" + base64.b64encode(b"x" * 32).decode() + "\n\n- k AAAAAAAA\n",
        "a\n3\n" + base64.b64encode(b"x" * 32).decode() + "\n\n\u2014 k AAAAAAAA",  # no final newline
        "a\x01\n3\n" + base64.b64encode(b"x" * 32).decode() + "\n\n\u2014 k AAAAAAAA\n",
    ],
)
def test_malformed_notes_are_typed_errors(text):
    with pytest.raises(LedgerError) as err:
        note = parse_note(text)
        parse_checkpoint_text(note.text)
    assert err.value.code.startswith("ledger.")


@pytest.mark.parametrize(
    "body",
    [
        "o\n-1\n{root}\n",
        "o\n01\n{root}\n",
        "o\n1\nnotbase64!\n",
        "o\n1\n" + base64.b64encode(b"short").decode() + "\n",
        "o\n0\n{root}\n",  # size 0 needs the empty root
        "o\n1\n{root}\nextension\n",
        "o\n1\n{root}",
    ],
)
def test_checkpoint_text_is_strict(body):
    with pytest.raises(LedgerError):
        parse_checkpoint_text(body.replace("{root}", base64.b64encode(b"r" * 32).decode()))
    assert parse_checkpoint_text("o\n0\n" + base64.b64encode(EMPTY_ROOT).decode() + "\n").size == 0


def test_cosignature_roundtrip_and_tamper(log_key):
    witness = NodeIdentity.generate()
    witness_card = make_genesis_card(witness, name="cn-witness")
    note = _note(log_key)
    line = cosign(note, witness, witness_card.origin, 1_700_000_000)
    result = verify_cosignature(note, parse_note(note.serialise() + line.line()).signatures[-1], witness_card)
    assert result.timestamp == 1_700_000_000
    # The cosignature message starts with the cosignature/v1 header and a time line (C2SP).
    other = _note(log_key, size=2)
    with pytest.raises(LedgerError) as err:
        verify_cosignature(other, line, witness_card)
    assert err.value.code == "ledger.bad_cosignature"
    with pytest.raises(LedgerError) as unknown:
        verify_cosignature(note, line, make_genesis_card(NodeIdentity.generate(), name="zz"))
    assert unknown.value.code == "ledger.unknown_witness"
