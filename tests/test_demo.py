import subprocess
import sys

import pytest


@pytest.mark.e2e
def test_demo_runs_two_real_nodes():
    result = subprocess.run(
        [sys.executable, "-m", "airrc", "demo"], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "us-demo" in result.stdout
    assert "cn-demo" in result.stdout
    assert "demo finished" in result.stdout
    assert "receipted; latency p50" in result.stdout
    assert "expired with 1/2 approvals" in result.stdout
    assert "authorized, checked offline by the actuator, executed" in result.stdout
    assert "0 violation(s)" in result.stdout
