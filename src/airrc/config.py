"""Typed settings of a node. Built explicitly and passed to :class:`airrc.node.Node`; never at import."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from airrc.errors import ConfigError

__all__ = [
    "NO_NODE_HINT",
    "SETTINGS_FILE",
    "HotlineSettings",
    "Limits",
    "RosterLevel",
    "Settings",
    "check_country",
    "default_home",
]
NO_NODE_HINT = (
    "give --home DIR or set AIRRC_HOME to the directory `airrc init` created (looked in --home, AIRRC_HOME, "
    "./.airrc, ~/.airrc); `airrc init --name NAME --country CC` creates a new node"
)

SETTINGS_FILE = "airrc.toml"


def default_home() -> Path:
    """Where a node lives when neither ``--home`` nor ``AIRRC_HOME`` says: ``./.airrc`` if this directory
    holds one, else ``~/.airrc`` (the same node from any working directory)."""
    local = Path(".airrc")
    return local if local.is_dir() else Path("~/.airrc").expanduser()


def check_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased; otherwise ``config.bad_country``."""
    import pycountry

    if len(value) != 2 or pycountry.countries.get(alpha_2=value.upper()) is None:
        raise ConfigError(f"{value!r} is not an ISO 3166-1 alpha-2 country code", code="config.bad_country")
    return value.upper()


class Limits(BaseModel):
    """Bounds on everything that comes in."""

    model_config = {"frozen": True, "extra": "forbid"}

    max_request_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_statement_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_batch_length: int = Field(default=500, ge=1)
    clock_skew_seconds: int = Field(default=300, ge=0, le=86_400)
    max_card_bytes: int = Field(default=64 * 1024, ge=1024)
    max_eval_log_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    # An image to hash (over the REST API also bounded by max_request_bytes).
    max_media_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    # A file brought in by an operator: a hotline transcript, a control audit bundle, a STIX bundle or report.
    max_input_file_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)


class RosterLevel(BaseModel):
    """One level of the local on-call roster, told when a hotline deadline passes."""

    model_config = {"frozen": True, "extra": "forbid"}

    name: str = Field(min_length=1, max_length=64)
    contacts: list[str] = Field(default_factory=list, max_length=32)
    command: list[str] | None = None
    webhook_url: str | None = None


class HotlineSettings(BaseModel):
    """Hotline deadlines (seconds per precedence; per peer agreement by peer name or id) and escalation."""

    model_config = {"frozen": True, "extra": "forbid"}

    ack_seconds: dict[str, int] = Field(default_factory=dict)
    peer_ack_seconds: dict[str, dict[str, int]] = Field(default_factory=dict)
    roster: list[RosterLevel] = Field(default_factory=list, max_length=16)
    drill_interval_seconds: float = Field(default=86_400.0, gt=0)
    deadline_check_seconds: float = Field(default=1.0, gt=0, le=300)

    @field_validator("ack_seconds")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        if any(v < 1 for v in value.values()):
            raise ValueError("acknowledgement windows are at least one second")
        return value


class Settings(BaseSettings):
    """Node settings; environment variables use the prefix ``AIRRC_`` (nested with ``__``)."""

    model_config = SettingsConfigDict(env_prefix="AIRRC_", env_nested_delimiter="__", extra="forbid")

    home: Path = Field(default_factory=default_home)
    database_url: str | None = None
    bind_host: str = "127.0.0.1"
    bind_port: int = Field(default=8700, ge=0, le=65535)
    public_urls: list[str] = Field(default_factory=list)
    # Behind a TLS-terminating reverse proxy: the base URL peers reach this node at (one of the card's
    # endpoints). RFC 9421's @target-uri is verified and signed as this base + the request's path.
    public_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s?#]+$", max_length=2000)
    country: str | None = Field(
        default=None, min_length=2, max_length=2, description="ISO 3166-1 code: origin of imported reports"
    )
    limits: Limits = Field(default_factory=Limits)
    hotline: HotlineSettings = Field(default_factory=HotlineSettings)
    federation_poll_seconds: float = Field(default=0.05, gt=0, le=60)
    federation_max_age_seconds: int = Field(default=300, ge=10, le=3600)
    federation_max_backoff_seconds: float = Field(default=60.0, gt=0, le=3600)
    sync_interval_seconds: float = Field(default=30.0, gt=0)
    witness_interval_seconds: float = Field(default=60.0, gt=0)
    link_test_interval_seconds: float = Field(default=300.0, gt=0)
    link_failure_after_seconds: float = Field(default=900.0, gt=0)
    checkpoint_interval_seconds: float = Field(default=30.0, gt=0, le=86_400)
    http_header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    http_body_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    http_max_connections: int = Field(default=1000, ge=8, le=100_000)
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    # A console sign-in unused this long ends (its token is revoked); live updates do not count as use.
    console_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # Received reports at or above this severity, in a watched sector (none listed: every sector), raise
    # an `exchange.watched_report` alert that names the command opening a hotline channel from it.
    watch_severity: Literal["low", "medium", "high", "critical"] = "high"
    watch_sectors: list[str] = Field(default_factory=list, max_length=100)
    alert_webhook_url: str | None = None
    alert_command: list[str] | None = None
    dev: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values, then ``AIRRC_*`` variables, then ``<home>/airrc.toml``: the file is what makes
        ``airrc serve`` and every CLI command on the same home agree (deadlines, roster, intervals)."""
        kwargs = getattr(init_settings, "init_kwargs", {})
        home = Path(kwargs.get("home") or os.environ.get("AIRRC_HOME") or default_home()).expanduser()
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=home / SETTINGS_FILE),
        )

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_country(value)
        except ConfigError as exc:
            raise ValueError(exc.message) from exc

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @property
    def resolved_database_url(self) -> str:
        """The configured database URL, or the SQLite file ``node.db`` under the home."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'node.db'}"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"
