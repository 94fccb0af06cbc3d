"""Sending outbox messages by e-mail over SMTP (aiosmtplib)."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from bot.delivery.base import Outcome, RenderedMessage
from bot.delivery.config import EmailConfig
from db.enums import Channel

logger = logging.getLogger(__name__)

SUBJECT_LENGTH = 78


def subject_of(text: str) -> str:
    """The first line of the text, shortened to fit a subject line."""
    first = text.strip().splitlines()[0] if text.strip() else "Outpost"
    return first if len(first) <= SUBJECT_LENGTH else first[: SUBJECT_LENGTH - 1] + "…"


def _url_lines(message: RenderedMessage) -> list[str]:
    lines = []
    for row in message.buttons or []:
        for spec in row:
            link = spec.get("url") or spec.get("web_app")
            if link:
                lines.append(f"{spec['text']}: {link}")
    return lines


class EmailSender:
    """One SMTP connection per message: escalation mail is rare, connections stay simple."""

    channel = Channel.EMAIL
    paced = False

    def __init__(self, config: EmailConfig) -> None:
        self.config = config

    async def start(self) -> None:
        """Nothing to open ahead of time."""

    async def stop(self) -> None:
        """Nothing to close."""

    def build(self, message: RenderedMessage) -> EmailMessage:
        """The e-mail for one rendered message."""
        mail = EmailMessage()
        mail["From"] = self.config.from_address
        mail["To"] = message.address
        mail["Subject"] = subject_of(message.text)
        domain = self.config.from_address.rpartition("@")[2] or "outpost.invalid"
        mail["Message-ID"] = make_msgid(f"outbox-{message.message_id}", domain=domain)
        body = "\n\n".join([message.text, *_url_lines(message)])
        mail.set_content(body)
        if message.document is not None:
            file_name, data = message.document
            mail.add_attachment(
                data, maintype="application", subtype="octet-stream", filename=file_name
            )
        return mail

    async def send(self, message: RenderedMessage) -> Outcome:
        """Hand the e-mail to the SMTP server; 5xx answers are final, the rest retried."""
        config = self.config
        password = config.password.get_secret_value() if config.password else None
        mail = self.build(message)
        try:
            await aiosmtplib.send(
                mail,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=password,
                use_tls=config.security == "tls",
                start_tls=config.security == "starttls",
                timeout=config.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [error.code for error in exc.recipients]
            final = all(code >= 500 for code in codes)
            code = codes[0] if codes else None
            if final:
                return Outcome("failed", http_status=code, error="recipient refused")
            return Outcome("retry", http_status=code, error="recipient refused")
        except aiosmtplib.SMTPResponseException as exc:
            error = f"SMTP {exc.code}: {exc.message}"
            if exc.code >= 500:
                return Outcome("failed", http_status=exc.code, error=error)
            return Outcome("retry", http_status=exc.code, error=error)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome("retry", error=f"SMTP: {type(exc).__name__}")
        return Outcome.sent(str(mail["Message-ID"]), http_status=250)
