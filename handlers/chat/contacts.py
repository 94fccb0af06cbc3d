"""/contacts: who to call in the station's country, embassy first, with tappable numbers."""

from __future__ import annotations

from html import escape

from babel import Locale, UnknownLocaleError
from telegram import Update
from telegram.constants import ParseMode

from handlers.chat.common import OutpostContext
from i18n import format_distance, normalize_language, translate
from services.contacts import Directory, DirectoryEntry, directory


def _country_name(country: str, language: str) -> str:
    try:
        locale = Locale.parse(normalize_language(language) or "en", sep="-")
    except (UnknownLocaleError, ValueError):
        return country
    return str(locale.territories.get(country, country))


def _distance(language: str, metres: float) -> str:
    return translate(language, "contacts.distance", distance=format_distance(language, metres))


def _line(language: str, entry: DirectoryEntry) -> str:
    parts = [
        f"<b>{escape(translate(language, f'contacts.kind.{entry.kind}'))}</b> · "
        f"{escape(entry.name)}"
    ]
    if entry.phone:
        parts.append(
            f'<a href="tel:{escape(entry.phone)}">{escape(entry.phone_display or entry.phone)}</a>'
        )
    if entry.email:
        parts.append(escape(entry.email))
    if entry.distance_m is not None:
        parts.append(escape(_distance(language, entry.distance_m)))
    if not entry.verified:
        parts.append(f"<i>{escape(translate(language, 'contacts.unverified'))}</i>")
    return "\n".join(parts)


def render(language: str, found: Directory) -> str:
    """The directory as Telegram HTML."""
    title = translate(language, "contacts.title", country=_country_name(found.country, language))
    origin = translate(
        language,
        "contacts.from_checkin" if found.measured_from == "checkin" else "contacts.from_station",
    )
    if not found.entries:
        return f"<b>{escape(title)}</b>\n{escape(translate(language, 'contacts.none'))}"
    blocks = [f"<b>{escape(title)}</b>\n{escape(origin)}"]
    blocks += [_line(language, entry) for entry in found.entries]
    return "\n\n".join(blocks)


async def contacts_command(update: Update, context: OutpostContext) -> None:
    """List the contacts for the person's station country."""
    message = update.effective_message
    if message is None:
        return
    actor = context.registered
    found = await directory(actor)
    text = render(actor.language, found)
    # Long directories are split at entry boundaries (Telegram's limit is 4096 characters).
    chunk = ""
    for block in text.split("\n\n"):
        if chunk and len(chunk) + len(block) > 3500:
            await message.reply_text(chunk, parse_mode=ParseMode.HTML)
            chunk = ""
        chunk = f"{chunk}\n\n{block}" if chunk else block
    if chunk:
        await message.reply_text(chunk, parse_mode=ParseMode.HTML)
