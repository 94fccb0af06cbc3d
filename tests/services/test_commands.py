"""The command table and a bot's command book."""

from __future__ import annotations

from db.enums import Role
from services import commands
from services.commands import CommandBook


def test_command_book_lists_built_commands_of_the_roles() -> None:
    """Menus list built commands of the person's roles; head and HQ commands are reserved."""
    book = CommandBook({"start", "help", "contacts", "outings", "alert"})
    staff = [spec.name for spec in book.commands_for({Role.STAFF})]
    assert staff == ["start", "help", "contacts"]
    assert "outings" in [s.name for s in book.commands_for({Role.HEAD})]
    assert "alert" in [s.name for s in book.commands_for({Role.SAFETY})]
    assert not commands.may_run("approvals", {Role.STAFF})
    assert commands.may_run("approvals", {Role.HEAD})
    assert book.menu_key({Role.STAFF}, "en") != book.menu_key({Role.HEAD}, "en")
    assert book.menu_key({Role.STAFF}, "en") != book.menu_key({Role.STAFF}, "zh-Hans")
    assert dict(book.menu({Role.STAFF}, "zh-Hans"))["contacts"] == "紧急联系人"


def test_two_books_do_not_share_state() -> None:
    """Each application has its own book: building one changes nothing in another."""
    small, large = CommandBook({"start"}), CommandBook({"start", "help", "duty"})
    assert not small.is_built("duty")
    assert large.is_built("duty")
    assert small.menu_key({Role.HEAD}, "en") != large.menu_key({Role.HEAD}, "en")
    assert not hasattr(commands, "_built")
