"""Normal forms of what people type: names shown to others."""

from __future__ import annotations

import pytest

from services.validation import display_name


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Li Ming", "Li Ming"),
        ("\u202eMing Li", "Ming Li"),  # right-to-left override
        ("Li\u202a Ming\u202c", "Li Ming"),  # embedding and its pop
        ("\u2066Li\u2069 \u2067Ming\u2068\u2069", "Li Ming"),  # isolates
        ("Li\u200e Ming\u200f\u061c", "Li Ming"),  # direction marks
        ("Li\x00\x1b[31m Ming", "Li[31m Ming"),  # control characters
        ("  Li \n\t Ming\u2028 ", "Li Ming"),  # line breaks and separators
        ("Li\u200b\ufeffMing", "LiMing"),  # zero-width space and BOM
        ("Amina 👩\u200d💻", "Amina 👩\u200d💻"),  # the joiner an emoji needs is kept
        ("e\u0301", "é"),  # NFC
        ("张伟", "张伟"),
    ],
)
def test_display_names_lose_what_would_reorder_or_hide_text(given: str, stored: str) -> None:
    """Only the characters a reader sees are kept."""
    assert display_name(given) == stored
