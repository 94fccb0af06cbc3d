"""translate(): the recipient's language, English when a message is missing, never a crash."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from i18n import (
    LOCALES_DIR,
    available_languages,
    count_days,
    format_distance,
    normalize_language,
    translate,
    translate_plural,
)

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("bot", "handlers", "services", "db", "i18n")


def _catalog(language: str) -> dict[str, str]:
    path = LOCALES_DIR / language.replace("-", "_") / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


def test_shipped_languages() -> None:
    """English and Simplified Chinese are there from day one."""
    assert {"en", "zh-Hans"} <= set(available_languages())


def test_renders_in_the_requested_language() -> None:
    """A Chinese reader gets Chinese, with parameters filled in."""
    assert translate("zh-Hans", "start.welcome", name="王磊").startswith("王磊，您好")
    assert translate("en", "start.welcome", name="Amina").startswith("Hello, Amina!")


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("zh-CN", "zh-Hans"),
        ("zh-hans", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("en-GB", "en"),
        ("EN", "en"),
        ("fr", None),
        ("", None),
        (None, None),
        ("%%", None),
    ],
)
def test_language_tags(tag: str | None, expected: str | None) -> None:
    """Telegram's language codes map onto the catalogs."""
    assert normalize_language(tag) == expected


def test_missing_msgid_falls_back_to_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message missing from a catalog is shown in English, not as its key."""
    import i18n

    zh = tmp_path / "zh_Hans" / "LC_MESSAGES"
    en = tmp_path / "en" / "LC_MESSAGES"
    zh.mkdir(parents=True)
    en.mkdir(parents=True)
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    (en / "messages.po").write_text(
        header + 'msgid "only.english"\nmsgstr "Only in English, {name}"\n', encoding="utf-8"
    )
    (zh / "messages.po").write_text(header + 'msgid "other"\nmsgstr "别的"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n._catalog.cache_clear()
    i18n.available_languages.cache_clear()
    try:
        assert translate("zh-Hans", "only.english", name="Li") == "Only in English, Li"
        assert translate("zh-Hans", "nowhere.at.all") == "nowhere.at.all"
        assert translate("fr", "other") == "other"
    finally:
        i18n._catalog.cache_clear()
        i18n.available_languages.cache_clear()


def test_bad_parameters_do_not_crash() -> None:
    """A missing parameter leaves the placeholder rather than losing the message."""
    assert "{name}" in translate("en", "start.welcome")


def _msgids_in_source() -> set[str]:
    found: set[str] = set()
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                found.update(  # msgid="..." given to a domain error
                    str(keyword.value.value)
                    for keyword in node.keywords
                    if keyword.arg == "msgid"
                    and isinstance(keyword.value, ast.Constant)
                    # A reply written out by its handler has its text and no msgid.
                    and keyword.value.value != ""
                )
                # A conversation's Text(msgid, ...) and Choice(value, label msgid, ...).
                index = {"translate": 1, "N_": 0, "Text": 0, "Choice": 1}.get(name)
                if index is None or len(node.args) <= index:
                    continue
                arg = node.args[index]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
            for node in ast.walk(tree):
                # msgid class attributes of domain errors
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and getattr(node.targets[0], "id", "") == "msgid"
                    and isinstance(node.value, ast.Constant)
                ):
                    found.add(str(node.value.value))
    return found


def test_every_msgid_in_the_code_is_translated_in_every_language() -> None:
    """English and Chinese are complete: no message a user can see is missing."""
    used = _msgids_in_source()
    assert used, "no msgid found: the scan is broken"
    for language in ("en", "zh-Hans"):
        catalog = _catalog(language)
        missing = sorted(m for m in used if not catalog.get(m))
        assert not missing, f"{language} lacks {missing}"


def test_catalogs_agree_on_keys_and_placeholders() -> None:
    """Every English message has a Chinese one with the same {placeholders}."""
    import string

    en, zh = _catalog("en"), _catalog("zh-Hans")
    assert set(en) == set(zh), set(en) ^ set(zh)
    for msgid, text in en.items():
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
        other = {f for _, f, _, _ in string.Formatter().parse(zh[msgid]) if f}
        assert fields == other, msgid


def test_no_msgid_is_defined_twice() -> None:
    """Two entries with one msgid would make one of them silently win."""
    import re
    from collections import Counter

    for language in ("en", "zh-Hans"):
        path = LOCALES_DIR / language.replace("-", "_") / "LC_MESSAGES" / "messages.po"
        ids = re.findall(r'^msgid "(.+)"$', path.read_text(encoding="utf-8"), flags=re.M)
        twice = sorted(msgid for msgid, count in Counter(ids).items() if count > 1)
        assert not twice, f"{language}: {twice}"


def test_days_are_written_with_their_weekday_in_the_readers_language() -> None:
    """Babel's skeletons: the weekday, month and day in each language's own order."""
    from datetime import date

    from i18n import format_day

    day = date(2026, 12, 2)
    assert format_day("en", day) == "Wed, Dec 2"
    assert format_day("en", day, year=True) == "Wed, Dec 2, 2026"
    assert format_day("zh-Hans", day) == "12月2日周三"
    assert format_day("zh-Hans", day, year=True) == "2026年12月2日周三"


@pytest.mark.parametrize(
    ("language", "metres", "expected"),
    [
        ("en", 96.4, "96 m"),
        ("en", 1500, "1.5 km"),
        ("en", 530_400, "530 km"),
        ("zh-Hans", 96.4, "96米"),
        ("zh-Hans", 1500, "1.5公里"),
        ("zh-Hans", 12_345, "12.3公里"),
    ],
)
def test_one_distance_formatter_in_the_readers_language(
    language: str, metres: float, expected: str
) -> None:
    """Every distance Outpost shows goes through one formatter: units and digits per locale."""
    assert format_distance(language, metres) == expected


@pytest.mark.parametrize(
    ("language", "days", "expected"),
    [
        ("en", 1, "1 day"),
        ("en", 2, "2 days"),
        ("en", 1000, "1,000 days"),
        ("zh-Hans", 1, "1 天"),
        ("zh-Hans", 3, "3 天"),
        ("fr", 1, "1 day"),
    ],
)
def test_counted_messages_take_the_languages_plural_forms(
    language: str, days: int, expected: str
) -> None:
    """ngettext through the catalogs: English has two forms, Chinese one; unknown falls back."""
    assert count_days(language, days) == expected
    assert translate_plural(language, "count.days", days) == expected
