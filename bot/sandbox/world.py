"""The sandbox's world: bots, people, chats, messages, files and pending updates."""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.sandbox.faults import FaultInjector
from bot.sandbox.limits import Clock, FloodLimiter, FloodLimits
from bot.sandbox.spec import BotApiSpec, load_spec

if TYPE_CHECKING:
    from bot.sandbox.people import Group, Person

logger = logging.getLogger(__name__)

# Telegram's default when allowed_updates is not given: everything except these.
NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class Signal:
    """Wakes every waiter when something changed; waiters re-check their own condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.version = 0

    def notify(self) -> None:
        """Wake all current waiters."""
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float | None) -> Any:  # noqa: ASYNC109
        """Return the first truthy predicate() result, waiting for changes (TimeoutError)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            event = self._event
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):
                await event.wait()


@dataclass
class WebhookConfig:
    """A bot's webhook as set by setWebhook."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class StoredFile:
    """A file the sandbox keeps in memory for getFile and download."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    kind: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass
class BotAccount:
    """One bot (token) registered with the sandbox."""

    token: str
    user_id: int
    username: str
    first_name: str
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    webhook: WebhookConfig | None = None
    allowed_updates: list[str] | None = None
    commands: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    menu_buttons: dict[int | None, dict[str, Any]] = field(default_factory=dict)
    duplicate_deliveries: int = 0
    delivered: list[int] = field(default_factory=list)
    poll_generation: int = 0
    signal: Signal = field(default_factory=Signal)
    # For benchmarks: messages the bot sent, and seconds from a person's message to the bot's
    # next message in that chat.
    messages_sent: int = 0
    reply_latencies: list[float] = field(default_factory=list)

    def user_json(self) -> dict[str, Any]:
        """The bot as a Telegram User object."""
        return {
            "id": self.user_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }


@dataclass
class User:
    """A simulated person's Telegram account."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    phone_number: str | None = None
    is_premium: bool = False
    blocked: set[str] = field(default_factory=set)
    started: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        """The person as a Telegram User object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class Chat:
    """A private chat (id = the person's id) or a group."""

    id: int
    type: str
    title: str | None = None
    user: User | None = None
    members: set[int] = field(default_factory=set)
    bots: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        """The chat as a Telegram Chat object."""
        if self.user is not None:
            data = {
                k: v
                for k, v in self.user.to_json().items()
                if k not in ("is_bot", "language_code")
            }
            data["type"] = "private"
            return data
        return {"id": self.id, "type": self.type, "title": self.title or ""}


@dataclass
class ChatMessage:
    """A message in a conversation, with its edit history."""

    seq: int
    message_id: int
    from_bot: bool
    data: dict[str, Any]
    text: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    reply_markup_sent: dict[str, Any] | None = None

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        """The markup sent with the message (inline or reply keyboard)."""
        return self.reply_markup_sent

    @property
    def inline_buttons(self) -> list[dict[str, Any]]:
        """All inline keyboard buttons, row by row."""
        markup = self.data.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def button_texts(self) -> list[str]:
        """Texts of the inline buttons."""
        return [b["text"] for b in self.inline_buttons]

    @property
    def raw_text(self) -> str | None:
        """The text or caption as Telegram stores it (formatting removed)."""
        return self.data.get("text", self.data.get("caption"))

    @property
    def photo(self) -> list[dict[str, Any]] | None:
        """PhotoSize list of a photo message."""
        return self.data.get("photo")

    @property
    def document(self) -> dict[str, Any] | None:
        """Document of a document message."""
        return self.data.get("document")

    @property
    def location(self) -> dict[str, Any] | None:
        """Location of a location or venue message."""
        return self.data.get("location")

    @property
    def edited(self) -> bool:
        """Whether the message was edited."""
        return bool(self.history)


@dataclass
class CallbackAnswer:
    """What the bot answered to a pressed inline button."""

    text: str | None
    show_alert: bool
    url: str | None


@dataclass
class CallbackQuery:
    """A pressed inline button waiting for answerCallbackQuery."""

    id: str
    token: str
    chat_id: int
    user_id: int
    message_id: int
    data: str | None
    answer: CallbackAnswer | None = None


@dataclass
class Conversation:
    """Everything that happened between one bot and one chat."""

    token: str
    chat_id: int
    messages: list[ChatMessage] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    callback_answers: list[CallbackAnswer] = field(default_factory=list)
    next_message_id: int = 1
    reply_keyboard: dict[str, Any] | None = None
    # When the oldest message from the person still waiting for the bot's answer arrived.
    awaiting_reply_since: float | None = None

    def find(self, message_id: int) -> ChatMessage | None:
        """Return a message by id, deleted or not."""
        for message in reversed(self.messages):
            if message.message_id == message_id:
                return message
        return None


@dataclass
class Violation:
    """A request Telegram would have rejected."""

    token_hint: str
    method: str
    error_code: int
    description: str

    def __str__(self) -> str:
        return f"{self.method} -> {self.error_code} {self.description}"


class Sandbox:
    """The state of the simulated Telegram, shared by the HTTP server and tests."""

    def __init__(
        self,
        *,
        strict: bool = True,
        limits: FloodLimits | None = None,
        clock: Clock | None = None,
        wall_clock: Callable[[], float] = time.time,
        seed: int = 0,
        webhook_retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0),
        spec: BotApiSpec | None = None,
    ) -> None:
        self.strict = strict
        self.spec = spec or load_spec()
        self.limiter = FloodLimiter(limits or FloodLimits(), clock or time.monotonic)
        self.faults = FaultInjector(seed)
        self.wall_clock = wall_clock
        self.webhook_retry_delays = webhook_retry_delays
        self.bots: dict[str, BotAccount] = {}
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.conversations: dict[tuple[str, int], Conversation] = {}
        self.files: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.violations: list[Violation] = []
        self.requests: list[tuple[str, str]] = []
        self.changed = Signal()
        self.closing = False
        self._seq = itertools.count(1)
        self._file_counter = itertools.count(1)
        self._bot_ids = itertools.count(7_000_000_001)
        self._group_ids = itertools.count(1)

    # registration

    @property
    def limits(self) -> FloodLimits:
        """The flood limits in force (mutable)."""
        return self.limiter.limits

    @property
    def default_bot(self) -> BotAccount:
        """The first bot registered."""
        if not self.bots:
            raise LookupError("no bot registered; call add_bot() first")
        return next(iter(self.bots.values()))

    def add_bot(
        self,
        token: str | None = None,
        username: str = "outpost_sandbox_bot",
        first_name: str = "Outpost",
    ) -> BotAccount:
        """Register a bot and return it; a token is made up when not given."""
        if token is None:
            bot_id = next(self._bot_ids)
            token = f"{bot_id}:{secrets.token_urlsafe(26)[:35]}"
        if token in self.bots:
            return self.bots[token]
        head = token.split(":", 1)[0]
        user_id = int(head) if head.isdigit() else next(self._bot_ids)
        account = BotAccount(token, user_id, username, first_name)
        self.bots[token] = account
        for chat in self.chats.values():
            if chat.type != "private":
                chat.bots.add(token)
        logger.info("sandbox bot registered: id=%s", user_id)
        return account

    def bot(self, token: str | None = None) -> BotAccount:
        """Return a bot by token, or the default bot."""
        return self.default_bot if token is None else self.bots[token]

    def add_person(
        self,
        user_id: int,
        first_name: str,
        language_code: str | None = "en",
        *,
        username: str | None = None,
        last_name: str | None = None,
        phone_number: str | None = None,
        started: bool = True,
        bot: str | None = None,
    ) -> Person:
        """Create a simulated person with a private chat; started means they opened the bot."""
        from bot.sandbox.people import Person

        user = self.users.get(user_id)
        if user is None:
            user = User(user_id, first_name, last_name, username, language_code, phone_number)
            self.users[user_id] = user
            self.chats[user_id] = Chat(user_id, "private", user=user)
        account = self.bot(bot)
        if started:
            user.started.add(account.token)
        self.changed.notify()
        return Person(self, user, account)

    def person(self, user_id: int, bot: str | None = None) -> Person:
        """Return the Person view of an existing user."""
        from bot.sandbox.people import Person

        return Person(self, self.users[user_id], self.bot(bot))

    def add_group(
        self,
        title: str,
        members: list[Person] | None = None,
        *,
        chat_id: int | None = None,
        supergroup: bool = True,
        bot: str | None = None,
    ) -> Group:
        """Create a group (a supergroup by default) with the bots and people given."""
        from bot.sandbox.people import Group

        if chat_id is None:
            n = next(self._group_ids)
            chat_id = -1_001_000_000_000 - n if supergroup else -4_000_000_000 - n
        chat = Chat(chat_id, "supergroup" if supergroup else "group", title=title)
        chat.bots = {bot} if bot else set(self.bots)
        chat.members = {p.user.id for p in members or []}
        self.chats[chat_id] = chat
        self.changed.notify()
        return Group(self, chat, self.bot(bot))

    # conversations and messages

    def conversation(self, token: str, chat_id: int) -> Conversation:
        """Return (creating) the conversation between a bot and a chat."""
        key = (token, chat_id)
        conv = self.conversations.get(key)
        if conv is None:
            conv = Conversation(token, chat_id)
            self.conversations[key] = conv
        return conv

    def now(self) -> int:
        """Unix time for message dates."""
        return int(self.wall_clock())

    def close(self) -> None:
        """Release every long poll: the server is stopping."""
        self.closing = True
        for account in self.bots.values():
            account.signal.notify()
        self.changed.notify()

    def add_message(
        self,
        account: BotAccount,
        chat: Chat,
        sender: dict[str, Any],
        content: dict[str, Any],
        *,
        from_bot: bool,
        text: str | None = None,
        reply_markup_sent: dict[str, Any] | None = None,
    ) -> ChatMessage:
        """Store a new message in a conversation and return it."""
        conv = self.conversation(account.token, chat.id)
        message_id = conv.next_message_id
        conv.next_message_id += 1
        data = {
            "message_id": message_id,
            "from": sender,
            "chat": chat.to_json(),
            "date": self.now(),
            **content,
        }
        message = ChatMessage(
            next(self._seq), message_id, from_bot, data, text, reply_markup_sent=reply_markup_sent
        )
        conv.messages.append(message)
        self._track_reply(account, conv, from_bot=from_bot)
        if from_bot and reply_markup_sent is not None:
            if "keyboard" in reply_markup_sent:
                conv.reply_keyboard = reply_markup_sent
            elif reply_markup_sent.get("remove_keyboard"):
                conv.reply_keyboard = None
        self.changed.notify()
        return message

    @staticmethod
    def _track_reply(account: BotAccount, conv: Conversation, *, from_bot: bool) -> None:
        now = time.monotonic()
        if not from_bot:
            if conv.awaiting_reply_since is None:
                conv.awaiting_reply_since = now
            return
        account.messages_sent += 1
        if conv.awaiting_reply_since is not None:
            account.reply_latencies.append(now - conv.awaiting_reply_since)
            conv.awaiting_reply_since = None

    def push_update(self, account: BotAccount, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update for a bot unless its allowed_updates filter it out."""
        allowed = account.allowed_updates
        if allowed is None or allowed == []:
            if kind in NOT_DELIVERED_BY_DEFAULT:
                return None
        elif kind not in allowed:
            return None
        update_id = account.next_update_id
        account.next_update_id += 1
        account.updates.append({"update_id": update_id, kind: payload})
        account.signal.notify()
        self.changed.notify()
        return update_id

    def store_file(
        self,
        data: bytes,
        kind: str,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Keep a file and give it Telegram-like identifiers."""
        n = next(self._file_counter)
        ext = (file_name or "").rsplit(".", 1)[-1] if file_name and "." in file_name else "bin"
        if kind == "photo":
            ext = "png" if data.startswith(b"\x89PNG") else "jpg"
        folder = {"photo": "photos", "document": "documents"}.get(kind, kind + "s")
        width, height = image_size(data) if kind == "photo" else (None, None)
        stored = StoredFile(
            file_id=f"{kind.upper()[:2]}AAC{n:06d}{secrets.token_hex(8)}",
            file_unique_id=f"AQAD{n:06d}",
            file_path=f"{folder}/file_{n}.{ext}",
            data=data,
            kind=kind,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self.files[stored.file_id] = stored
        return stored

    def file_by_path(self, path: str) -> StoredFile | None:
        """Return a stored file by its file_path."""
        for stored in self.files.values():
            if stored.file_path == path:
                return stored
        return None

    # strict mode

    def record_violation(self, token: str, method: str, error_code: int, description: str) -> None:
        """Remember a request Telegram would have rejected."""
        if not self.strict:
            return
        hint = token.split(":", 1)[0]
        self.violations.append(Violation(hint, method, error_code, description))
        logger.info("sandbox rejected %s: %s %s", method, error_code, description)

    def acknowledge(self, match: str | Callable[[Violation], bool]) -> list[Violation]:
        """Mark expected rejections as seen; raise AssertionError if none matched."""
        check = _matcher(match) if isinstance(match, str) else match
        taken = [v for v in self.violations if check(v)]
        if not taken:
            seen = "; ".join(map(str, self.violations)) or "none"
            raise AssertionError(f"expected a rejection matching {match!r}; recorded: {seen}")
        self.violations = [v for v in self.violations if not check(v)]
        return taken

    def assert_no_violations(self) -> None:
        """Raise AssertionError listing every rejection nobody acknowledged."""
        if self.violations:
            lines = "\n  ".join(map(str, self.violations))
            raise AssertionError(f"the bot sent requests Telegram would reject:\n  {lines}")


def _matcher(text: str) -> Callable[[Violation], bool]:
    """Match violations whose description contains text or whose method is text."""

    def check(v: Violation) -> bool:
        return text in v.description or text == v.method

    return check


def image_size(data: bytes) -> tuple[int | None, int | None]:
    """Width and height of a PNG or JPEG image, or (None, None)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                h = int.from_bytes(data[i + 5 : i + 7], "big")
                w = int.from_bytes(data[i + 7 : i + 9], "big")
                return w, h
            i += 2 + length
    return None, None
