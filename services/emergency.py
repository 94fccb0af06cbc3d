"""The emergency words and numbers: what a person who writes "SOS" gets until SOS lands."""

from __future__ import annotations

import unicodedata

from services.contacts import DirectoryEntry, directory
from services.errors import NotFound
from services.people import Actor

# Compared after trimming and case-folding; "help" in the languages Outpost speaks.
SOS_WORDS = frozenset({"sos", "🆘", "help", "救命"})


def is_sos_text(text: str | None) -> bool:
    """True when a message is a cry for help ("SOS", "🆘", "help", "救命"; any case, trimmed).

    The one matcher: the SOS feature takes it over from here.
    """
    if not text:
        return False
    word = unicodedata.normalize("NFKC", text).strip().strip("!！.。").strip().casefold()
    # The emoji may come with a variation selector.
    word = word.replace("\ufe0f", "")
    # The keyboard's button sends "🆘 SOS".
    return word in SOS_WORDS or word.replace("🆘", "").strip() in SOS_WORDS


async def emergency_numbers(actor: Actor) -> list[DirectoryEntry]:
    """The contacts with a phone number in the country of the actor's station (as /contacts
    lists them); empty when there is no station or nothing is known for its country."""
    try:
        found = await directory(actor)
    except NotFound:
        return []
    return [entry for entry in found.entries if entry.phone]
