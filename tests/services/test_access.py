"""One access decision per update: who, what their roles allow, which registration step."""

from __future__ import annotations

from db.enums import Role
from db.models import Person, PersonRole
from services.access import Knock, Verdict, admit
from services.callbacks import CheckInAsk, LanguagePick, LeaveVerdict, encode
from services.commands import CommandBook

BOOK = CommandBook({"start", "help", "checkin", "duty"})


async def _people() -> None:
    staff = await Person.create(telegram_id=1, name="Staff", language="zh-Hans")
    await PersonRole.create(person=staff, role=Role.STAFF)
    await Person.create(telegram_id=2, name="New", registration_step="phone")
    gone = await Person.create(telegram_id=3, name="Gone", active=False)
    await PersonRole.create(person=gone, role=Role.HEAD)


async def test_registered_people_go_on_within_their_roles(db: str) -> None:
    """Commands and buttons of their roles pass; others are refused in their language."""
    await _people()
    passed = await admit(Knock(1, message=True, command="checkin"), commands=BOOK)
    assert passed.verdict == Verdict.PASS
    assert passed.actor is not None
    assert passed.actor.roles == {Role.STAFF}
    for knock, msgid in [
        (Knock(1, message=True, command="duty"), "error.not_allowed"),
        (Knock(1, message=True, command="outing"), "command.not_available"),
        (Knock(1, message=True, command="nonsense"), "help.unknown_command"),
        (
            Knock(1, callback=True, callback_data=encode(LeaveVerdict(1, approve=True))),
            "error.not_allowed",
        ),
        (Knock(1, callback=True, callback_data="leave:ok:1"), "button.refused"),
        (Knock(1, callback=True, callback_data=None), "button.refused"),
    ]:
        refused = await admit(knock, commands=BOOK)
        assert (refused.verdict, refused.msgid, refused.language) == (
            Verdict.REFUSE,
            msgid,
            "zh-Hans",
        ), knock
        assert refused.actor is not None
    button = await admit(
        Knock(1, callback=True, callback_data=encode(CheckInAsk())), commands=BOOK
    )
    assert (button.verdict, button.button) == (Verdict.PASS, CheckInAsk())


async def test_someone_registering_answers_their_step_only(db: str) -> None:
    """The contact, /start and the language buttons go on; anything else repeats the step."""
    await _people()
    for knock in (
        Knock(2, message=True, contact=True),
        Knock(2, message=True, command="start"),
        Knock(2, callback=True, callback_data=encode(LanguagePick("en"))),
    ):
        admission = await admit(knock, commands=BOOK)
        assert admission.verdict == Verdict.PASS, knock
        assert admission.actor is None
    prompt = await admit(Knock(2, message=True, command="help"), commands=BOOK)
    assert prompt.verdict == Verdict.PROMPT
    assert prompt.person is not None
    assert prompt.person.telegram_id == 2
    press = await admit(Knock(2, callback=True, callback_data=encode(CheckInAsk())), commands=BOOK)
    assert (press.verdict, press.msgid) == (Verdict.REFUSE, "button.refused")


async def test_strangers_and_deactivated_people_need_an_invitation(db: str) -> None:
    """Only /start with a code passes; the rest gets one line, or nothing when silent."""
    await _people()
    for telegram_id in (3, 99):
        invited = await admit(
            Knock(telegram_id, message=True, command="start", command_has_args=True), commands=BOOK
        )
        assert invited.verdict == Verdict.PASS
        refused = await admit(
            Knock(telegram_id, "fr", message=True, command="help"), commands=BOOK
        )
        assert (refused.verdict, refused.msgid, refused.language) == (
            Verdict.REFUSE,
            "start.unregistered",
            "fr",
        )
        assert refused.actor is None
        silent = await admit(Knock(telegram_id), commands=BOOK)
        assert silent.verdict == Verdict.DROP


async def test_groups_and_edits_stop_before_the_database(db: str) -> None:
    """Nothing personal in a group; an edited command is not run again."""
    await _people()
    group = await admit(
        Knock(1, private_chat=False, message=True, command="checkin"), commands=BOOK
    )
    assert (group.verdict, group.msgid, group.actor) == (Verdict.REFUSE, "chat.private_only", None)
    chatter = await admit(Knock(1, private_chat=False, message=True), commands=BOOK)
    assert chatter.verdict == Verdict.DROP
    edited = await admit(Knock(1, edited_text=True), commands=BOOK)
    assert edited.verdict == Verdict.DROP
