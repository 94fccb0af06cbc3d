"""Settings: each bad value stops start-up with one clear line naming its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SANDBOX_DATABASE_URL, SettingsError, load_settings

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No OUTPOST_* variable or .env file from the machine leaks into these tests."""
    import os

    for name in list(os.environ):
        if name.startswith("OUTPOST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    return str(caught.value)


def test_defaults_are_the_sandbox() -> None:
    """With nothing set, Outpost runs the sandbox on its own SQLite file and migrates itself."""
    settings = load_settings()
    assert settings.sandbox
    assert settings.database_url == SANDBOX_DATABASE_URL
    assert settings.web_port == 8080
    assert str(settings.telegram_api_url) == "https://api.telegram.org/"
    assert settings.should_auto_migrate


def test_a_real_deployment_does_not_migrate_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a token the default database is var/outpost.sqlite3 and migration is explicit."""
    monkeypatch.setenv("OUTPOST_TELEGRAM_TOKEN", TOKEN)
    settings = load_settings()
    assert not settings.sandbox
    assert settings.database_url == "sqlite://var/outpost.sqlite3"
    assert not settings.should_auto_migrate
    monkeypatch.setenv("OUTPOST_AUTO_MIGRATE", "1")
    assert load_settings().should_auto_migrate


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A .env file in the working folder is read like the environment."""
    (tmp_path / ".env").write_text("OUTPOST_WEB_PORT=9090\n")
    assert load_settings().web_port == 9090


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"OUTPOST_WEB_PORT": "70000"},
            "OUTPOST_WEB_PORT: Input should be less than or equal to 65535 (got '70000')",
        ),
        ({"OUTPOST_WEB_PORT": "eighty"}, "OUTPOST_WEB_PORT: Input should be a valid integer"),
        (
            {"OUTPOST_DATABASE_URL": "mysql://x/y"},
            "OUTPOST_DATABASE_URL: unsupported database 'mysql'",
        ),
        ({"OUTPOST_DATABASE_URL": "not a url"}, "OUTPOST_DATABASE_URL: not a database URL"),
        (
            {"OUTPOST_DATABASE_URL": "postgres://user@/"},
            "OUTPOST_DATABASE_URL: a postgres URL needs a host",
        ),
        (
            {"OUTPOST_DEFAULT_LANGUAGE": "klingon"},
            "OUTPOST_DEFAULT_LANGUAGE: unknown language 'klingon'",
        ),
        ({"OUTPOST_TELEGRAM_API_URL": "ftp//nope"}, "OUTPOST_TELEGRAM_API_URL:"),
        ({"OUTPOST_PUBLIC_URL": "nope"}, "OUTPOST_PUBLIC_URL:"),
        ({"OUTPOST_LOG_LEVEL": "LOUD"}, "OUTPOST_LOG_LEVEL: must be one of"),
        (
            {"OUTPOST_WEBHOOK": "1", "OUTPOST_TELEGRAM_TOKEN": TOKEN},
            "OUTPOST_WEBHOOK: webhook mode needs OUTPOST_PUBLIC_URL",
        ),
        (
            {"OUTPOST_WEBHOOK_SECRET": "has spaces"},
            "OUTPOST_WEBHOOK_SECRET: must be 1-256 characters",
        ),
    ],
)
def test_each_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    """The message is one line, starts with the variable and says what is wrong."""
    message = _error(monkeypatch, **env)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_bad_token_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed token is named but never printed back."""
    message = _error(monkeypatch, OUTPOST_TELEGRAM_TOKEN="secret-but-wrong")
    assert message.startswith("OUTPOST_TELEGRAM_TOKEN: does not look like a bot token")
    assert "secret-but-wrong" not in message


def test_several_bad_values_give_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every bad variable is reported at once."""
    message = _error(monkeypatch, OUTPOST_WEB_PORT="0", OUTPOST_DEFAULT_LANGUAGE="xx")
    assert len(message.splitlines()) == 2


def test_postgres_urls_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both postgres:// and postgresql:// name PostgreSQL."""
    for url in ("postgres://u:p@db:5432/outpost", "postgresql://u:p@db/outpost"):
        monkeypatch.setenv("OUTPOST_DATABASE_URL", url)
        assert load_settings().database_url == url


def test_language_tags_are_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    """zh-CN means the Simplified Chinese catalog."""
    monkeypatch.setenv("OUTPOST_DEFAULT_LANGUAGE", "zh-CN")
    assert load_settings().default_language == "zh-Hans"


def test_delivery_channels_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """E-mail and SMS are configured only when their variables are set."""
    config = load_settings().delivery_config()
    assert config.email is None
    assert config.sms is None
    monkeypatch.setenv("OUTPOST_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("OUTPOST_SMTP_FROM", "outpost@example.org")
    monkeypatch.setenv("OUTPOST_SMS_URL", "http://127.0.0.1:9000/sms")
    monkeypatch.setenv("OUTPOST_PAID_BROADCAST", "1")
    config = load_settings().delivery_config()
    assert config.email is not None
    assert config.email.from_address == "outpost@example.org"
    assert config.sms is not None
    assert config.sms.style == "json"
    assert config.rate.allow_paid_broadcast


def test_email_without_sender_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """An SMTP host without a From address is a configuration error naming the variable."""
    message = _error(monkeypatch, OUTPOST_SMTP_HOST="smtp.example.org")
    assert message.startswith("OUTPOST_SMTP_FROM:")


def test_the_example_file_as_it_is_runs_the_sandbox(tmp_path: Path) -> None:
    """`.env.example` copied to `.env` unchanged: the sandbox on its own database; with a
    token added, var/outpost.sqlite3 (an empty value means the default)."""
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    (tmp_path / ".env").write_text(example)
    settings = load_settings()
    assert (settings.sandbox, settings.database_url) == (True, SANDBOX_DATABASE_URL)
    (tmp_path / ".env").write_text(
        example.replace("OUTPOST_TELEGRAM_TOKEN=", f"OUTPOST_TELEGRAM_TOKEN={TOKEN}")
    )
    settings = load_settings()
    assert (settings.sandbox, settings.database_url) == (False, "sqlite://var/outpost.sqlite3")


def test_the_sandbox_webhook_secret_cannot_be_guessed() -> None:
    """The sandbox's token is public, so its secret is random (and stable in one process);
    a real token's secret is derived from it unless set."""
    import hashlib

    sandbox = load_settings()
    assert sandbox.effective_webhook_secret() == load_settings().effective_webhook_secret()
    assert (
        sandbox.effective_webhook_secret()
        != hashlib.sha256(b"outpost-webhook:sandbox").hexdigest()
    )
    assert len(sandbox.effective_webhook_secret()) >= 32
    real = load_settings(telegram_token=TOKEN)
    assert (
        real.effective_webhook_secret()
        == load_settings(telegram_token=TOKEN).effective_webhook_secret()
    )
    assert (
        load_settings(
            telegram_token=TOKEN, webhook_secret="s3cret-value-long-enough"
        ).effective_webhook_secret()
        == "s3cret-value-long-enough"
    )
