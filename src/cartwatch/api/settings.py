"""The web app's settings, read from ``CARTWATCH_*`` environment variables (pydantic-settings).

``CARTWATCH_DATABASE_URL`` names the database; ``CARTWATCH_SESSION_IDLE_SECONDS`` and
``CARTWATCH_SESSION_ABSOLUTE_SECONDS`` bound a login session; ``CARTWATCH_COOKIE_SECURE`` adds
the Secure flag to cookies (set it behind HTTPS); ``CARTWATCH_LOGIN_*`` rate-limit failed logins.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SESSION_IDLE_SECONDS = 12 * 3600
SESSION_ABSOLUTE_SECONDS = 24 * 3600
LOGIN_MAX_FAILURES_PER_USER = 5
LOGIN_MAX_FAILURES_PER_IP = 20
LOGIN_WINDOW_SECONDS = 300
MAX_BODY_BYTES = 1_000_000


class Settings(BaseSettings):
    """Settings of one app process."""

    model_config = SettingsConfigDict(env_prefix="CARTWATCH_", extra="ignore")

    database_url: str | None = None
    session_idle_seconds: float = Field(default=SESSION_IDLE_SECONDS, gt=0)
    session_absolute_seconds: float = Field(default=SESSION_ABSOLUTE_SECONDS, gt=0)
    cookie_secure: bool = False
    login_max_failures_per_user: int = Field(default=LOGIN_MAX_FAILURES_PER_USER, ge=1)
    login_max_failures_per_ip: int = Field(default=LOGIN_MAX_FAILURES_PER_IP, ge=1)
    login_window_seconds: int = Field(default=LOGIN_WINDOW_SECONDS, ge=1)
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, ge=1024)
    log_requests: bool = True

    @property
    def session_idle(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.session_idle_seconds)

    @property
    def session_absolute(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.session_absolute_seconds)

    @property
    def login_window(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.login_window_seconds)
