"""Simulated people and groups: what tests (and the browser chat) do as Telegram users."""

from __future__ import annotations

import secrets
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.sandbox.formatting import detect_entities
from bot.sandbox.webapp import sign_init_data, web_app_url

if TYPE_CHECKING:
    from bot.sandbox.world import (
        BotAccount,
        CallbackAnswer,
        CallbackQuery,
        Chat,
        ChatMessage,
        Conversation,
        Sandbox,
        User,
    )

MessagePredicate = Callable[["ChatMessage"], bool]


def tiny_png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """Return a real, valid PNG image of one colour."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


class _Speaker:
    """Shared behaviour of people and groups: reading what the bot said in one chat."""

    sandbox: Sandbox
    account: BotAccount
    chat: Chat
    _cursor: int

    @property
    def conversation(self) -> Conversation:
        """This chat's conversation with the bot."""
        return self.sandbox.conversation(self.account.token, self.chat.id)

    @property
    def messages(self) -> list[ChatMessage]:
        """Every message the bot sent here that is not deleted, oldest first."""
        return [m for m in self.conversation.messages if m.from_bot and not m.deleted]

    @property
    def all_messages(self) -> list[ChatMessage]:
        """Every message in this chat from both sides, deleted ones included."""
        return list(self.conversation.messages)

    @property
    def last_message(self) -> ChatMessage | None:
        """The newest message from the bot, if any."""
        messages = self.messages
        return messages[-1] if messages else None

    @property
    def actions(self) -> list[str]:
        """Chat actions the bot sent here (typing, upload_photo...)."""
        return list(self.conversation.actions)

    async def wait_for_message(
        self,
        predicate: MessagePredicate | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ChatMessage:
        """Return the next unread bot message matching predicate, waiting for it."""

        def find() -> ChatMessage | None:
            for message in self.conversation.messages:
                if message.seq <= self._cursor or not message.from_bot:
                    continue
                if predicate is None or predicate(message):
                    return message
            return None

        try:
            message: ChatMessage = await self.sandbox.changed.wait_for(find, timeout)
        except TimeoutError:
            said = [m.raw_text for m in self.messages[-5:]]
            raise TimeoutError(
                f"no matching bot message within {timeout}s; last ones: {said!r}"
            ) from None
        self._cursor = message.seq
        return message

    async def wait_for_edit(
        self,
        message: ChatMessage,
        timeout: float = 5.0,  # noqa: ASYNC109
        edits: int | None = None,
    ) -> ChatMessage:
        """Wait until message has been edited more times than now (or `edits` times)."""
        target = (len(message.history) + 1) if edits is None else edits
        await self.sandbox.changed.wait_for(lambda: len(message.history) >= target, timeout)
        return message

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:  # noqa: ASYNC109
        """Wait until predicate() is truthy, waking on every change in the sandbox."""
        return await self.sandbox.changed.wait_for(predicate, timeout)

    def mark_read(self) -> None:
        """Skip every message received so far for wait_for_message."""
        self._cursor = max((m.seq for m in self.conversation.messages), default=self._cursor)


class Person(_Speaker):
    """A simulated Telegram user talking to one bot."""

    def __init__(self, sandbox: Sandbox, user: User, account: BotAccount) -> None:
        self.sandbox = sandbox
        self.user = user
        self.account = account
        self.chat = sandbox.chats[user.id]
        self._cursor = 0

    def __repr__(self) -> str:
        return f"Person(id={self.user.id})"

    @property
    def id(self) -> int:
        """The person's Telegram user id."""
        return self.user.id

    def with_bot(self, token: str) -> Person:
        """The same person talking to another bot of the sandbox."""
        return Person(self.sandbox, self.user, self.sandbox.bot(token))

    # sending

    def _send(
        self, content: dict[str, Any], chat: Chat | None = None, *, text: str | None = None
    ) -> ChatMessage:
        """Store a message from this person and queue the update for the bot."""
        target = chat or self.chat
        self.user.started.add(self.account.token)
        message = self.sandbox.add_message(
            self.account, target, self.user.to_json(), content, from_bot=False, text=text
        )
        self.sandbox.push_update(self.account, "message", message.data)
        return message

    def send_text(self, text: str, *, chat: Chat | None = None) -> ChatMessage:
        """Send a text message; commands get their bot_command entity."""
        content: dict[str, Any] = {"text": text}
        entities = detect_entities(text)
        if entities:
            content["entities"] = entities
        return self._send(content, chat, text=text)

    def send_command(self, command: str, args: str = "") -> ChatMessage:
        """Send /command with optional arguments."""
        text = "/" + command.lstrip("/")
        return self.send_text(f"{text} {args}".strip())

    def share_location(
        self,
        latitude: float,
        longitude: float,
        *,
        horizontal_accuracy: float | None = None,
        live_period: int | None = None,
        forwarded_from: Person | None = None,
        forward_date: int | None = None,
    ) -> ChatMessage:
        """Share a location, live or forwarded if asked."""
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = horizontal_accuracy
        if live_period is not None:
            location["live_period"] = live_period
        content: dict[str, Any] = {"location": location}
        if forwarded_from is not None:
            content["forward_origin"] = {
                "type": "user",
                "sender_user": forwarded_from.user.to_json(),
                "date": forward_date if forward_date is not None else self.sandbox.now() - 3600,
            }
        return self._send(content)

    def share_live_location(
        self,
        latitude: float,
        longitude: float,
        live_period: int = 900,
        horizontal_accuracy: float | None = None,
    ) -> LiveLocation:
        """Start sharing a live location; move it with LiveLocation.move()."""
        message = self.share_location(
            latitude, longitude, live_period=live_period, horizontal_accuracy=horizontal_accuracy
        )
        return LiveLocation(self, message)

    def share_contact(self, phone_number: str | None = None) -> ChatMessage:
        """Share this person's own contact (as after a request_contact button)."""
        contact = {
            "phone_number": phone_number or self.user.phone_number or f"+1555{self.user.id:07d}",
            "first_name": self.user.first_name,
            "user_id": self.user.id,
        }
        if self.user.last_name:
            contact["last_name"] = self.user.last_name
        return self._send({"contact": contact})

    def send_photo(self, data: bytes | None = None, caption: str | None = None) -> ChatMessage:
        """Send a photo (a tiny real PNG by default) the bot can getFile and download."""
        stored = self.sandbox.store_file(data or tiny_png(), "photo")
        size = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "width": stored.width or 0,
            "height": stored.height or 0,
        }
        content: dict[str, Any] = {"photo": [size]}
        if caption:
            content["caption"] = caption
        return self._send(content, text=caption)

    def send_document(
        self,
        data: bytes,
        file_name: str = "document.txt",
        mime_type: str = "text/plain",
        caption: str | None = None,
    ) -> ChatMessage:
        """Send a document the bot can getFile and download."""
        stored = self.sandbox.store_file(
            data, "document", file_name=file_name, mime_type=mime_type
        )
        content: dict[str, Any] = {
            "document": {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": len(data),
            }
        }
        if caption:
            content["caption"] = caption
        return self._send(content, text=caption)

    # buttons

    def find_inline_button(
        self, text: str, message: ChatMessage | None = None
    ) -> tuple[ChatMessage, dict[str, Any]] | None:
        """Find an inline button by its text, in message or the newest message having it."""
        candidates = [message] if message is not None else list(reversed(self.messages))
        for candidate in candidates:
            for button in candidate.inline_buttons:
                if button.get("text") == text:
                    return candidate, button
        return None

    def reply_keyboard_buttons(self) -> list[dict[str, Any]]:
        """The buttons of the reply keyboard shown now, as objects."""
        keyboard = self.conversation.reply_keyboard or {}
        return [
            b if isinstance(b, dict) else {"text": b}
            for row in keyboard.get("keyboard", [])
            for b in row
        ]

    def press(self, text: str, message: ChatMessage | None = None) -> PressResult:
        """Press a button by its text: an inline button first, else a reply keyboard button."""
        found = self.find_inline_button(text, message)
        if found is not None:
            return self._press_inline(*found)
        for button in self.reply_keyboard_buttons():
            if button.get("text") == text:
                return self._press_reply(button)
        raise LookupError(f"no button {text!r} visible to {self!r}")

    def send_crafted_callback(self, data: str, message: ChatMessage | None = None) -> PressResult:
        """Send a callback query with any data, as a modified client could: for security tests."""
        target = message or self.last_message
        if target is None:
            raise LookupError(f"{self!r} has no message from the bot to attach a callback to")
        return self._press_inline(target, {"callback_data": data})

    def _press_inline(self, message: ChatMessage, button: dict[str, Any]) -> PressResult:
        """Act on an inline button like a Telegram client does."""
        if "callback_data" in button:
            query_id = str(secrets.randbits(63))
            from bot.sandbox.world import CallbackQuery

            query = CallbackQuery(
                query_id,
                self.account.token,
                self.chat.id,
                self.user.id,
                message.message_id,
                button["callback_data"],
            )
            self.sandbox.callback_queries[query_id] = query
            payload = {
                "id": query_id,
                "from": self.user.to_json(),
                "message": message.data,
                "chat_instance": str(abs(hash((self.account.token, self.chat.id)))),
                "data": button["callback_data"],
            }
            self.sandbox.push_update(self.account, "callback_query", payload)
            return PressResult(self, query=query)
        if "web_app" in button:
            return PressResult(self, url=self.web_app_url(button["web_app"]["url"]))
        if "url" in button:
            return PressResult(self, url=button["url"])
        return PressResult(self)

    def _press_reply(self, button: dict[str, Any]) -> PressResult:
        """Act on a reply keyboard button like a Telegram client does."""
        keyboard = self.conversation.reply_keyboard or {}
        if keyboard.get("one_time_keyboard"):
            self.conversation.reply_keyboard = None
        if button.get("request_location"):
            # Default spot: the sandbox has no GPS; tests pass coordinates via share_location.
            return PressResult(self, message=self.share_location(0.0, 0.0))
        if button.get("request_contact"):
            return PressResult(self, message=self.share_contact())
        if "web_app" in button:
            return PressResult(self, url=self.web_app_url(button["web_app"]["url"]))
        return PressResult(self, message=self.send_text(button["text"]))

    # Mini App

    def init_data(self, query_id: str | None = None, auth_date: int | None = None) -> str:
        """Signed initData for this person and bot, as Telegram builds it."""
        return sign_init_data(
            self.account.token,
            self.user.to_json() | ({"is_premium": True} if self.user.is_premium else {}),
            auth_date if auth_date is not None else self.sandbox.now(),
            query_id if query_id is not None else secrets.token_urlsafe(12),
        )

    def web_app_url(self, url: str) -> str:
        """A Mini App URL with signed initData appended (#tgWebAppData=...)."""
        return web_app_url(url, self.init_data())

    # blocking

    def block_bot(self) -> None:
        """Block the bot: later messages to this person fail with 403."""
        self._set_member_status("kicked")
        self.user.blocked.add(self.account.token)

    def unblock_bot(self) -> None:
        """Unblock the bot."""
        self.user.blocked.discard(self.account.token)
        self._set_member_status("member")

    def _set_member_status(self, status: str) -> None:
        """Tell the bot about its new membership in this private chat (my_chat_member)."""
        old = "member" if status == "kicked" else "kicked"
        bot_user = self.account.user_json()
        payload = {
            "chat": self.chat.to_json(),
            "from": self.user.to_json(),
            "date": self.sandbox.now(),
            "old_chat_member": _member(old, bot_user, self.sandbox.now()),
            "new_chat_member": _member(status, bot_user, self.sandbox.now()),
        }
        self.sandbox.push_update(self.account, "my_chat_member", payload)

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """What the bot answered to this person's button presses."""
        return list(self.conversation.callback_answers)

    def visible_commands(self) -> list[dict[str, Any]]:
        """The command menu this person sees, resolved by scope and language as Telegram does."""
        commands = self.account.commands
        lang = (self.user.language_code or "").split("-")[0]
        scopes = [
            f'{{"chat_id":{self.chat.id},"type":"chat"}}',
            '{"type":"all_private_chats"}',
            '{"type":"default"}',
        ]
        for scope in scopes:
            for language in (lang, ""):
                if (scope, language) in commands:
                    return commands[(scope, language)]
        return []


def _member(status: str, user: dict[str, Any], now: int) -> dict[str, Any]:
    """A ChatMember object of the given status."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "kicked":
        member["until_date"] = 0
    return member


@dataclass
class PressResult:
    """The outcome of pressing a button: a callback query, a message sent, or a URL to open."""

    person: Person
    query: CallbackQuery | None = None
    message: ChatMessage | None = None
    url: str | None = None

    async def wait_answer(self, timeout: float = 5.0) -> CallbackAnswer:  # noqa: ASYNC109
        """Wait until the bot answers the callback query."""
        query = self.query
        if query is None:
            raise ValueError("this button press sent no callback query")
        answer: CallbackAnswer = await self.person.sandbox.changed.wait_for(
            lambda: query.answer, timeout
        )
        return answer


class LiveLocation:
    """A live location being shared; moving it sends edited_message updates."""

    def __init__(self, person: Person, message: ChatMessage) -> None:
        self.person = person
        self.message = message

    def move(
        self, latitude: float, longitude: float, horizontal_accuracy: float | None = None
    ) -> None:
        """Move the live location (an edited_message update for the bot)."""
        data = self.message.data
        self.message.history.append(dict(data))
        location = dict(data["location"], latitude=latitude, longitude=longitude)
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = horizontal_accuracy
        data["location"] = location
        data["edit_date"] = self.person.sandbox.now()
        self.person.sandbox.push_update(self.person.account, "edited_message", dict(data))

    def stop(self) -> None:
        """Stop sharing: the last edit carries no live_period."""
        data = self.message.data
        self.message.history.append(dict(data))
        data["location"] = {k: v for k, v in data["location"].items() if k != "live_period"}
        data["edit_date"] = self.person.sandbox.now()
        self.person.sandbox.push_update(self.person.account, "edited_message", dict(data))


class Group(_Speaker):
    """A simulated group chat with the bot."""

    def __init__(self, sandbox: Sandbox, chat: Chat, account: BotAccount) -> None:
        self.sandbox = sandbox
        self.chat = chat
        self.account = account
        self._cursor = 0

    @property
    def id(self) -> int:
        """The group's chat id."""
        return self.chat.id

    def say(self, person: Person, text: str) -> ChatMessage:
        """A member sends text in the group."""
        self.chat.members.add(person.user.id)
        return person.with_bot(self.account.token).send_text(text, chat=self.chat)
