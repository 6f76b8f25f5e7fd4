"""Witnessing over the C2SP add-checkpoint endpoint, in-process: two nodes, one log, one witness."""

import base64
import hashlib

import pytest
from fastapi.testclient import TestClient

from airrc.api.app import create_app
from airrc.ledger.checkpoint import parse_checkpoint_text, parse_note, verify_cosignature
from airrc.ledger.log import TransparencyLog


def _digests(n, salt):
    return [hashlib.sha256(f"{salt}-{i}".encode()).digest() for i in range(n)]


@pytest.fixture
def pair(make_node):
    log_node, witness_node = make_node("us-log"), make_node("cn-witness")
    with log_node.store.session() as s:
        log_node.trust.pin_chain(s, witness_node.card_chain())
    with witness_node.store.session() as s:
        witness_node.trust.pin_chain(s, log_node.card_chain())
    return log_node, witness_node


def _body(old, proof, note_text):
    return f"old {old}\n" + "".join(base64.b64encode(p).decode() + "\n" for p in proof) + "\n" + note_text


def _grow_and_sign(node, log, n, salt):
    with node.store.session() as s:
        log.append(s, _digests(n, salt))
        return log.checkpoint(s)


def _submit(client, node, log, old, note):
    size = parse_checkpoint_text(note.text).size
    with node.store.session() as s:
        proof = log.consistency_proof(s, old, size) if 0 < old < size else []
    return client.post("/ledger/v1/witness/add-checkpoint", content=_body(old, proof, note.serialise()))


def test_witness_cosigns_consistent_growth(pair):
    log_node, witness_node = pair
    with TestClient(create_app(witness_node)) as client:
        note = _grow_and_sign(log_node, log_node.ledger, 5, "a")
        first = _submit(client, log_node, log_node.ledger, 0, note)
        assert first.status_code == 200, first.text
        cosig = parse_note(note.text + "\n" + first.text).signatures[0]
        assert verify_cosignature(note, cosig, witness_node.card).timestamp > 0
        stale = _submit(client, log_node, log_node.ledger, 0, note)
        assert stale.status_code == 409
        # C2SP tlog-witness: exactly this media type, no parameters.
        assert stale.headers["content-type"] == "text/x.tlog.size"
        assert stale.text.endswith("\n")
        known = int(stale.text)
        assert known == parse_checkpoint_text(note.text).size
        grown = _grow_and_sign(log_node, log_node.ledger, 300, "b")
        assert _submit(client, log_node, log_node.ledger, known, grown).status_code == 200
        again = _submit(client, log_node, log_node.ledger, parse_checkpoint_text(grown.text).size, grown)
        assert again.status_code == 200


def test_rewritten_history_is_refused_kept_as_evidence_and_alerted(pair, make_node):
    log_node, witness_node = pair
    with TestClient(create_app(witness_node)) as client:
        note = _grow_and_sign(log_node, log_node.ledger, 10, "honest")
        assert _submit(client, log_node, log_node.ledger, 0, note).status_code == 200
        old_size = parse_checkpoint_text(note.text).size
        # The log's operator rewrites history: same keys and origin, a different tree, a valid signature.
        shadow = make_node("shadow")
        forged_log = TransparencyLog(log_node.card.origin, log_node.identity)
        forged = _grow_and_sign(shadow, forged_log, old_size + 20, "rewritten")
        refused = _submit(client, shadow, forged_log, old_size, forged)
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "ledger.inconsistent"
        # Split view: a different root for the size the witness already cosigned.
        same_size = TransparencyLog(log_node.card.origin, log_node.identity)
        split_store = make_node("shadow2")
        with split_store.store.session() as s:
            same_size.append(s, _digests(old_size - same_size.state(s).size, "split"))
            split_note = same_size.checkpoint(s)
        split = client.post(
            "/ledger/v1/witness/add-checkpoint", content=_body(old_size, [], split_note.serialise())
        )
        # C2SP: "If the old size matches the checkpoint size ... roots ... don't match ... 422".
        assert split.status_code == 422
        assert split.json()["error"]["code"] == "ledger.inconsistent"
        # The same split view offered with old size 0: C2SP's answer is 409 with the size we cosigned,
        # and the second root is still kept as evidence and alerted.
        blind = client.post("/ledger/v1/witness/add-checkpoint", content=_body(0, [], split_note.serialise()))
        assert blind.status_code == 409
        assert blind.headers["content-type"] == "text/x.tlog.size"
        assert blind.text == f"{old_size}\n"
    with witness_node.store.session() as s:
        evidence = witness_node.witness.evidence(s)
        alerts = witness_node.alerts.list(s)
        state = witness_node.witness.latest(s, log_node.id)
    assert [e.kind for e in evidence] == ["inconsistent", "split_view", "split_view"]
    assert evidence[0].new_note == forged.serialise()
    assert {a.code for a in alerts} == {"ledger.inconsistent"}
    assert all(a.severity == "critical" for a in alerts)
    assert state.size == old_size  # nothing was cosigned after the refusal


def test_bad_submissions_get_typed_errors_never_500(pair, make_node):
    log_node, witness_node = pair
    stranger = make_node("xx-stranger")
    with TestClient(create_app(witness_node)) as client:
        note = _grow_and_sign(log_node, log_node.ledger, 4, "x")
        size = parse_checkpoint_text(note.text).size
        assert _submit(client, log_node, log_node.ledger, 0, note).status_code == 200
        grown = _grow_and_sign(log_node, log_node.ledger, 40, "y")
        new_size = parse_checkpoint_text(grown.text).size
        with log_node.store.session() as s:
            proof = log_node.ledger.consistency_proof(s, size, new_size)
        cases = {
            "truncated proof": (_body(size, proof[:-1], grown.serialise()), 422, "ledger.bad_proof"),
            "extended proof": (
                _body(size, [*proof, b"\x00" * 32], grown.serialise()),
                422,
                "ledger.bad_proof",
            ),
            "old beyond size": (_body(new_size + 1, [], grown.serialise()), 400, "ledger.bad_size"),
            "non-base64 proof": (f"old {size}\n!!!\n\n" + grown.serialise(), 422, "ledger.bad_base64"),
            "short hash": (f"old {size}\nAAAA\n\n" + grown.serialise(), 422, "ledger.bad_proof"),
            "no old line": ("\n" + grown.serialise(), 400, "ledger.malformed_request"),
            "leading zero": (f"old 0{size}\n\n" + grown.serialise(), 400, "ledger.malformed_request"),
            "malformed note": (f"old {size}\n\ngarbage\n", 422, "ledger.malformed_note"),
            "bad utf-8": (b"old 0\n\n\xff\xfe", 400, "ledger.malformed_request"),
            "unknown log": (
                _body(0, [], _grow_and_sign(stranger, stranger.ledger, 1, "s").serialise()),
                404,
                "ledger.unknown_log",
            ),
        }
        sig = grown.signatures[0]
        tampered = grown.serialise().replace(
            base64.b64encode(sig.key_id + sig.signature).decode(),
            base64.b64encode(sig.key_id + bytes(64)).decode(),
        )
        cases["forged signature"] = (_body(size, proof, tampered), 403, "ledger.bad_signature")
        for name, (body, status, code) in cases.items():
            response = client.post(
                "/ledger/v1/witness/add-checkpoint",
                content=body if isinstance(body, bytes) else body.encode(),
            )
            assert response.status_code == status, (name, response.text)
            assert response.json()["error"]["code"] == code, name
        big = client.post("/ledger/v1/witness/add-checkpoint", content=b"old 0\n" + b"A" * 100_000)
        assert big.status_code in (400, 413)
        assert _submit(client, log_node, log_node.ledger, size, grown).status_code == 200


def test_public_read_endpoints(pair):
    log_node, _ = pair
    with TestClient(create_app(log_node)) as client:
        note = _grow_and_sign(log_node, log_node.ledger, 20, "r")
        size = parse_checkpoint_text(note.text).size
        served = client.get("/ledger/v1/checkpoint")
        assert served.status_code == 200
        assert served.text.startswith(log_node.card.origin + "\n")
        entries = client.get(f"/ledger/v1/entries?start=0&end={size}").json()["entries"]
        assert len(entries) == size
        proof = client.get(f"/ledger/v1/proof/inclusion?index=3&size={size}").json()["hashes"]
        assert all(len(base64.b64decode(h)) == 32 for h in proof)
        for path, code in (
            (f"/ledger/v1/proof/inclusion?index={size}&size={size}", "ledger.bad_index"),
            (f"/ledger/v1/proof/consistency?old=2&size={size + 1}", "ledger.bad_size"),
            (f"/ledger/v1/entries?start={size}&end={size + 3}", "ledger.bad_range"),
            ("/ledger/v1/proof/inclusion?index=-1&size=3", "input.bad_parameter"),
            ("/ledger/v1/proof/inclusion?index=x&size=3", "input.bad_parameter"),
        ):
            response = client.get(path)
            assert 400 <= response.status_code < 500, path
            assert response.json()["error"]["code"] == code, path
