"""A real local model (SmolLM2-135M in process) planned, evaluated and attested by one real node; verified,
re-run and endorsed by another; verdicts per requirement and per framework in English and Chinese."""

import json

import pytest

from tests.e2e.conftest import cli, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_real_model_is_attested_by_one_node_and_verified_rerun_and_endorsed_by_another(cluster):
    us, cn = cluster.add("us-eval"), cluster.add("cn-eval")
    cluster.pin_all()
    cluster.start()
    unknown = cli(
        "eval", "plan", "--model", "gguf/smollm2-135m", "--suite", "weather", home=us.home, check=False
    )
    assert unknown.returncode == 1
    assert "standards.unknown_suite" in unknown.stderr

    plan = cli(
        "eval",
        "plan",
        "--model",
        "gguf/smollm2-135m",
        "--suite",
        "bio_chem",
        "--samples-per-kind",
        "5",
        "--witness",
        "cn-eval",
        home=us.home,
    ).stdout.split()[-1]
    ran = cli("eval", "run", "--plan", plan, home=us.home)
    assert "BIO-1" in ran.stdout
    assert "log digest" in ran.stdout
    attestation = cli("eval", "attest", "--plan", plan, home=us.home).stdout.split()[-1]
    again = cli("eval", "attest", "--plan", plan, home=us.home, check=False)
    assert again.returncode == 1
    assert "standards.already_attested" in again.stderr

    def attestations(home):
        return json.loads(cli("eval", "show", "--json", home=home).stdout)

    wait_until(
        lambda: [a["id"] for a in attestations(cn.home)] == [attestation], what="the attestation at cn"
    )
    (seen,) = attestations(cn.home)
    assert {r["requirement"] for r in seen["results"]} == {"BIO-1", "BIO-2"}
    assert sum(r["n"] for r in seen["results"]) == 20  # 5 + 5 samples, each in English and Chinese

    verified = cli("eval", "verify", attestation, "--rerun", "--endorse", "--lang", "both", home=cn.home)
    out = verified.stdout
    for text in ("attestation verified", "rerun", "endorsement", "re-run within tolerance"):
        assert text in out, text
    for text in ("BIO-1", "BIO-2", "nist-ai-600-1", "2.1", "CBRN", "tc260-v1", "两用物项"):
        assert text in out, text
    assert any(word in out for word in ("未达标", "无定论", "达标")), out

    wait_until(lambda: attestations(us.home)[0]["endorsements"], what="the endorsement at us")
    (mine,) = attestations(us.home)
    assert mine["endorsements"][0]["rerun"] is True
    shown = cli("eval", "show", attestation, "--lang", "zh", home=us.home).stdout
    assert "cn-eval" in shown
    assert "生物" in shown
