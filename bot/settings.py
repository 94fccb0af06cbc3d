"""Settings: the Contract's OUTPOST_* environment variables (and `.env`), validated once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.delivery.config import (
    DeliveryConfig,
    EmailConfig,
    RateConfig,
    RetryConfig,
    SmsConfig,
    WorkerConfig,
)
from db.config import DatabaseUrlError, check_database_url, is_sqlite
from db.enums import Channel
from i18n import DEFAULT_LANGUAGE, available_languages, normalize_language
from services.sos import SosPolicy

ENV_PREFIX = "OUTPOST_"
DEFAULT_DATABASE_URL = "sqlite://var/outpost.sqlite3"
# The sandbox keeps its demo data apart from a real deployment's.
SANDBOX_DATABASE_URL = "sqlite://var/sandbox.sqlite3"
# New for each process: the sandbox's bot token is in the source, so its webhook secret
# cannot be derived from it.
_SANDBOX_WEBHOOK_SECRET = secrets.token_urlsafe(32)


class SettingsError(Exception):
    """Raised when the configuration cannot be used; the message is one line per bad variable."""


class Settings(BaseSettings):
    """Everything Outpost reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    telegram_token: SecretStr | None = Field(
        default=None, description="Bot token from @BotFather; unset runs the local sandbox."
    )
    telegram_api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://api.telegram.org"),
        description="Bot API server; requests go to {url}/bot{token}/{method}.",
    )
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL, description="sqlite://PATH or postgres://USER:PASS@HOST/DB"
    )
    auto_migrate: bool | None = Field(
        default=None,
        description="Apply pending migrations at start-up; default on for the SQLite sandbox.",
    )
    web_host: str = Field(default="127.0.0.1", min_length=1)
    web_port: int = Field(default=8080, ge=1, le=65535)
    sandbox_port: int = Field(default=8081, ge=0, le=65535)
    public_url: AnyHttpUrl | None = None
    webhook: bool = False
    webhook_secret: SecretStr | None = None
    default_language: str = DEFAULT_LANGUAGE
    log_level: str = "INFO"
    # Day of the month the attendance sheet goes to HQ (the 26th, or e.g. the 2nd for last month).
    attendance_sheet_day: int = Field(default=26, ge=1, le=28)
    # Delivery of messages to third parties (the outbox).
    paid_broadcast: bool = False
    delivery_max_attempts: int = Field(default=8, ge=1, le=100)
    delivery_max_age_seconds: float = Field(default=86400, gt=0)
    delivery_lease_seconds: float = Field(default=60, gt=0)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    sms_url: AnyHttpUrl | None = None
    sms_style: Literal["json", "twilio"] = "json"
    sms_token: SecretStr | None = None
    sms_username: str | None = None
    sms_from: str | None = None
    voice_url: AnyHttpUrl | None = None
    # SOS: minutes without a taker before tier 2 (HQ again, the security mailbox), then tier 3
    # (the embassy); how long the person may call a false alarm off.
    sos_tier2_minutes: float = Field(default=3, gt=0, le=120)
    sos_tier3_minutes: float = Field(default=10, gt=0, le=240)
    sos_cancel_minutes: float = Field(default=2, gt=0, le=60)
    sos_hq_security_email: str | None = None
    sos_embassy_channels: str = "email,sms"
    sos_company_contact: str = ""
    # Shared with the SMS gateway: inbound SMS ("SOS" by text message) must carry it.
    sms_inbound_secret: SecretStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # An empty variable (`OUTPOST_PUBLIC_URL=` in a copied .env.example) means unset.
        data = {
            key: value
            for key, value in data.items()
            if not (isinstance(value, str) and not value.strip())
        }
        if data.get("telegram_token") is None and not data.get("database_url"):
            data["database_url"] = SANDBOX_DATABASE_URL
        return data

    @field_validator("telegram_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        bot_id, sep, secret = value.get_secret_value().partition(":")
        if not sep or not bot_id.isdigit() or len(secret) < 10:
            raise ValueError("does not look like a bot token (expected 123456:ABC...)")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            return check_database_url(value)
        except DatabaseUrlError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        language = normalize_language(value)
        if language is None:
            known = ", ".join(available_languages())
            raise ValueError(f"unknown language {value!r} (available: {known})")
        return language

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -.
        if value is None:
            return None
        raw = value.get_secret_value()
        if not 1 <= len(raw) <= 256 or not all(c.isalnum() or c in "_-" for c in raw):
            raise ValueError("must be 1-256 characters of letters, digits, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_public_url(self) -> Settings:
        if self.webhook and self.public_url is None:
            raise ValueError("OUTPOST_WEBHOOK: webhook mode needs OUTPOST_PUBLIC_URL")
        if self.webhook and self.telegram_token is None:
            raise ValueError("OUTPOST_WEBHOOK: webhook mode needs OUTPOST_TELEGRAM_TOKEN")
        if self.smtp_host and not self.smtp_from:
            raise ValueError("OUTPOST_SMTP_FROM: e-mail needs a sender address")
        if self.sms_style == "twilio" and self.sms_url and not self.sms_username:
            raise ValueError("OUTPOST_SMS_USERNAME: the Twilio style needs the account SID")
        return self

    @field_validator("sos_embassy_channels")
    @classmethod
    def _embassy_channels(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        known = {Channel.EMAIL.value, Channel.SMS.value}
        if not names or any(name not in known for name in names):
            raise ValueError("a comma-separated list of email and sms")
        return ",".join(names)

    def sos_policy(self) -> SosPolicy:
        """The SOS tiers' timings and addresses."""
        channels = tuple(
            Channel(name.strip()) for name in self.sos_embassy_channels.split(",") if name.strip()
        )
        return SosPolicy(
            tier2_after=timedelta(minutes=self.sos_tier2_minutes),
            tier3_after=timedelta(minutes=self.sos_tier3_minutes),
            cancel_window=timedelta(minutes=self.sos_cancel_minutes),
            hq_security_email=self.sos_hq_security_email,
            embassy_channels=channels,
            company_contact=self.sos_company_contact,
        )

    def delivery_config(self) -> DeliveryConfig:
        """The delivery engine's configuration from these settings."""
        email = None
        if self.smtp_host and self.smtp_from:
            email = EmailConfig(
                host=self.smtp_host,
                port=self.smtp_port,
                security=self.smtp_security,
                username=self.smtp_username,
                password=self.smtp_password,
                from_address=self.smtp_from,
            )
        sms = None
        if self.sms_url is not None:
            sms = SmsConfig(
                url=str(self.sms_url),
                style=self.sms_style,
                token=self.sms_token,
                username=self.sms_username,
                from_number=self.sms_from,
                voice_url=str(self.voice_url) if self.voice_url else None,
            )
        return DeliveryConfig(
            rate=RateConfig(allow_paid_broadcast=self.paid_broadcast),
            retry=RetryConfig(
                max_attempts=self.delivery_max_attempts,
                max_age_seconds=self.delivery_max_age_seconds,
            ),
            worker=WorkerConfig(lease_seconds=self.delivery_lease_seconds),
            email=email,
            sms=sms,
        )

    @property
    def sandbox(self) -> bool:
        """True when no token is set: Outpost talks to the local sandbox."""
        return self.telegram_token is None

    @property
    def should_auto_migrate(self) -> bool:
        """Migrate at start-up when asked, or by default for the SQLite sandbox."""
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.sandbox and is_sqlite(self.database_url)

    def effective_webhook_secret(self) -> str:
        """The secret Telegram echoes in X-Telegram-Bot-Api-Secret-Token."""
        if self.webhook_secret is not None:
            return self.webhook_secret.get_secret_value()
        if self.telegram_token is None:
            return _SANDBOX_WEBHOOK_SECRET  # the sandbox's token is public: its secret is not
        token = self.telegram_token.get_secret_value()
        return hashlib.sha256(b"outpost-webhook:" + token.encode()).hexdigest()

    def sqlite_directory(self) -> Path | None:
        """The folder a file-backed SQLite database lives in, to create before connecting."""
        if not is_sqlite(self.database_url):
            return None
        path = self.database_url.split("://", 1)[1]
        if path in {"", ":memory:"}:
            return None
        return Path(path).parent


def _variable_for(location: tuple[int | str, ...]) -> str:
    if not location or location[0] == "__root__":
        return ENV_PREFIX.rstrip("_")
    return ENV_PREFIX + str(location[0]).upper()


def describe_errors(error: ValidationError) -> str:
    """One line per bad variable: `OUTPOST_WEB_PORT: must be ...`."""
    lines = []
    for item in error.errors(include_url=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        location = tuple(item.get("loc", ()))
        variable = _variable_for(location) if location else "OUTPOST"
        if not location:
            # A model-level check names its variable itself.
            lines.append(message)
            continue
        shown = item.get("input")
        got = f" (got {shown!r})" if isinstance(shown, str | int | float) and shown != "" else ""
        if variable.endswith("TOKEN") or variable.endswith("SECRET"):
            got = ""
        lines.append(f"{variable}: {message}{got}")
    return "\n".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings, or raise SettingsError with a clear message."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_errors(exc)) from None
