"""Runtime settings from `LAURELS_*` environment variables and an optional TOML file.

Nothing here touches the network or the database at import time; `load_settings()` is
called by the runner once.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Settings", "load_settings"]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///laurels.db"


class Settings(BaseSettings):
    """Everything an operator can set. Secrets are `SecretStr` so they never print."""

    model_config = SettingsConfigDict(env_prefix="LAURELS_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    default_timezone: str = "UTC"
    log_level: str = "INFO"
    # "memory" keeps an in-process rank index (one bot process); "sql" asks the database
    # each time (several bot processes sharing PostgreSQL); "auto": memory on SQLite, sql
    # on PostgreSQL.
    rank_index: str = Field(default="auto", pattern="^(auto|memory|sql)$")
    # Seconds after voting closes before the tally: votes received before the close and
    # still being counted (a busy moment, another process) make it into the results.
    vote_close_grace: float = Field(default=5.0, ge=0, le=300)
    # Seconds a vote waits out a database fault (a restart, a full disk) before its voter
    # is told it was not counted and asked to react again.
    vote_patience: float = Field(default=30.0, gt=0, le=600)

    discord_token: SecretStr | None = None
    discord_guilds: str = ""
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str | None = None
    # Seconds between two announcements in one Slack channel (Slack allows about one a
    # second per channel; 0 turns pacing off).
    slack_channel_interval: float = Field(default=1.0, ge=0, le=60)
    # Socket Mode: seconds between pings; a connection without an answer for four of
    # them is replaced, and slack_sdk waits this long between its reconnect attempts.
    slack_ping_interval: float = Field(default=10.0, gt=0, le=300)

    # A platform that cannot be reached at start is tried again after this many seconds,
    # then twice as long each time, up to the maximum (every platform, Socket Mode too).
    connect_retry_delay: float = Field(default=2.0, gt=0, le=3600)
    connect_retry_max_delay: float = Field(default=300.0, gt=0, le=86_400)

    # The HTTP server (`laurels run --slack-http`, or given a port): /healthz, /readyz,
    # and Slack's events in HTTP mode. 127.0.0.1 unless configured: put a reverse proxy
    # in front (README, deploy/).
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, ge=0, le=65_535)
    http_max_connections: int = Field(default=500, ge=1, le=100_000)
    http_header_timeout: float = Field(default=10.0, gt=0, le=300)
    http_body_timeout: float = Field(default=10.0, gt=0, le=300)
    http_max_body: int = Field(default=1 << 20, ge=1024, le=64 << 20)

    # The web dashboard, on the same HTTP server (`laurels run --web-port`, `laurels
    # web`). Its base URL is the address members open (links from /dashboard start with
    # it; over https:// cookies are Secure); unset: http://<host>:<port>. The secret signs
    # sign-in links and sessions; unset, one is made once and kept in the database.
    web_port: int | None = Field(default=None, ge=0, le=65_535)
    web_base_url: str | None = None
    web_secret: SecretStr | None = None
    # The JSON API (/api/v1 on the HTTP server): each token may make this many requests
    # per second on average, and this many at once beyond that (a token bucket per token,
    # in each process).
    api_rate_limit: float = Field(default=10.0, gt=0, le=100_000)
    api_rate_burst: int = Field(default=60, ge=1, le=1_000_000)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then environment, then the TOML file.
        toml_path = os.environ.get("LAURELS_CONFIG_FILE", "laurels.toml")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if Path(toml_path).is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and `laurels.toml` if present)."""
    return Settings(**overrides)  # type: ignore[arg-type]
