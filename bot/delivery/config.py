"""Settings of the delivery engine: rate limits, retries, leases, email and SMS gateways."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from db.enums import Channel, Lane


class RateConfig(BaseModel):
    """Telegram's flood limits as this process honours them."""

    model_config = ConfigDict(frozen=True)

    per_second: float = Field(default=30.0, gt=0, description="messages per second, all chats")
    paid_per_second: float = Field(default=1000.0, gt=0, description="with allow_paid_broadcast")
    allow_paid_broadcast: bool = Field(
        default=False, description="send the broadcast lane as paid broadcast (Telegram Stars)"
    )
    per_chat_per_second: float = Field(default=1.0, gt=0)
    per_chat_burst: float = Field(default=3.0, ge=1)
    group_per_minute: float = Field(default=20.0, gt=0)
    group_burst: float = Field(default=3.0, ge=1)
    # How far ahead the overall bucket may run, in seconds of its rate: absorbs timer jitter.
    overall_burst_seconds: float = Field(default=0.1, gt=0)


class RetryConfig(BaseModel):
    """How failed sends are tried again."""

    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(default=8, ge=1)
    max_age_seconds: float = Field(default=24 * 3600, gt=0)
    backoff_base_seconds: float = Field(default=2.0, gt=0)
    backoff_max_seconds: float = Field(default=600.0, gt=0)
    jitter: float = Field(default=0.25, ge=0, le=1, description="± share of each delay")


class WorkerConfig(BaseModel):
    """How a delivery worker claims and sends."""

    model_config = ConfigDict(frozen=True)

    lease_seconds: float = Field(default=60.0, gt=0)
    poll_seconds: float = Field(default=1.0, gt=0, description="idle poll for other processes")
    probe_seconds: float = Field(
        default=0.1, gt=0, description="while busy: how often higher lanes are looked for"
    )
    max_in_flight: int = Field(default=64, ge=1)
    max_batch: int = Field(default=500, ge=1)
    drain_seconds: float = Field(default=10.0, gt=0, description="stop() waits this long")


class LanePolicy(BaseModel):
    """What a lane does when a message cannot reach its person on one channel."""

    model_config = ConfigDict(frozen=True)

    # Lanes whose messages to a person go to the next channel instead of failing.
    fallback_lanes: frozenset[Lane] = frozenset({Lane.EMERGENCY})
    # The order channels are tried in; only those with a configured sender count.
    channel_order: tuple[Channel, ...] = (
        Channel.TELEGRAM,
        Channel.SMS,
        Channel.EMAIL,
        Channel.VOICE,
    )
    # A fallback lane gives a channel this many tries (not the retry's max_attempts): an
    # emergency must not spend an hour of backoff on a channel that does not answer.
    fallback_after_attempts: int = Field(default=3, ge=1)
    # An edit whose original is not sent yet is looked at again after this many seconds.
    edit_wait_seconds: float = Field(default=1.0, gt=0)


class EmailConfig(BaseModel):
    """An SMTP server for e-mail escalations."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_address: str
    timeout_seconds: float = Field(default=20.0, gt=0)


class SmsConfig(BaseModel):
    """An SMS / voice gateway over HTTP."""

    model_config = ConfigDict(frozen=True)

    url: str
    style: Literal["json", "twilio"] = "json"
    # json: bearer token; twilio: the auth token (password of basic auth).
    token: SecretStr | None = None
    # twilio: the account SID (user of basic auth).
    username: str | None = None
    from_number: str | None = None
    # twilio only: where voice calls are placed (…/Calls.json); json style posts voice to url.
    voice_url: str | None = None
    timeout_seconds: float = Field(default=15.0, gt=0)


class DeliveryConfig(BaseModel):
    """Everything the delivery engine is configured with."""

    model_config = ConfigDict(frozen=True)

    rate: RateConfig = RateConfig()
    retry: RetryConfig = RetryConfig()
    worker: WorkerConfig = WorkerConfig()
    lanes: LanePolicy = LanePolicy()
    email: EmailConfig | None = None
    sms: SmsConfig | None = None
