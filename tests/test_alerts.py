import json
import sys

from airrc.alerts import AlertNotifier, Alerts


def test_alert_runs_the_configured_command_after_commit(node, tmp_path):
    target = tmp_path / "alert.json"
    script = f"import sys, pathlib; pathlib.Path({str(target)!r}).write_bytes(sys.stdin.buffer.read())"
    alerts = Alerts(AlertNotifier(None, [sys.executable, "-c", script]))
    threads = []
    original = alerts.notifier.notify
    alerts.notifier.notify = lambda alert: threads.append(original(alert))  # type: ignore[method-assign]
    with node.store.session() as session:
        alerts.raise_alert(
            session, "ledger.inconsistent", "split view of cn-demo", severity="critical", size=7
        )
        assert threads == []  # nothing leaves before the transaction commits
    for thread in threads:
        thread.join(timeout=30)
    delivered = json.loads(target.read_text())
    assert delivered["code"] == "ledger.inconsistent"
    assert delivered["details"] == {"size": 7}


def test_alert_of_a_rolled_back_transaction_is_not_sent(node):
    sent = []
    alerts = Alerts(AlertNotifier(None, ["true"]))
    alerts.notifier.notify = sent.append  # type: ignore[method-assign]
    try:
        with node.store.session() as session:
            alerts.raise_alert(session, "x.y", "never committed")
            raise RuntimeError
    except RuntimeError:
        pass
    assert sent == []
    with node.store.session() as session:
        assert alerts.list(session) == []
