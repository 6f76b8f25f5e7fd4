"""Settings: explicit values, then AIRRC_* variables, then <home>/airrc.toml."""

import pytest
from pydantic import ValidationError

from airrc.config import Settings


def test_the_home_settings_file_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    (tmp_path / "airrc.toml").write_text(
        '[hotline]\nack_seconds = {FLASH = 7}\n[[hotline.roster]]\nname = "lead"\ncontacts = ["+1 555 0100"]\n'
    )
    settings = Settings(home=tmp_path)
    assert settings.hotline.ack_seconds == {"FLASH": 7}
    assert settings.hotline.roster[0].contacts == ["+1 555 0100"]
    monkeypatch.setenv("AIRRC_HOME", str(tmp_path))
    assert Settings().hotline.ack_seconds == {"FLASH": 7}
    monkeypatch.setenv("AIRRC_HOTLINE__ACK_SECONDS", '{"FLASH": 3}')
    assert Settings().hotline.ack_seconds == {"FLASH": 3}


def test_a_bad_settings_file_is_refused(tmp_path):
    (tmp_path / "airrc.toml").write_text("[hotline]\nack_seconds = {FLASH = 0}\n")
    with pytest.raises(ValidationError):
        Settings(home=tmp_path)
    (tmp_path / "airrc.toml").write_text("[hotline]\nunknown = 1\n")
    with pytest.raises(ValidationError):
        Settings(home=tmp_path)
