"""Translations: gettext catalogs per language, compiled with Babel when first used."""

from __future__ import annotations

import gettext
import io
import logging
from datetime import date, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "en"
FALLBACK_LANGUAGE = "en"


def _folder_for(language: str) -> str:
    return language.replace("-", "_")


def _language_for(folder: str) -> str:
    return folder.replace("_", "-")


@cache
def available_languages() -> tuple[str, ...]:
    """BCP 47 tags of the languages that have a catalog, e.g. ('en', 'zh-Hans')."""
    return tuple(
        sorted(
            _language_for(path.parent.parent.name)
            for path in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
        )
    )


def normalize_language(tag: str | None) -> str | None:
    """The catalog language closest to a BCP 47 tag (`zh-CN` → `zh-Hans`), or None."""
    if not tag:
        return None
    tag = tag.strip().replace("_", "-")
    known = available_languages()
    lowered = {language.lower(): language for language in known}
    if tag.lower() in lowered:
        return lowered[tag.lower()]
    try:
        locale = Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return None
    if locale.language == "zh":
        # Telegram sends zh-hans / zh-cn / zh-tw; only Simplified is shipped so far.
        script = locale.script or ("Hant" if locale.territory in {"TW", "HK", "MO"} else "Hans")
        candidate = f"zh-{script}"
        return lowered.get(candidate.lower())
    return lowered.get(locale.language.lower())


@cache
def _catalog(language: str) -> gettext.GNUTranslations | None:
    path = LOCALES_DIR / _folder_for(language) / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return None
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=_folder_for(language))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _lookup(language: str, msgid: str) -> str | None:
    catalog = _catalog(language)
    if catalog is None:
        return None
    text = catalog.gettext(msgid)
    # GNUTranslations returns the msgid itself when a message is missing or untranslated.
    return None if text == msgid else text


def translate(locale: str | None, msgid: str, /, **params: Any) -> str:
    """The message `msgid` in `locale`, falling back to English, then to the msgid itself."""
    language = normalize_language(locale) or DEFAULT_LANGUAGE
    text = _lookup(language, msgid)
    if text is None and language != FALLBACK_LANGUAGE:
        text = _lookup(FALLBACK_LANGUAGE, msgid)
    if text is None:
        logger.warning("missing translation for msgid %r", msgid)
        text = msgid
    if not params:
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        logger.exception("bad parameters for msgid %r", msgid)
        return text


def language_name(language: str) -> str:
    """The language's own name for itself, for the /language buttons."""
    try:
        name = Locale.parse(language, sep="-").get_display_name(Locale.parse(language, sep="-"))
    except (UnknownLocaleError, ValueError):
        return language
    return name[:1].upper() + name[1:] if name else language


def N_(msgid: str) -> str:
    """Mark a msgid for extraction where it is translated later (e.g. in the outbox)."""
    return msgid


def _babel_locale(locale: str | None) -> str:
    return (normalize_language(locale) or DEFAULT_LANGUAGE).replace("-", "_")


def format_distance(locale: str | None, metres: float) -> str:
    """A distance as the reader writes it, the one formatter for every distance Outpost shows:
    '96 m', '1.1 km', '530 km' in English; '96米', '1.1公里' in Chinese (Babel's units)."""
    from babel.units import format_unit

    language = _babel_locale(locale)
    if metres < 1000:
        return str(format_unit(round(metres), "length-meter", length="short", locale=language))
    pattern = "#,##0.#" if metres < 100_000 else "#,##0"  # 1.5 km, 530 km
    return str(
        format_unit(
            metres / 1000, "length-kilometer", length="short", format=pattern, locale=language
        )
    )


def translate_plural(locale: str | None, msgid: str, count: int, /, **params: Any) -> str:
    """A counted message (`msgid` with `msgid_plural` = `msgid + ".plural"` in the catalogs),
    in the plural form the reader's language takes for `count`; `{n}` is `count` written with
    the locale's digits grouping. Falls back to English, then to the msgid."""
    from babel.numbers import format_decimal

    language = normalize_language(locale) or DEFAULT_LANGUAGE
    text: str | None = None
    for candidate in dict.fromkeys((language, FALLBACK_LANGUAGE)):
        catalog = _catalog(candidate)
        if catalog is not None:
            found = catalog.ngettext(msgid, f"{msgid}.plural", count)
            if found not in (msgid, f"{msgid}.plural"):
                text = found
                break
    if text is None:
        logger.warning("missing translation for msgid %r", msgid)
        text = msgid
    n = format_decimal(count, locale=_babel_locale(language))
    try:
        return text.format(n=n, **params)
    except (KeyError, IndexError, ValueError):
        logger.exception("bad parameters for msgid %r", msgid)
        return text


def count_days(locale: str | None, days: int) -> str:
    """'1 day', '3 days', '3 天'."""
    return translate_plural(locale, "count.days", days)


def format_day(locale: str | None, day: date, *, year: bool = False) -> str:
    """A day with its weekday as the reader writes it: 'Wed, Dec 2', '12月2日周三'."""
    from babel.dates import format_skeleton

    language = _babel_locale(locale)
    return str(format_skeleton("yMMMEd" if year else "MMMEd", day, locale=language))


def format_clock(
    locale: str | None, moment: datetime, zone: tzinfo | None = None, *, seconds: bool = False
) -> str:
    """A wall-clock time as the reader writes it (24-hour), in `zone` (else `moment`'s own):
    '09:30', or '09:30:40' where the seconds decide something."""
    from babel.dates import format_skeleton

    if zone is not None:
        moment = moment.astimezone(zone)
    language = (normalize_language(locale) or DEFAULT_LANGUAGE).replace("-", "_")
    return str(
        format_skeleton("Hms" if seconds else "Hm", moment, tzinfo=moment.tzinfo, locale=language)
    )
