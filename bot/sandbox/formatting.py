"""Parse message formatting (HTML, MarkdownV2, Markdown) into plain text and entities."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.errors import ApiError, bad_request

HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_KNOWN_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length of text in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass
class Parsed:
    """Plain text and the entities found in it."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def parse_error(message: str) -> ApiError:
    """Return Telegram's "can't parse entities" error."""
    return bad_request(f"can't parse entities: {message}")


@dataclass
class _Open:
    """A tag or markup that is open while parsing."""

    name: str
    start: int
    byte_offset: int
    entity: dict[str, Any]


def _add_entity(out: list[dict[str, Any]], entity: dict[str, Any], start: int, end: int) -> None:
    """Append an entity spanning [start, end) in UTF-16 units unless it is empty."""
    if end > start:
        out.append({**entity, "offset": start, "length": end - start})


def _parse_attributes(raw: str, tag: str, byte_offset: int) -> dict[str, str]:
    """Parse the attributes of an HTML start tag."""
    attrs: dict[str, str] = {}
    pattern = re.compile(r"\s*([a-zA-Z0-9_-]+)\s*(?:=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")
    pos = 0
    raw = raw.strip()
    while pos < len(raw):
        m = pattern.match(raw, pos)
        if not m or m.end() == pos:
            raise parse_error(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte '
                f"offset {byte_offset}"
            )
        value = m.group(2) or ""
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        attrs[m.group(1).lower()] = html.unescape(value)
        pos = m.end()
    return attrs


def parse_html(source: str) -> Parsed:
    """Parse Telegram's HTML subset, raising Telegram's errors for invalid markup."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[_Open] = []
    pos16 = 0
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        if ch == "&":
            m = _ENTITY_RE.match(source, i)
            decoded = None
            if m:
                name = m.group(1)
                if name.startswith("#"):
                    try:
                        code = int(name[2:], 16) if name[1:2] in "xX" else int(name[1:])
                        decoded = chr(code) if 0 < code < 0x110000 else None
                    except ValueError:
                        decoded = None
                else:
                    decoded = _KNOWN_NAMED.get(name.lower())
            if decoded is not None and m is not None:
                out.append(decoded)
                pos16 += utf16_len(decoded)
                i = m.end()
            else:
                out.append("&")
                pos16 += 1
                i += 1
            continue
        if ch != "<":
            out.append(ch)
            pos16 += utf16_len(ch)
            i += 1
            continue
        byte_offset = len(source[:i].encode("utf-8", "surrogatepass"))
        end = source.find(">", i)
        if end == -1:
            raise parse_error(f"Unclosed start tag at byte offset {byte_offset}")
        inner = source[i + 1 : end]
        if inner.startswith("/"):
            name = inner[1:].strip().lower()
            if not stack:
                raise parse_error(f"Unexpected end tag at byte offset {byte_offset}")
            top = stack.pop()
            if name and name != top.name:
                raise parse_error(
                    f'Unmatched end tag at byte offset {byte_offset}, expected "</{top.name}>", '
                    f'found "</{name}>"'
                )
            _add_entity(entities, top.entity, top.start, pos16)
            i = end + 1
            continue
        m = re.match(r"([a-zA-Z0-9-]*)(.*)$", inner, re.S)
        name = (m.group(1) if m else "").lower()
        if name not in HTML_TAGS:
            raise parse_error(f'Unsupported start tag "{name}" at byte offset {byte_offset}')
        attrs = _parse_attributes(m.group(2) if m else "", name, byte_offset)
        entity = _entity_for_tag(name, attrs, byte_offset, stack)
        stack.append(_Open(name, pos16, byte_offset, entity))
        i = end + 1
    if stack:
        raise parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return Parsed("".join(out), entities)


def _entity_for_tag(
    name: str, attrs: dict[str, str], byte_offset: int, stack: list[_Open]
) -> dict[str, Any]:
    """Build the entity for an HTML start tag, validating its attributes."""
    kind = HTML_TAGS[name]
    entity: dict[str, Any] = {"type": kind}
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset}')
    if name == "a":
        href = attrs.get("href", "")
        if href.startswith("tg://user?id="):
            entity = {"type": "text_mention", "user": {"id": int(href.split("=", 1)[1] or 0)}}
        else:
            entity["url"] = href
    if name == "tg-emoji":
        if "emoji-id" not in attrs:
            raise parse_error(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {byte_offset}'
            )
        entity["custom_emoji_id"] = attrs["emoji-id"]
    if name == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    if name == "code" and stack and stack[-1].name == "pre" and "class" in attrs:
        language = attrs["class"].removeprefix("language-")
        stack[-1].entity["language"] = language
    return entity


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": ("bold", "Bold"),
    "_": ("italic", "Italic"),
    "__": ("underline", "Underline"),
    "~": ("strikethrough", "Strikethrough"),
    "||": ("spoiler", "Spoiler"),
}


def parse_markdown_v2(source: str) -> Parsed:
    """Parse MarkdownV2, requiring reserved characters to be escaped as Telegram does."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[_Open] = []
    pos16 = 0
    i = 0
    n = len(source)

    def emit(text: str) -> None:
        nonlocal pos16
        out.append(text)
        pos16 += utf16_len(text)

    while i < n:
        ch = source[i]
        byte_offset = len(source[:i].encode("utf-8", "surrogatepass"))
        if ch == "\\" and i + 1 < n and ord(source[i + 1]) < 127:
            emit(source[i + 1])
            i += 2
            continue
        if ch == "`":
            fence = source.startswith("```", i)
            marker = "```" if fence else "`"
            close = source.find(marker, i + len(marker))
            if close == -1:
                kind = "Pre" if fence else "Code"
                raise parse_error(f"Can't find end of {kind} entity at byte offset {byte_offset}")
            body = source[i + len(marker) : close]
            entity: dict[str, Any] = {"type": "pre" if fence else "code"}
            if fence and "\n" in body:
                first, rest = body.split("\n", 1)
                if first and " " not in first:
                    entity["language"] = first
                    body = rest
            body = re.sub(r"\\([`\\])", r"\1", body)
            start = pos16
            emit(body)
            _add_entity(entities, entity, start, pos16)
            i = close + len(marker)
            continue
        if ch == "[":
            stack.append(_Open("[", pos16, byte_offset, {"type": "text_link"}))
            i += 1
            continue
        if ch == "]" and stack and stack[-1].name == "[":
            top = stack.pop()
            if not source.startswith("(", i + 1):
                raise parse_error(f"Can't find end of a URL at byte offset {byte_offset}")
            close = source.find(")", i + 2)
            if close == -1:
                raise parse_error(f"Can't find end of a URL at byte offset {byte_offset}")
            url = re.sub(r"\\(.)", r"\1", source[i + 2 : close])
            entity = {"type": "text_link", "url": url}
            if url.startswith("tg://user?id="):
                entity = {"type": "text_mention", "user": {"id": int(url.split("=", 1)[1] or 0)}}
            _add_entity(entities, entity, top.start, pos16)
            i = close + 1
            continue
        marker = ""
        if source.startswith("__", i):
            marker = "__"
        elif source.startswith("||", i):
            marker = "||"
        elif ch in "*_~":
            marker = ch
        if marker:
            if stack and stack[-1].name == marker:
                top = stack.pop()
                _add_entity(entities, top.entity, top.start, pos16)
            else:
                stack.append(_Open(marker, pos16, byte_offset, {"type": _MDV2_NAMES[marker][0]}))
            i += len(marker)
            continue
        if ch == ">" and (i == 0 or source[i - 1] == "\n"):
            line_end = source.find("\n", i)
            line_end = n if line_end == -1 else line_end
            inner = parse_markdown_v2(source[i + 1 : line_end])
            start = pos16
            emit(inner.text)
            for e in inner.entities:
                entities.append({**e, "offset": e["offset"] + start})
            _add_entity(entities, {"type": "blockquote"}, start, pos16)
            i = line_end
            continue
        if ch in _MDV2_RESERVED:
            raise parse_error(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        emit(ch)
        i += 1
    if stack:
        top = stack[-1]
        name = "TextUrl" if top.name == "[" else _MDV2_NAMES[top.name][1]
        raise parse_error(f"Can't find end of {name} entity at byte offset {top.byte_offset}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return Parsed("".join(out), entities)


def parse_markdown(source: str) -> Parsed:
    """Parse legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url)."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    pos16 = 0
    i = 0
    n = len(source)
    kinds = {"*": ("bold", "Bold"), "_": ("italic", "Italic"), "`": ("code", "Code")}
    while i < n:
        ch = source[i]
        byte_offset = len(source[:i].encode("utf-8", "surrogatepass"))
        if ch == "\\" and i + 1 < n and source[i + 1] in "*_`[":
            out.append(source[i + 1])
            pos16 += 1
            i += 2
            continue
        if source.startswith("```", i):
            close = source.find("```", i + 3)
            if close == -1:
                raise parse_error(
                    f"Can't find end of the entity starting at byte offset {byte_offset}"
                )
            body = source[i + 3 : close]
            out.append(body)
            _add_entity(entities, {"type": "pre"}, pos16, pos16 + utf16_len(body))
            pos16 += utf16_len(body)
            i = close + 3
            continue
        if ch in kinds:
            close = source.find(ch, i + 1)
            if close == -1:
                raise parse_error(
                    f"Can't find end of the entity starting at byte offset {byte_offset}"
                )
            body = source[i + 1 : close]
            out.append(body)
            _add_entity(entities, {"type": kinds[ch][0]}, pos16, pos16 + utf16_len(body))
            pos16 += utf16_len(body)
            i = close + 1
            continue
        if ch == "[":
            m = re.match(r"\[([^\]]*)\]\(([^)]*)\)", source[i:])
            if m:
                body = m.group(1)
                out.append(body)
                _add_entity(
                    entities,
                    {"type": "text_link", "url": m.group(2)},
                    pos16,
                    pos16 + utf16_len(body),
                )
                pos16 += utf16_len(body)
                i += m.end()
                continue
        out.append(ch)
        pos16 += utf16_len(ch)
        i += 1
    return Parsed("".join(out), entities)


def parse_text(text: str, parse_mode: str | None, entities: Any = None) -> Parsed:
    """Parse text by parse_mode, or take explicit entities as given."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    if mode:
        raise bad_request(f"unsupported parse_mode {parse_mode}")
    return Parsed(text, list(entities) if isinstance(entities, list) else [])


_COMMAND_RE = re.compile(r"(?<![\w/])/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]{3,32})?")


def detect_entities(text: str) -> list[dict[str, Any]]:
    """Find the bot_command and url entities Telegram adds to a person's message."""
    found: list[dict[str, Any]] = []
    for m in _COMMAND_RE.finditer(text):
        start = utf16_len(text[: m.start()])
        found.append({"type": "bot_command", "offset": start, "length": utf16_len(m.group())})
    for m in re.finditer(r"https?://[^\s]+", text):
        start = utf16_len(text[: m.start()])
        found.append({"type": "url", "offset": start, "length": utf16_len(m.group())})
    found.sort(key=lambda e: e["offset"])
    return found
