"""A document sent through the outbox: Telegram sendDocument with a caption, e-mail attached."""

from __future__ import annotations

from bot.delivery.base import RenderedMessage
from bot.delivery.config import EmailConfig
from bot.delivery.email import EmailSender
from db.enums import Channel, Lane
from db.models import OutboxAttachment, Person
from services.clock import ManualClock
from services.notify import Attachment, notify


async def test_attachment_stored_once_per_key(db: str, clock: ManualClock) -> None:
    """The file lives with the row; repeating the notify stores nothing more."""
    person = await Person.create(telegram_id=11, name="HQ", language="en")
    sheet = Attachment(file_name="attendance-2026-11.xlsx", data=b"PK\x03\x04data")
    first = await notify(
        recipient=person,
        msgid="sheet.title",
        params={"month": "2026-11"},
        lane=Lane.ROUTINE,
        idempotency_key="sheet:1",
        clock=clock,
        attachment=sheet,
    )
    again = await notify(
        recipient=person,
        msgid="sheet.title",
        params={"month": "2026-11"},
        lane=Lane.ROUTINE,
        idempotency_key="sheet:1",
        clock=clock,
        attachment=sheet,
    )
    assert again.id == first.id
    assert await OutboxAttachment.all().count() == 1
    stored = await OutboxAttachment.get(id=first.attachment_id)
    assert bytes(stored.data) == b"PK\x03\x04data"


def test_email_carries_the_document() -> None:
    """An e-mailed message with a document has it as an attachment."""
    sender = EmailSender(EmailConfig(host="127.0.0.1", from_address="outpost@example.org"))
    mail = sender.build(
        RenderedMessage(
            message_id=1,
            channel=Channel.EMAIL,
            lane=Lane.ROUTINE,
            address="hq@example.org",
            text="Attendance summary 2026-11",
            document=("attendance-2026-11.xlsx", b"PK"),
        )
    )
    files = [part.get_filename() for part in mail.iter_attachments()]
    assert files == ["attendance-2026-11.xlsx"]
