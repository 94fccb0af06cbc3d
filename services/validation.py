"""Checks and normal forms for what people type or files carry: countries, phones, e-mail."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
import pycountry
from babel import Locale, UnknownLocaleError
from email_validator import EmailNotValidError, validate_email

from i18n import normalize_language
from services.errors import InvalidInput, NotFound

# Local emergency and service numbers (112, 999, 10111) are dialled as they are: they have no
# E.164 form, so they are stored as written.
SHORT_NUMBER = re.compile(r"^[0-9]{3,6}$")


def country_code(value: object) -> str:
    """An ISO 3166-1 alpha-2 code, upper case, or InvalidInput."""
    if value is False:
        # YAML 1.1 reads an unquoted NO (Norway) as false.
        raise InvalidInput('not a country code: false (write Norway as "NO", in quotes)')
    if not isinstance(value, str) or len(value.strip()) != 2:
        raise InvalidInput(f"not an ISO 3166-1 alpha-2 country code: {value!r}")
    code = value.strip().upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise InvalidInput(f"not an ISO 3166-1 alpha-2 country code: {value!r}")
    return code


def currency_code(value: object) -> str:
    """An ISO 4217 currency code (USD, NGN, CNY), upper case, or InvalidInput."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise InvalidInput(f"not an ISO 4217 currency code (USD, NGN, CNY, ...): {value!r}")
    return code


def person_phone(value: str, *, region: str | None) -> str:
    """A person's mobile or landline number in E.164.

    Without a country code the number is read as dialled in `region` (the station's country);
    with neither it is refused.
    """
    raw = value.strip()
    if not raw:
        raise InvalidInput("empty phone number")
    if not raw.startswith("+") and region is None:
        raise InvalidInput(
            f"{raw!r} has no country code (+...) and there is no station country to read it by"
        )
    try:
        number = phonenumbers.parse(raw, None if raw.startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"not a phone number: {raw!r}") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def shared_phone(value: str) -> str:
    """The number Telegram sends with a shared contact (sometimes without its '+'), in E.164."""
    raw = value.strip()
    if raw and not raw.startswith("+"):
        raw = "+" + raw
    return person_phone(raw, region=None)


def contact_phone(value: str, *, country: str) -> str:
    """A directory number: a short local number as written, anything else in E.164.

    International numbers of embassies and hotlines are kept when phonenumbers can read them even
    if its metadata does not know the range (placeholders in the shipped file are such numbers).
    """
    raw = value.strip()
    if SHORT_NUMBER.match(raw):
        return raw
    try:
        number = phonenumbers.parse(raw, None if raw.startswith("+") else country)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"not a phone number: {raw!r}") from None
    digits = str(number.national_number)
    if not (phonenumbers.is_possible_number(number) or 4 <= len(digits) <= 14):
        raise InvalidInput(f"not a phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(stored: str) -> str:
    """A stored number as people read it (+234 800 000 0001); short numbers unchanged."""
    if not stored.startswith("+"):
        return stored
    try:
        number = phonenumbers.parse(stored, None)
    except phonenumbers.NumberParseException:
        return stored
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def email_address(value: str) -> str:
    """The normalized address (domain lower-cased); deliverability is not checked (no network)."""
    try:
        return str(validate_email(value.strip(), check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise InvalidInput(f"not an e-mail address: {value!r} ({exc})") from None


def language_tag(value: object) -> str:
    """A language Outpost can store for a person.

    A tag that matches a catalog becomes that catalog's tag (`zh-CN` → `zh-Hans`); any other
    well-formed BCP 47 tag CLDR knows (`fr`, `pt-BR`) is accepted and the person reads English
    until a catalog for it ships; a malformed or unknown tag is refused.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"not a language tag: {value!r}")
    tag = value.strip().replace("_", "-")
    catalog = normalize_language(tag)
    if catalog is not None:
        return catalog
    try:
        locale = Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        raise InvalidInput(f"unknown language tag: {value!r}") from None
    return str(locale).replace("_", "-")


def coordinate(value: object, *, low: float, high: float, name: str) -> float:
    """A latitude or longitude within its range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not low <= number <= high:
        raise InvalidInput(f"{name} {number} is outside {low:g}..{high:g}")
    return number


# Row ids are 32-bit integer columns on PostgreSQL (IntField), SQLite takes up to 2**63 - 1.
MAX_ROW_ID = 2**31 - 1


def row_id(value: int) -> int:
    """An id that can name a row, or NotFound: an id from a button or a command is checked
    before it reaches a query, where 2**31 (PostgreSQL) or 2**63 (SQLite) would overflow."""
    if not 1 <= value <= MAX_ROW_ID:
        raise NotFound(f"id out of range: {value}")
    return value


def free_text(value: str) -> str:
    """Typed text as it can be stored: control characters other than line breaks and tabs
    removed (PostgreSQL refuses NUL in text and JSON), otherwise unchanged."""
    return "".join(char for char in value if char in "\n\t" or unicodedata.category(char) != "Cc")


# Characters that change how a name reads without being part of it: bidirectional embeddings,
# overrides and isolates (U+202A..U+202E, U+2066..U+2069), the direction marks (U+200E/F, U+061C)
# and every other format character but the joiners that some scripts and emoji need.
_KEPT_FORMAT = frozenset("\u200c\u200d")
_WHITESPACE = re.compile(r"\s+")


def display_name(value: str) -> str:
    """A person's name as it can be stored and shown to others: NFC, control, format and bidi
    characters removed, runs of white space (line breaks too) made one space, trimmed. So a
    name cannot reorder or hide what a head reads beside it on a card."""
    text = unicodedata.normalize("NFC", value)
    text = "".join(
        char
        for char in text
        if char in _KEPT_FORMAT
        or unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
        or char in "\n\t"
    )
    return _WHITESPACE.sub(" ", text).strip()
