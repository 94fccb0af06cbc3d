"""Bot API methods as the sandbox answers them."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from bot.sandbox.errors import (
    BLOCKED,
    CHAT_NOT_FOUND,
    MESSAGE_NOT_MODIFIED,
    QUERY_TOO_OLD,
    WRONG_FILE,
    ApiError,
    bad_request,
    forbidden,
    too_many_requests,
)
from bot.sandbox.formatting import Parsed, parse_text
from bot.sandbox.spec import UploadedFile
from bot.sandbox.world import BotAccount, CallbackAnswer, Chat, ChatMessage, Sandbox, WebhookConfig

logger = logging.getLogger(__name__)

Params = dict[str, Any]
Handler = Callable[[BotAccount, Params], Awaitable[Any]]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INLINE_BUTTON_PLAIN = frozenset({"text", "style", "icon_custom_emoji_id"})
SENDING_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendlocation",
        "sendvenue",
        "sendcontact",
        "copymessage",
        "forwardmessage",
    }
)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


class BotApi:
    """Answers Bot API calls against the sandbox's world."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.handlers: dict[str, Handler] = {
            "getme": self.get_me,
            "getupdates": self.get_updates,
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
            "sendmessage": self.send_message,
            "editmessagetext": self.edit_message_text,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "editmessagecaption": self.edit_message_caption,
            "deletemessage": self.delete_message,
            "answercallbackquery": self.answer_callback_query,
            "sendchataction": self.send_chat_action,
            "sendlocation": self.send_location,
            "sendvenue": self.send_venue,
            "sendcontact": self.send_contact,
            "sendphoto": self.send_photo,
            "senddocument": self.send_document,
            "getfile": self.get_file,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "setchatmenubutton": self.set_chat_menu_button,
            "getchatmenubutton": self.get_chat_menu_button,
            "getchat": self.get_chat,
            "close": self.close,
            "logout": self.close,
        }

    # shared checks

    def chat_for(self, account: BotAccount, params: Params, sending: bool = True) -> Chat:
        """Resolve chat_id to a chat the bot may write to, with Telegram's errors."""
        raw = params.get("chat_id")
        chat: Chat | None = None
        if isinstance(raw, int):
            chat = self.sandbox.chats.get(raw)
        elif isinstance(raw, str) and raw.startswith("@"):
            name = raw[1:].lower()
            chat = next(
                (
                    c
                    for c in self.sandbox.chats.values()
                    if c.user is not None and (c.user.username or "").lower() == name
                ),
                None,
            )
        elif isinstance(raw, str):
            raise bad_request(CHAT_NOT_FOUND)
        if chat is None:
            raise bad_request(CHAT_NOT_FOUND)
        if chat.user is not None:
            if sending and account.token in chat.user.blocked:
                raise forbidden(BLOCKED)
            if sending and account.token not in chat.user.started:
                raise forbidden("bot can't initiate conversation with a user")
        elif account.token not in chat.bots:
            raise forbidden(f"bot is not a member of the {chat.type} chat")
        return chat

    def flood_check(self, account: BotAccount, chat: Chat, params: Params) -> None:
        """Raise 429 when the bot exceeds the flood limits."""
        paid = params.get("allow_paid_broadcast") is True
        retry_after = self.sandbox.limiter.acquire(account.user_id, chat.id, chat.type, paid)
        if retry_after:
            raise too_many_requests(retry_after)

    def text_of(self, params: Params, key: str, limit: int, required: bool) -> Parsed | None:
        """Parse text or caption with its parse_mode or entities and check its length."""
        raw = params.get(key)
        if raw is None and not required:
            return None
        if not isinstance(raw, str):
            raw = "" if raw is None else str(raw)
        mode_key = "parse_mode"
        entities_key = "entities" if key == "text" else "caption_entities"
        parsed = parse_text(raw, params.get(mode_key), params.get(entities_key))
        stripped = parsed.text.strip()
        if key == "text" and not stripped:
            raise bad_request("message text is empty")
        if len(parsed.text) > limit:
            raise bad_request(
                "message is too long" if key == "text" else "message caption is too long"
            )
        return parsed

    def check_markup(self, markup: Any, chat: Chat, inline_only: bool = False) -> None:
        """Validate reply_markup as Telegram does."""
        if markup is None:
            return
        if isinstance(markup, str):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if not isinstance(markup, dict):
            raise bad_request("object expected as reply markup")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup must be '
                    "an Array of Arrays"
                )
            for row in rows:
                for button in row:
                    self.check_inline_button(button, chat)
            return
        if inline_only:
            raise bad_request("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('field "keyboard" must be an Array of Arrays')
            for row in rows:
                for button in row:
                    self.check_keyboard_button(button, chat)
            return
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return
        raise bad_request('can\'t find field "inline_keyboard"')

    def check_inline_button(self, button: Any, chat: Chat) -> None:
        """Validate one inline keyboard button."""
        if not isinstance(button, dict):
            raise bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        if not isinstance(button.get("text"), str):
            raise bad_request(
                'can\'t parse inline keyboard button: Field "text" must be of type String'
            )
        self.check_object_fields("InlineKeyboardButton", button)
        actions = [k for k in button if k not in INLINE_BUTTON_PLAIN]
        if not actions:
            raise bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in "
                "the inline keyboard"
            )
        if len(actions) > 1 and self.sandbox.strict:
            raise bad_request(
                "can't parse inline keyboard button: exactly one of the optional "
                f"fields must be used, got {', '.join(sorted(actions))}"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$", url):
                raise bad_request("BUTTON_URL_INVALID")
        if "web_app" in button:
            if chat.type != "private":
                raise bad_request("BUTTON_TYPE_INVALID")
            url = (button["web_app"] or {}).get("url", "")
            if not str(url).startswith(("https://", "http://")):
                raise bad_request("BUTTON_URL_INVALID")

    def check_keyboard_button(self, button: Any, chat: Chat) -> None:
        """Validate one reply keyboard button."""
        if isinstance(button, str):
            return
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad_request(
                "can't parse keyboard button: KeyboardButton must be a String or an Object"
            )
        self.check_object_fields("KeyboardButton", button)
        private_only = ("request_location", "request_contact", "web_app")
        if chat.type != "private" and any(button.get(k) for k in private_only):
            raise bad_request("BUTTON_TYPE_INVALID")

    def check_object_fields(self, type_name: str, obj: dict[str, Any]) -> None:
        """In strict mode, reject fields the spec does not know for this type."""
        if not self.sandbox.strict:
            return
        fields = self.sandbox.spec.types.get(type_name, {})
        unknown = sorted(set(obj) - set(fields))
        if unknown:
            raise bad_request(f'can\'t parse {type_name}: unknown field "{unknown[0]}"')

    def bot_message(
        self,
        account: BotAccount,
        chat: Chat,
        content: dict[str, Any],
        params: Params,
        text: str | None,
    ) -> dict[str, Any]:
        """Store a message the bot sent and return its JSON."""
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            content["reply_markup"] = markup
        reply_to = params.get("reply_parameters") or {}
        reply_id = reply_to.get("message_id") if isinstance(reply_to, dict) else None
        reply_id = reply_id or params.get("reply_to_message_id")
        if reply_id:
            original = self.sandbox.conversation(account.token, chat.id).find(int(reply_id))
            if original is None or original.deleted:
                raise bad_request("message to be replied not found")
            content["reply_to_message"] = original.data
        message = self.sandbox.add_message(
            account,
            chat,
            account.user_json(),
            content,
            from_bot=True,
            text=text,
            reply_markup_sent=markup if isinstance(markup, dict) else None,
        )
        return message.data

    def editable(self, account: BotAccount, params: Params) -> tuple[Chat, ChatMessage]:
        """Find the bot's message named by chat_id and message_id."""
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        if params.get("chat_id") is None:
            raise bad_request("chat_id is empty")
        if params.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        chat = self.chat_for(account, params)
        message = self.sandbox.conversation(account.token, chat.id).find(int(params["message_id"]))
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    # methods

    async def get_me(self, account: BotAccount, params: Params) -> Any:
        """getMe."""
        return account.user_json() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, account: BotAccount, params: Params) -> Any:
        """getUpdates with offset confirmation and long polling."""
        if account.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0, int(params.get("timeout") or 0))
        if "allowed_updates" in params and isinstance(params["allowed_updates"], list):
            account.allowed_updates = params["allowed_updates"]
        if offset > 0:
            account.updates = [u for u in account.updates if u["update_id"] >= offset]
        elif offset < 0:
            account.updates = account.updates[offset:]
        account.poll_generation += 1
        generation = account.poll_generation
        # Wake an earlier poller so it ends with 409, as Telegram does.
        account.signal.notify()
        self.sandbox.changed.notify()

        def ready() -> bool:
            return (
                bool(account.updates)
                or account.poll_generation != generation
                or account.webhook is not None
                or self.sandbox.closing
            )

        try:
            await account.signal.wait_for(ready, timeout)
        except TimeoutError:
            return []
        if account.poll_generation != generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure "
                "that only one bot instance is running",
            )
        if account.webhook is not None:
            raise ApiError(409, "Conflict: terminated by setWebhook request")
        return account.updates[:limit]

    async def set_webhook(self, account: BotAccount, params: Params) -> Any:
        """setWebhook (plain http is allowed: the sandbox only talks to local receivers)."""
        url = str(params.get("url") or "")
        if not url:
            return await self.delete_webhook(account, params)
        if not re.match(r"^https?://[^\s/]+", url):
            raise bad_request("invalid webhook URL specified")
        secret = params.get("secret_token")
        if secret is not None:
            secret = str(secret)
            if len(secret) > 256:
                raise bad_request("secret token is too long")
            if not _SECRET_TOKEN.match(secret):
                raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates") is True:
            account.updates.clear()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            account.allowed_updates = allowed
        account.webhook = WebhookConfig(
            url,
            secret,
            int(params.get("max_connections") or 40),
            allowed if isinstance(allowed, list) else None,
        )
        account.signal.notify()
        return True

    async def delete_webhook(self, account: BotAccount, params: Params) -> Any:
        """deleteWebhook."""
        account.webhook = None
        if params.get("drop_pending_updates") is True:
            account.updates.clear()
        account.signal.notify()
        return True

    async def get_webhook_info(self, account: BotAccount, params: Params) -> Any:
        """getWebhookInfo."""
        hook = account.webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(account.updates),
        }
        if hook:
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    async def send_message(self, account: BotAccount, params: Params) -> Any:
        """sendMessage."""
        chat = self.chat_for(account, params)
        parsed = self.text_of(params, "text", TEXT_LIMIT, required=True)
        assert parsed is not None
        self.check_markup(params.get("reply_markup"), chat)
        self.flood_check(account, chat, params)
        content: dict[str, Any] = {"text": parsed.text}
        if parsed.entities:
            content["entities"] = parsed.entities
        return self.bot_message(account, chat, content, params, parsed.text)

    async def edit_message_text(self, account: BotAccount, params: Params) -> Any:
        """editMessageText."""
        chat, message = self.editable(account, params)
        parsed = self.text_of(params, "text", TEXT_LIMIT, required=True)
        assert parsed is not None
        markup = params.get("reply_markup")
        self.check_markup(markup, chat, inline_only=True)
        if "text" not in message.data:
            raise bad_request("there is no text in the message to edit")
        content: dict[str, Any] = {"text": parsed.text}
        if parsed.entities:
            content["entities"] = parsed.entities
        if markup:
            content["reply_markup"] = markup
        return self.apply_edit(message, content, ("text", "entities", "reply_markup"))

    async def edit_message_caption(self, account: BotAccount, params: Params) -> Any:
        """editMessageCaption."""
        chat, message = self.editable(account, params)
        caption = self.text_of(params, "caption", CAPTION_LIMIT, required=False)
        markup = params.get("reply_markup")
        self.check_markup(markup, chat, inline_only=True)
        if "text" in message.data:
            raise bad_request("there is no caption in the message to edit")
        content: dict[str, Any] = {}
        self.add_caption(content, caption)
        if markup:
            content["reply_markup"] = markup
        edited = self.apply_edit(message, content, ("caption", "caption_entities", "reply_markup"))
        message.text = caption.text if caption else None
        return edited

    async def edit_message_reply_markup(self, account: BotAccount, params: Params) -> Any:
        """editMessageReplyMarkup."""
        chat, message = self.editable(account, params)
        markup = params.get("reply_markup")
        self.check_markup(markup, chat, inline_only=True)
        content = {"reply_markup": markup} if markup else {}
        return self.apply_edit(message, content, ("reply_markup",))

    def apply_edit(
        self, message: ChatMessage, content: dict[str, Any], keys: tuple[str, ...]
    ) -> dict[str, Any]:
        """Apply an edit, refusing one that changes nothing as Telegram does."""
        before = {k: message.data.get(k) for k in keys}
        after = {k: content.get(k) for k in keys}
        if before == after:
            raise bad_request(MESSAGE_NOT_MODIFIED)
        message.history.append(dict(message.data))
        data = {k: v for k, v in message.data.items() if k not in keys}
        data.update({k: v for k, v in content.items() if v is not None})
        data["edit_date"] = self.sandbox.now()
        message.data = data
        if "text" in content:
            message.text = content["text"]
        self.sandbox.changed.notify()
        return data

    async def delete_message(self, account: BotAccount, params: Params) -> Any:
        """deleteMessage."""
        chat = self.chat_for(account, params, sending=False)
        message = self.sandbox.conversation(account.token, chat.id).find(int(params["message_id"]))
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        self.sandbox.changed.notify()
        return True

    async def answer_callback_query(self, account: BotAccount, params: Params) -> Any:
        """answerCallbackQuery."""
        query = self.sandbox.callback_queries.get(str(params["callback_query_id"]))
        if query is None or query.token != account.token or query.answer is not None:
            raise bad_request(QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        answer = CallbackAnswer(text, params.get("show_alert") is True, params.get("url"))
        query.answer = answer
        self.sandbox.conversation(account.token, query.chat_id).callback_answers.append(answer)
        self.sandbox.changed.notify()
        return True

    async def send_chat_action(self, account: BotAccount, params: Params) -> Any:
        """sendChatAction."""
        chat = self.chat_for(account, params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.sandbox.conversation(account.token, chat.id).actions.append(str(action))
        self.sandbox.changed.notify()
        return True

    def location_of(self, params: Params) -> dict[str, Any]:
        """Read and check latitude, longitude and accuracy."""
        try:
            lat = float(params["latitude"])
            lon = float(params["longitude"])
        except (TypeError, ValueError):
            raise bad_request("wrong location specified") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise bad_request("wrong location specified")
        location: dict[str, Any] = {"latitude": lat, "longitude": lon}
        accuracy = params.get("horizontal_accuracy")
        if accuracy is not None:
            if not 0 <= float(accuracy) <= 1500:
                raise bad_request("wrong horizontal accuracy specified")
            location["horizontal_accuracy"] = float(accuracy)
        return location

    async def send_location(self, account: BotAccount, params: Params) -> Any:
        """sendLocation."""
        chat = self.chat_for(account, params)
        location = self.location_of(params)
        period = params.get("live_period")
        if period is not None:
            period = int(period)
            if not (60 <= period <= 86400 or period == 0x7FFFFFFF):
                raise bad_request("wrong live period specified")
            location["live_period"] = period
        self.check_markup(params.get("reply_markup"), chat)
        self.flood_check(account, chat, params)
        return self.bot_message(account, chat, {"location": location}, params, None)

    async def send_venue(self, account: BotAccount, params: Params) -> Any:
        """sendVenue."""
        chat = self.chat_for(account, params)
        location = self.location_of(params)
        self.check_markup(params.get("reply_markup"), chat)
        self.flood_check(account, chat, params)
        venue = {"location": location, "title": params["title"], "address": params["address"]}
        return self.bot_message(
            account, chat, {"location": location, "venue": venue}, params, None
        )

    async def send_contact(self, account: BotAccount, params: Params) -> Any:
        """sendContact."""
        chat = self.chat_for(account, params)
        self.check_markup(params.get("reply_markup"), chat)
        self.flood_check(account, chat, params)
        contact = {
            k: params[k]
            for k in ("phone_number", "first_name", "last_name", "vcard")
            if params.get(k) is not None
        }
        return self.bot_message(account, chat, {"contact": contact}, params, None)

    def file_param(self, params: Params, key: str, kind: str) -> tuple[Any, bool]:
        """Return (stored file, is_new) for an upload or a file_id."""
        value = params.get(key)
        if isinstance(value, UploadedFile):
            if not value.data:
                raise bad_request("file must be non-empty")
            stored = self.sandbox.store_file(
                value.data,
                kind,
                file_name=value.filename or None,
                mime_type=value.content_type or None,
            )
            return stored, True
        stored_by_id = self.sandbox.files.get(str(value))
        if stored_by_id is None:
            # URLs are not fetched: the sandbox never goes to the network.
            raise bad_request(WRONG_FILE)
        if kind == "photo" and stored_by_id.kind != "photo":
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored_by_id, False

    async def send_photo(self, account: BotAccount, params: Params) -> Any:
        """sendPhoto by upload or file_id."""
        chat = self.chat_for(account, params)
        caption = self.text_of(params, "caption", CAPTION_LIMIT, required=False)
        self.check_markup(params.get("reply_markup"), chat)
        stored, _ = self.file_param(params, "photo", "photo")
        self.flood_check(account, chat, params)
        content: dict[str, Any] = {
            "photo": [
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(stored.data),
                    "width": stored.width or 0,
                    "height": stored.height or 0,
                }
            ]
        }
        self.add_caption(content, caption)
        return self.bot_message(account, chat, content, params, caption.text if caption else None)

    async def send_document(self, account: BotAccount, params: Params) -> Any:
        """sendDocument by upload or file_id."""
        chat = self.chat_for(account, params)
        caption = self.text_of(params, "caption", CAPTION_LIMIT, required=False)
        self.check_markup(params.get("reply_markup"), chat)
        stored, _ = self.file_param(params, "document", "document")
        self.flood_check(account, chat, params)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        content: dict[str, Any] = {"document": document}
        self.add_caption(content, caption)
        return self.bot_message(account, chat, content, params, caption.text if caption else None)

    @staticmethod
    def add_caption(content: dict[str, Any], caption: Parsed | None) -> None:
        """Put a parsed caption into message content."""
        if caption and caption.text:
            content["caption"] = caption.text
            if caption.entities:
                content["caption_entities"] = caption.entities

    async def get_file(self, account: BotAccount, params: Params) -> Any:
        """getFile."""
        stored = self.sandbox.files.get(str(params["file_id"]))
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    @staticmethod
    def scope_key(params: Params) -> tuple[str, str]:
        """Key of a command list: canonical scope JSON and language code."""
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        valid = {
            "default",
            "all_private_chats",
            "all_group_chats",
            "all_chat_administrators",
            "chat",
            "chat_administrators",
            "chat_member",
        }
        if scope["type"] not in valid:
            raise bad_request("wrong BotCommandScope type specified")
        language = str(params.get("language_code") or "")
        if language and not re.match(r"^[a-z]{2}$", language):
            raise bad_request("invalid language code specified")
        return json.dumps(scope, sort_keys=True, separators=(",", ":")), language

    async def set_my_commands(self, account: BotAccount, params: Params) -> Any:
        """setMyCommands with scope and language_code."""
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand: BotCommand must be an Object")
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not _COMMAND_NAME.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self.scope_key(params)
        if commands:
            account.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            account.commands.pop(key, None)
        self.sandbox.changed.notify()
        return True

    async def get_my_commands(self, account: BotAccount, params: Params) -> Any:
        """getMyCommands for exactly the scope and language given."""
        return account.commands.get(self.scope_key(params), [])

    async def delete_my_commands(self, account: BotAccount, params: Params) -> Any:
        """deleteMyCommands."""
        account.commands.pop(self.scope_key(params), None)
        self.sandbox.changed.notify()
        return True

    async def set_chat_menu_button(self, account: BotAccount, params: Params) -> Any:
        """setChatMenuButton for one private chat or the bot's default."""
        chat_id = None
        if params.get("chat_id") is not None:
            chat_id = self.chat_for(account, params, sending=False).id
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise bad_request("can't parse menu button: MenuButton must be an Object")
        if button["type"] == "web_app" and not (button.get("text") and button.get("web_app")):
            raise bad_request("can't parse menu button: Text and web_app must be specified")
        account.menu_buttons[chat_id] = button
        self.sandbox.changed.notify()
        return True

    async def get_chat_menu_button(self, account: BotAccount, params: Params) -> Any:
        """getChatMenuButton, falling back to the bot's default."""
        chat_id = None
        if params.get("chat_id") is not None:
            chat_id = self.chat_for(account, params, sending=False).id
        return (
            account.menu_buttons.get(chat_id)
            or account.menu_buttons.get(None)
            or {"type": "default"}
        )

    async def get_chat(self, account: BotAccount, params: Params) -> Any:
        """getChat (basic ChatFullInfo)."""
        chat = self.chat_for(account, params, sending=False)
        return chat.to_json() | {"accent_color_id": 0, "max_reaction_count": 11}

    async def close(self, account: BotAccount, params: Params) -> Any:
        """close / logOut: accepted and ignored."""
        await asyncio.sleep(0)
        return True
