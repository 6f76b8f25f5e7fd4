"""The CLI as a user runs it: separate processes, exit codes, stdout and stderr."""

import json
import subprocess
import sys

import pytest

from airrc.errors import Error
from tests.conftest import cli as airrc

PASSWORD = "cli admin password"


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    homes = {}
    for name in ("us-cli", "cn-cli"):
        homes[name] = base / name
        out = airrc(
            "init",
            "--name",
            name,
            "--public-url",
            f"http://127.0.0.1:9/{name}",
            "--country",
            name[:2].upper(),
            "--password-stdin",
            home=homes[name],
            stdin=PASSWORD + "\n",
        )
        assert "initialised" in out.stdout
        assert PASSWORD not in out.stdout
    return homes


def test_init_generates_and_prints_a_password_once(tmp_path):
    out = airrc("init", "--name", "sg-cli", "--country", "sg", home=tmp_path / "n").stdout
    assert "password (shown once)" in out
    assert 'country = "SG"' in (tmp_path / "n" / "airrc.toml").read_text()
    again = airrc("init", "--name", "sg-cli", home=tmp_path / "n", check=False)
    assert again.returncode != 0
    assert "error[config.already_initialised]" in again.stderr


def test_card_export_import_and_peer_list(homes, tmp_path):
    card = airrc("card", "export", home=homes["us-cli"]).stdout
    assert json.loads(card)["name"] == "us-cli"
    path = tmp_path / "us.json"
    path.write_text(card)
    imported = airrc("card", "import", str(path), home=homes["cn-cli"])
    assert "pinned us-cli" in imported.stdout
    # Importing the same card again is idempotent.
    airrc("card", "import", "-", home=homes["cn-cli"], stdin=card)
    assert "us-cli" in airrc("peer", "list", home=homes["cn-cli"]).stdout


def test_import_of_tampered_card_fails_with_code(homes, tmp_path):
    doc = json.loads(airrc("card", "export", home=homes["cn-cli"]).stdout)
    doc["endpoints"] = ["http://evil.example/"]
    bad = airrc("card", "import", "-", home=homes["us-cli"], stdin=json.dumps(doc), check=False)
    assert bad.returncode == 1
    assert "error[trust.bad_card_signature]" in bad.stderr
    garbage = airrc("card", "import", "-", home=homes["us-cli"], stdin="{nope", check=False)
    assert "error[input.malformed_json]" in garbage.stderr
    missing = airrc("card", "import", str(tmp_path / "none.json"), home=homes["us-cli"], check=False)
    assert "error[input.unreadable_file]" in missing.stderr


def test_token_create_prints_only_the_token(homes):
    out = airrc(
        "token",
        "create",
        "--principal",
        "admin",
        "--expires",
        "2",
        home=homes["us-cli"],
    ).stdout
    assert out.count("\n") == 1
    assert out.startswith("airrc_")
    # A token never carries a personal key, so there is no password to give it.
    wrong = airrc(
        "token", "create", "--password-stdin", home=homes["us-cli"], stdin=PASSWORD + "\n", check=False
    )
    assert wrong.returncode != 0
    assert "--password-stdin" in wrong.stderr


def test_user_add_and_alerts(homes):
    airrc(
        "user",
        "add",
        "officer",
        "--role",
        "duty_officer",
        "--password-stdin",
        home=homes["us-cli"],
        stdin="officer password 1\n",
    )
    assert "officer" in airrc("user", "list", home=homes["us-cli"]).stdout
    bad = airrc(
        "user",
        "add",
        "x",
        "--role",
        "emperor",
        "--password-stdin",
        home=homes["us-cli"],
        stdin="some password here\n",
        check=False,
    )
    assert "error[auth.bad_role]" in bad.stderr
    listed = json.loads(airrc("alerts", "list", "--json", home=homes["us-cli"]).stdout)
    assert listed == []
    missing = airrc("alerts", "ack", "42", home=homes["us-cli"], check=False)
    assert "error[alert.not_found]" in missing.stderr


def test_commands_on_a_missing_home_fail_clearly(tmp_path):
    out = airrc("peer", "list", home=tmp_path / "nothing", check=False)
    assert out.returncode == 1
    assert "error[config.no_keys]" in out.stderr or "error[config.not_initialised]" in out.stderr
    assert "AIRRC_HOME" in out.stderr  # says how to find the node, not only how to make another


def test_the_default_home_is_the_same_from_any_directory(tmp_path, monkeypatch):
    from airrc.config import Settings, default_home

    monkeypatch.delenv("AIRRC_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert default_home() == tmp_path / "user" / ".airrc"
    assert Settings().home == tmp_path / "user" / ".airrc"
    (elsewhere / ".airrc").mkdir()  # a node in the working directory is still found first
    assert Settings().home == elsewhere / ".airrc"


def test_serve_refuses_an_unmigrated_database(homes, tmp_path):
    env_db = f"sqlite:///{tmp_path / 'empty.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "airrc", "serve", "--home", str(homes["us-cli"]), "--port", "0"],
        env={**__import__("os").environ, "AIRRC_DATABASE_URL": env_db},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "error[store.not_migrated]" in result.stderr
    upgraded = subprocess.run(
        [sys.executable, "-m", "airrc", "db", "upgrade", "--home", str(homes["us-cli"])],
        env={**__import__("os").environ, "AIRRC_DATABASE_URL": env_db},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert upgraded.returncode == 0, upgraded.stderr


def test_hotline_fields_from_the_command_line():
    from airrc.cli.hotline import _parse_fields

    fields = _parse_fields(
        [
            "sector=energy_power_grid",
            "needed_within=3600",
            "details@en=Grid",
            "details@zh=电网",
            "text@zh=仅中文",
        ]
    )
    assert fields == {
        "sector": "energy_power_grid",
        "needed_within": 3600,
        "details": {"en": "Grid", "zh": "电网"},
        "text": {"text": "仅中文", "lang": "zh"},
    }
    for bad in ("novalue", "x@fr=bonjour", "=1"):
        with pytest.raises(Error) as refused:
            _parse_fields([bad])
        assert refused.value.code == "input.bad_field_syntax"


def test_standards_catalog_and_crosswalk_tables(tmp_path):
    shown = airrc("standards", "show", "--lang", "zh", home=tmp_path)
    assert "关键基础设施" in shown.stdout
    assert "MIL-1" in shown.stdout
    crosswalk = airrc("standards", "crosswalk", "--framework", "eu-gpai-cop", "--lang", "en", home=tmp_path)
    assert "CoP-SS Appendix 1.4(1)" in crosswalk.stdout
    assert "eu-gpai-cop has no clause for the domain military_decision_making" in crosswalk.stdout
    as_json = json.loads(
        airrc("standards", "crosswalk", "--framework", "tc260-v1", "--json", home=tmp_path).stdout
    )
    assert {row["requirement"] for row in as_json} >= {"CYB-1", "MIL-2"}
    unknown = airrc("standards", "crosswalk", "--framework", "iso-42001", home=tmp_path, check=False)
    assert unknown.returncode == 1
    assert "standards.unknown_framework" in unknown.stderr


def test_init_asks_for_the_country_and_refuses_a_bad_one(tmp_path):
    # Not interactive and no --country: refused before anything is written.
    missing = airrc("init", "--name", "sg-nocountry", home=tmp_path / "a", check=False)
    assert missing.returncode != 0
    assert "error[config.no_country]" in missing.stderr
    assert not (tmp_path / "a" / "card.json").exists()
    bad = airrc("init", "--name", "sg-badcountry", "--country", "ZZ", home=tmp_path / "b", check=False)
    assert bad.returncode != 0
    assert "error[config.bad_country]" in bad.stderr
    assert not (tmp_path / "b" / "card.json").exists()


def test_ledger_checkpoint_prints_a_summary_and_the_note_on_request(homes):
    summary = airrc("ledger", "checkpoint", home=homes["us-cli"]).stdout
    assert "size " in summary
    assert "signed by 2 key(s)" in summary
    assert "\u2014" not in summary  # no raw signature lines
    raw = airrc("ledger", "checkpoint", "--raw", home=homes["us-cli"]).stdout
    origin, size, _root = raw.split("\n")[:3]
    assert origin.startswith("airrc.node/us-cli/")
    assert int(size) >= 1
    assert raw.count("\u2014 ") == 2


def test_alerts_ack_takes_ids_from_arguments_or_stdin(tmp_path):
    from airrc.cli._common import open_node

    home = tmp_path / "alerts"
    airrc("init", "--name", "us-alerts", "--country", "US", home=home)
    node = open_node(home)
    with node.store.session() as s:
        ids = [str(node.alerts.raise_alert(s, "test.raised", f"alert {i}").id) for i in range(3)]
    node.close()
    assert sorted(airrc("alerts", "list", "--ids", home=home).stdout.split()) == sorted(ids)
    bad = airrc("alerts", "ack", ids[0], "x1", home=home, check=False)
    assert "error[input.bad_alert_id]" in bad.stderr
    unknown = airrc("alerts", "ack", ids[0], "999999", home=home, check=False)
    assert "error[alert.not_found]" in unknown.stderr
    assert sorted(airrc("alerts", "list", "--ids", home=home).stdout.split()) == sorted(ids)  # none acked
    assert "1 alert(s) acknowledged" in airrc("alerts", "ack", ids[0], home=home).stdout
    piped = airrc("alerts", "ack", "-", home=home, stdin="\n".join(ids[1:]) + "\n").stdout
    assert "2 alert(s) acknowledged" in piped
    assert airrc("alerts", "list", "--ids", home=home).stdout.split() == []


def test_report_template_is_a_report_that_report_new_accepts(homes, tmp_path):
    template = airrc("report", "template", home=homes["us-cli"])
    assert "# sectors: " in template.stderr
    assert "energy_power_grid" in template.stderr
    source = tmp_path / "report.json"
    source.write_text(template.stdout)
    assert airrc("report", "new", str(source), home=homes["us-cli"]).stdout.startswith("draft ")
    broken = json.loads(template.stdout) | {"severity": "apocalyptic", "sectors": ["power"]}
    source.write_text(json.dumps(broken))
    refused = airrc("report", "new", str(source), home=homes["us-cli"], check=False)
    assert "severity" in refused.stderr
    assert "sectors.0" in refused.stderr  # every problem at once


def test_control_request_from_the_command_line(tmp_path):
    home = tmp_path / "ctl"
    airrc("init", "--name", "us-ctl-cli", "--country", "US", home=home)
    airrc("service", "add", "grid-bot", home=home)
    action = {"operation": "open_breaker", "substation": "north-7"}
    asked = airrc(
        "control",
        "request",
        "--as",
        "grid-bot",
        "--category",
        "critical_infrastructure_shutdown",
        "--action",
        "-",
        "--rationale",
        "cascade risk",
        "--confidence",
        "0.8",
        home=home,
        stdin=json.dumps(action),
    )
    receipt = json.loads(asked.stdout)
    assert receipt["decision"]["state"] == "pending"
    assert len(receipt["salt"]) >= 16
    shown = json.loads(airrc("control", "show", receipt["decision"]["id"], home=home).stdout)
    assert shown["request"] == {"action": action, "rationale": "cascade risk"}
    as_user = airrc(
        "control",
        "request",
        "--as",
        "admin",
        "--category",
        "critical_infrastructure_shutdown",
        "--action",
        "-",
        "--rationale",
        "x",
        "--confidence",
        "0.5",
        home=home,
        stdin="{}",
        check=False,
    )
    assert "error[control.not_a_requester]" in as_user.stderr


def test_hotline_formats_list_and_one_format_with_its_values(homes):
    listed = airrc("hotline", "formats", home=homes["us-cli"]).stdout
    assert "CI_ATTACK_NOTICE" in listed
    assert "LINK_TEST" in listed
    one = airrc("hotline", "formats", "ci_attack_notice", home=homes["us-cli"]).stdout
    assert "sector" in one
    assert "energy_power_grid" in one
    assert any("\u4e00" <= ch <= "\u9fff" for ch in one)  # the Chinese labels are there
    unknown = airrc("hotline", "formats", "NOPE", home=homes["us-cli"], check=False)
    assert "error[hotline.unknown_format]" in unknown.stderr


def test_usage_errors_use_the_error_code_form(homes):
    wrong = airrc("report", "list", "--bogus", home=homes["us-cli"], check=False)
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("error[cli.no_such_option]: No such option: --bogus")
    assert "try 'airrc report list --help'" in wrong.stderr
    bad = airrc("report", "list", "--limit", "many", home=homes["us-cli"], check=False)
    assert bad.stderr.startswith("error[cli.bad_value]: Invalid value for '--limit'")
    missing = airrc("hotline", "send", home=homes["us-cli"], check=False)
    assert missing.stderr.lower().startswith("error[cli.missing_value]: missing argument 'channel'")
    unknown = airrc("nosuch", home=homes["us-cli"], check=False)
    assert unknown.stderr.startswith("error[cli.usage]: No such command 'nosuch'")


@pytest.mark.parametrize(
    "command",
    [
        ("report", "list"),
        ("hotline", "send"),
        ("alerts", "ack"),
        ("control", "request"),
        ("ledger", "checkpoint"),
        ("media", "hash"),
        ("eval", "run"),
    ],
)
def test_help_names_values_in_words_not_python_types(command, tmp_path):
    shown = airrc(*command, "--help", home=tmp_path).stdout
    assert "<" not in shown
    assert "list[" not in shown
    assert "bool" not in shown


def test_help_type_column():
    from airrc.cli._help import shown_type

    assert shown_type("<bool>", is_flag=True) is None
    assert shown_type("<str>", is_flag=False) == "TEXT"
    assert shown_type("<list[str]>", is_flag=False) == "TEXT..."
    assert shown_type("<int>...", is_flag=False) == "INTEGER..."
    assert shown_type("<path>", is_flag=False) == "PATH"
    assert shown_type("<en|zh>", is_flag=False) == "en|zh"
