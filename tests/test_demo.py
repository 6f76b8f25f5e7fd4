import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.e2e
def test_demo_runs_two_real_nodes():
    result = subprocess.run(
        [sys.executable, "-m", "harness.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "COLUMNS": "200"},  # no wrapping of the lines checked below
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "us-demo" in result.stdout
    assert "cn-demo" in result.stdout
    assert "demo finished" in result.stdout
    assert "receipted; latency p50" in result.stdout
    assert "受影响行业\uff1a能源与电网" in result.stdout  # the full-width colon of Chinese text
    assert "Affected sector: Energy and power grid" in result.stdout
    assert "personal name and contacts scrubbed: True" in result.stdout
    assert "cn-demo received report" in result.stdout
    assert "cn-demo: withheld (tlp.red_never_leaves)" in result.stdout
    assert "opens crisis channel" in result.stdout
    assert " from report " in result.stdout
    assert "acknowledged by duty officer wei" in result.stdout
    assert "not acknowledged by cn-demo: escalation step 1, told watch-lead" in result.stdout
    assert result.stdout.count("transcript, verified offline: transcript verified") == 2
    assert "expired with 1/2 approvals" in result.stdout
    assert "authorized, checked offline by the actuator, executed" in result.stdout
    assert "0 violation(s)" in result.stdout
    assert "attestation verified" in result.stdout
    assert "us-demo holds cn-demo's endorsement" in result.stdout
    assert "CI-1" in result.stdout
