"""`.env.example` lists every setting, and every variable it lists exists."""

from __future__ import annotations

from pathlib import Path

from bot.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_matches_settings() -> None:
    """Each Settings field appears once in .env.example, and nothing else does."""
    listed = {
        line.split("=", 1)[0].strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    expected = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert listed == expected
