"""The Bot API spec shipped with the sandbox: method fields, types and parameter decoding."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.sandbox.errors import bad_request

SPEC_PATH = Path(__file__).with_name("bot_api_spec.json")


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a method or field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool

    @property
    def is_plain_string(self) -> bool:
        """Whether the value is a string and never JSON-encoded by clients."""
        return self.types == ("String",)

    @property
    def accepts_file(self) -> bool:
        """Whether the value may be an uploaded file."""
        return any(t.startswith("InputFile") for t in self.types)


@dataclass(frozen=True)
class MethodSpec:
    """One Bot API method with its parameters."""

    name: str
    fields: dict[str, FieldSpec]
    returns: tuple[str, ...] = ()

    @property
    def required(self) -> list[str]:
        """Names of the required parameters, in spec order."""
        return [f.name for f in self.fields.values() if f.required]


@dataclass(frozen=True)
class BotApiSpec:
    """Methods and types of one Bot API version."""

    version: str
    methods: dict[str, MethodSpec]
    types: dict[str, dict[str, FieldSpec]]
    subtypes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def method(self, name: str) -> MethodSpec | None:
        """Return a method by name; Telegram matches method names case-insensitively."""
        return self.methods.get(name.lower())


def _field_specs(raw: list[dict[str, Any]]) -> dict[str, FieldSpec]:
    """Build field specs from trimmed JSON."""
    return {f["name"]: FieldSpec(f["name"], tuple(f["types"]), bool(f["required"])) for f in raw}


@functools.cache
def load_spec(path: Path = SPEC_PATH) -> BotApiSpec:
    """Load the trimmed spec (cached)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    methods = {
        name.lower(): MethodSpec(name, _field_specs(m["fields"]), tuple(m.get("returns", [])))
        for name, m in data["methods"].items()
    }
    types = {name: _field_specs(t["fields"]) for name, t in data["types"].items()}
    subtypes = {
        name: tuple(t["subtypes"]) for name, t in data["types"].items() if t.get("subtypes")
    }
    return BotApiSpec(data["version"], methods, types, subtypes)


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


RawValue = str | UploadedFile


def decode_value(spec: FieldSpec, value: Any) -> Any:
    """Decode one form value the way the Bot API server does: JSON for non-strings."""
    if not isinstance(value, str) or spec.is_plain_string:
        return value
    if "Integer" in spec.types and "String" in spec.types:
        try:
            return int(value)
        except ValueError:
            return value
    if spec.types in (("Integer",), ("Float",), ("Float number",), ("Boolean",), ("True",)):
        return _scalar(spec.types[0], value)
    if spec.accepts_file and not value.startswith(("[", "{")):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _scalar(kind: str, value: str) -> Any:
    """Decode a scalar form value as Telegram does (lenient about quoting)."""
    text = value.strip()
    if kind in ("Boolean", "True"):
        if text.lower() in ("true", "1"):
            return True
        if text.lower() in ("false", "0", ""):
            return False
        return text
    try:
        return int(text) if kind == "Integer" else float(text)
    except ValueError:
        return text


def resolve_attachments(params: dict[str, Any], files: dict[str, UploadedFile]) -> None:
    """Replace attach://name references by the uploaded parts they name."""
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            part = files.get(value.removeprefix("attach://"))
            if part is None:
                raise bad_request(f"wrong HTTP URL specified for {key}")
            params[key] = part


def check_parameters(method: MethodSpec, params: dict[str, Any], strict: bool) -> None:
    """Reject missing required parameters and, in strict mode, unknown ones."""
    for name in method.required:
        value = params.get(name)
        if value is None or value == "":
            raise bad_request(_missing_wording(method.name, name))
    if strict:
        unknown = sorted(set(params) - set(method.fields))
        if unknown:
            raise bad_request(f'unknown parameter "{unknown[0]}"')


def _missing_wording(method: str, name: str) -> str:
    """Telegram's wording for a missing required parameter."""
    special = {
        "chat_id": "chat_id is empty",
        "text": "message text is empty",
        "latitude": "latitude is empty",
        "longitude": "longitude is empty",
        "file_id": "file_id not specified",
        "message_id": "message identifier is not specified",
    }
    if name == "text" and method != "sendMessage" and not method.startswith("edit"):
        return f'parameter "{name}" is required'
    return special.get(name, f'parameter "{name}" is required')
