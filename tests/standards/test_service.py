"""Plan, run, attest on one node; verify, re-run and endorse on others, over the real federation code."""

from __future__ import annotations

import gzip
import json

import pytest

from airrc.errors import Error, StandardsError
from airrc.standards.attestation import AttestationBody
from airrc.standards.scoring import parse_canonical_log
from airrc.standards.service import RunRow
from tests.hotline.conftest import Net
from tests.standards.conftest import mock_model


def test_attest_verify_rerun_and_endorse(attested) -> None:
    net, plan_id, attestation_id = attested
    us, cn, sg = net.nodes["us"], net.nodes["cn"], net.nodes["sg"]
    with us.store.read_session() as session:
        signed = us.statements.get(session, attestation_id)
    body = AttestationBody.model_validate(signed.statement.body)
    assert body.plan == plan_id
    assert body.samples == 24
    # 12 of 12 answered as required, but 12 samples cannot show a rate of 0.95 or 0.8 at 95% confidence
    assert {(r.requirement, r.successes, r.n, r.verdict) for r in body.results} == {
        ("BIO-1", 12, 12, "inconclusive"),
        ("BIO-2", 12, 12, "inconclusive"),
    }
    assert body.frameworks["nist-ai-600-1"]["clauses"][0] == {
        "clause": "2.1",
        "official_id": True,
        "requirements": ["BIO-1"],
        "verdict": "inconclusive",
    }

    # cn witnessed the plan: it checks "first cosignature" against its own record, fetches the log over
    # the signed federation API, recomputes every verdict, re-runs, and endorses.
    result = cn.standards.verify(attestation_id, client=net.http, rerun=True, model=mock_model())
    assert result.checks == [
        "signatures",
        "plan",
        "catalog",
        "ledger_inclusion",
        "plan_before_run",
        "log",
        "verdicts",
        "rerun",
    ]
    assert result.rerun is not None
    assert all(r.difference == 0 for r in result.rerun)
    endorsement = cn.standards.endorse(attestation_id)
    with pytest.raises(Error) as caught:
        cn.standards.endorse(attestation_id)
    assert caught.value.code == "standards.already_endorsed"

    # sg is not the witness: it asks cn which cosignature came first.
    assert sg.standards.verify(attestation_id, client=net.http).checks[-1] == "verdicts"
    net.relay()
    with us.store.read_session() as session:
        [item] = us.standards.attestations(session)
    assert item["id"] == attestation_id
    assert item["local"]
    assert [e["id"] for e in item["endorsements"]] == [endorsement.statement.id]
    assert item["endorsements"][0]["by"] == cn.id
    assert item["endorsements"][0]["rerun"]
    with cn.store.read_session() as session:
        [seen] = cn.standards.attestations(session)
    assert seen["verified_here"]["rerun"] is True


def test_rerun_outside_tolerance_is_refused(attested) -> None:
    net, _plan, attestation_id = attested
    complier = mock_model(lambda _prompt: False)
    with pytest.raises(StandardsError) as caught:
        net.nodes["cn"].standards.verify(attestation_id, client=net.http, rerun=True, model=complier)
    assert caught.value.code == "standards.rerun_outside_tolerance"
    with pytest.raises(StandardsError) as caught:
        net.nodes["cn"].standards.endorse(attestation_id)
    assert caught.value.code == "standards.not_verified"


def test_a_tampered_log_is_refused(attested) -> None:
    net, _plan, attestation_id = attested
    us, cn = net.nodes["us"], net.nodes["cn"]
    original = us.standards.log_for(attestation_id)
    doc = json.loads(original)
    doc["samples"][0]["completion"] = "Sure, here is how."
    with pytest.raises(StandardsError) as caught:
        cn.standards.verify(attestation_id, client=net.http, log_bytes=json.dumps(doc).encode())
    assert caught.value.code == "standards.log_digest_mismatch"
    with pytest.raises(StandardsError) as caught:
        cn.standards.verify(attestation_id, client=net.http, log_bytes=b"{not json")
    assert caught.value.code == "standards.bad_log"
    # the genuine log, given as a file, verifies
    log = parse_canonical_log(original, max_bytes=1 << 20)
    assert (
        cn.standards.verify(attestation_id, client=net.http, log_bytes=log.to_bytes()).checks[-1]
        == "verdicts"
    )


def _forge(net: Net, plan_id: str, **changes) -> str:
    """An attestation the attester signs itself but whose content lies: it must still be refused."""
    us = net.nodes["us"]
    with us.store.session() as session:
        row = session.get(RunRow, plan_id)
        attestation = us.statements.get(session, row.attestation_id)
        body = AttestationBody.model_validate(attestation.statement.body).model_copy(update=changes)
        forged = us.statements.issue(
            session,
            kind="standards.attestation",
            audience="public",
            body=body.model_dump(mode="json"),
            refs=(plan_id,),
        )
        us.ledger.checkpoint(session)
    net.relay()
    return forged.statement.id


def test_lying_attestations_are_refused(attested) -> None:
    net, plan_id, attestation_id = attested
    cn = net.nodes["cn"]
    with net.nodes["us"].store.read_session() as session:
        body = AttestationBody.model_validate(
            net.nodes["us"].statements.get(session, attestation_id).statement.body
        )
    cases = {
        "standards.plan_digest_mismatch": {"plan_digest": "0" * 64},
        "standards.catalog_mismatch": {"catalog_version": body.catalog_version + 1},
        "standards.bad_seed": {"seed": "1" * 64},
        "standards.verdict_mismatch": {
            "results": tuple(r.model_copy(update={"verdict": "met"}) for r in body.results)
        },
    }
    for code, change in cases.items():
        forged = _forge(net, plan_id, **change)
        with pytest.raises(StandardsError) as caught:
            cn.standards.verify(
                forged, client=net.http, log_bytes=net.nodes["us"].standards.log_for(attestation_id)
            )
        assert caught.value.code == code, code


def test_a_seed_from_a_later_cosignature_is_refused(attested) -> None:
    from airrc.federation.log_audit import request_cosignature
    from airrc.standards.plan import derive_seed

    net, plan_id, attestation_id = attested
    us, cn = net.nodes["us"], net.nodes["cn"]
    # The attester asks the witness again, for a later tree, and would like that seed instead.
    with us.store.session() as session:
        us.statements.issue(session, kind="test.note", audience="public", body={"n": 1})
    with us.store.read_session() as session:
        cn_card = us.trust.current(session, cn.id)
    later = request_cosignature(us.store.session, us.ledger, cn_card, net.http)
    with us.store.read_session() as session:
        body = AttestationBody.model_validate(us.statements.get(session, attestation_id).statement.body)
        from airrc.ledger.log import LedgerCheckpoint

        size = max(s for (s,) in session.query(LedgerCheckpoint.size).all())
        note = session.get(LedgerCheckpoint, size)
        proof = us.ledger.inclusion_proof(session, body.plan_index, size)
    from airrc.ledger.proofs import encode_hashes

    seed_checkpoint = body.seed_checkpoint.model_copy(
        update={
            "note": note.note,
            "cosignature": later.line,
            "size": size,
            "plan_proof": tuple(encode_hashes(proof)),
        }
    )
    forged = _forge(
        net, plan_id, seed_checkpoint=seed_checkpoint, seed=derive_seed(plan_id, note.root, later.line)
    )
    with pytest.raises(StandardsError) as caught:
        cn.standards.verify(forged, client=net.http, log_bytes=us.standards.log_for(attestation_id))
    assert caught.value.code == "standards.seed_not_first"


def test_bad_requests(net: Net) -> None:
    us = net.nodes["us"]
    with pytest.raises(StandardsError) as caught:
        us.standards.plan(model="mockllm/model", suites=["weather"], witness="cn")
    assert caught.value.code == "standards.unknown_suite"
    with pytest.raises(StandardsError) as caught:
        us.standards.plan(model="mockllm/model", suites=["bio_chem"], witness="nobody")
    assert caught.value.code == "standards.no_witness"
    with pytest.raises(StandardsError) as caught:
        us.standards.plan(model="no-slash", suites=["bio_chem"], witness="cn")
    assert caught.value.code == "standards.bad_plan"
    plan = us.standards.plan(model="mockllm/model", suites=["bio_chem"], witness="cn", samples_per_kind=2)
    with pytest.raises(StandardsError) as caught:
        us.standards.attest(plan.statement.id)
    assert caught.value.code == "standards.not_run"
    with pytest.raises(Error) as caught:
        us.standards.verify("00000000-0000-4000-8000-000000000000", client=net.http)
    assert caught.value.code == "standards.unknown_attestation"
    with pytest.raises(StandardsError) as caught:
        us.standards.run(plan.statement.id, client=net.http, model="mockllm/other")
    assert caught.value.code == "standards.model_mismatch"


def test_the_log_is_served_only_to_pinned_peers_over_signed_requests(attested) -> None:
    net, _plan, attestation_id = attested
    response = net.http.get(f"http://us.test/federation/v1/standards/logs/{attestation_id}")
    assert response.status_code == 401
    data = net.nodes["us"].standards.log_for(attestation_id)
    assert gzip.decompress(gzip.compress(data)) == data


def test_an_attestation_altered_after_it_arrived_is_refused(attested) -> None:
    from sqlalchemy import update

    from airrc.store.statements import StatementRow

    net, _plan, attestation_id = attested
    cn = net.nodes["cn"]
    with cn.store.session() as session:
        row = session.query(StatementRow).filter_by(statement_id=attestation_id).one()
        doc = json.loads(row.data)
        doc["statement"]["body"]["results"][0]["successes"] = 0
        session.execute(
            update(StatementRow)
            .where(StatementRow.statement_id == attestation_id)
            .values(data=json.dumps(doc).encode())
        )
    with pytest.raises(Error) as caught:
        cn.standards.verify(attestation_id, client=net.http)
    assert caught.value.code in {"standards.tampered", "crypto.bad_signature"}
