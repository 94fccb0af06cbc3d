"""Regenerate the trimmed Bot API spec shipped with the sandbox from the full spec file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DEFAULT_OUTPUT = Path(__file__).with_name("bot_api_spec.json")


def _fields(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Keep only name, types and required of each field."""
    return [
        {"name": f["name"], "types": list(f["types"]), "required": bool(f["required"])}
        for f in entry.get("fields", [])
    ]


def trim(full: dict[str, Any]) -> dict[str, Any]:
    """Return the trimmed spec: version, methods and types with their fields."""
    return {
        "version": full["version"],
        "release_date": full.get("release_date", ""),
        "methods": {
            name: {"fields": _fields(m), "returns": list(m.get("returns", []))}
            for name, m in sorted(full["methods"].items())
        },
        "types": {
            name: {"fields": _fields(t), "subtypes": list(t.get("subtypes", []))}
            for name, t in sorted(full["types"].items())
        },
    }


def main(argv: list[str] | None = None) -> None:
    """Read the full spec and write the trimmed copy."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", type=Path, help="full bot-api.json")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    full = json.loads(args.source.read_text(encoding="utf-8"))
    text = json.dumps(trim(full), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    args.output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
