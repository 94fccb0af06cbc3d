"""The sandbox's HTTP server: the Bot API, file downloads, webhooks and the browser chat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from bot.sandbox.errors import NOT_FOUND, UNAUTHORIZED, ApiError
from bot.sandbox.faults import FaultKind
from bot.sandbox.limits import Clock, FloodLimits
from bot.sandbox.methods import BotApi
from bot.sandbox.spec import UploadedFile, check_parameters, decode_value, resolve_attachments
from bot.sandbox.world import BotAccount, Sandbox

if TYPE_CHECKING:
    from bot.sandbox.people import Group, Person

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
SANDBOX_KEY: web.AppKey[Sandbox] = web.AppKey("sandbox", Sandbox)
DEFAULT_PRESETS: tuple[tuple[str, float, float], ...] = (
    ("At the station", 6.4281, 3.4219),
    ("Elsewhere", 6.5244, 3.3792),
)
_SERVER_ERRORS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class WebhookDispatcher:
    """Delivers pending updates to bots with a webhook, in order, retrying with backoff."""

    def __init__(self, sandbox: Sandbox, timeout: float = 10.0) -> None:
        self.sandbox = sandbox
        self.timeout = timeout
        self.client: aiohttp.ClientSession | None = None
        self.workers: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        """Open the HTTP client."""
        self.client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def stop(self) -> None:
        """Stop the workers and close the HTTP client."""
        for task in self.workers.values():
            task.cancel()
        await asyncio.gather(*self.workers.values(), return_exceptions=True)
        self.workers.clear()
        if self.client is not None:
            await self.client.close()
            self.client = None

    def ensure_worker(self, account: BotAccount) -> None:
        """Start the delivery loop of a bot if it is not running."""
        task = self.workers.get(account.token)
        if task is None or task.done():
            self.workers[account.token] = asyncio.create_task(self._deliver_forever(account))

    async def _post(self, account: BotAccount, update: dict[str, Any]) -> str | None:
        """POST one update; return an error text on failure, None on success."""
        hook = account.webhook
        if hook is None or self.client is None:
            return "webhook removed"
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with self.client.post(
                hook.url, data=json.dumps(update), headers=headers
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"Connection failed: {type(exc).__name__}"

    @staticmethod
    def _hook_changed(account: BotAccount, hook: object) -> Callable[[], bool]:
        """A predicate: the bot's webhook was replaced or removed."""
        return lambda: account.webhook is not hook

    async def _deliver_forever(self, account: BotAccount) -> None:
        """Deliver the oldest pending update until it is accepted, then the next."""
        attempt = 0
        delays = self.sandbox.webhook_retry_delays
        while True:
            await account.signal.wait_for(
                lambda: account.webhook is not None and account.updates, None
            )
            hook = account.webhook
            update = account.updates[0]
            error = await self._post(account, update)
            if error is None:
                if account.updates and account.updates[0] is update:
                    account.updates.pop(0)
                account.delivered.append(update["update_id"])
                attempt = 0
                if account.duplicate_deliveries > 0:
                    account.duplicate_deliveries -= 1
                    await self._post(account, update)
                    account.delivered.append(update["update_id"])
                self.sandbox.changed.notify()
                continue
            if hook is not None:
                hook.last_error_date = self.sandbox.now()
                hook.last_error_message = error
            delay = delays[min(attempt, len(delays) - 1)] if delays else 1.0
            attempt += 1
            logger.info("webhook delivery failed, retry in %.2fs", delay)
            with contextlib.suppress(TimeoutError):
                await account.signal.wait_for(self._hook_changed(account, hook), delay)


class SandboxServer:
    """A local Telegram Bot API server with simulated people; start() it, then point PTB at url."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        strict: bool = True,
        limits: FloodLimits | None = None,
        clock: Clock | None = None,
        seed: int = 0,
        webhook_retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0),
        webhook_timeout: float = 10.0,
        location_presets: tuple[tuple[str, float, float], ...] = DEFAULT_PRESETS,
        sandbox: Sandbox | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sandbox = sandbox or Sandbox(
            strict=strict,
            limits=limits,
            clock=clock,
            seed=seed,
            webhook_retry_delays=webhook_retry_delays,
        )
        self.api = BotApi(self.sandbox)
        self.webhooks = WebhookDispatcher(self.sandbox, webhook_timeout)
        self.location_presets = location_presets
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self._bound_port: int | None = None

    # lifecycle

    @property
    def url(self) -> str:
        """Base URL of the server, e.g. http://127.0.0.1:8081."""
        if self._bound_port is None:
            raise RuntimeError("SandboxServer is not started")
        return f"http://{self.host}:{self._bound_port}"

    @property
    def base_url(self) -> str:
        """What to pass to PTB's ApplicationBuilder.base_url()."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass to PTB's ApplicationBuilder.base_file_url()."""
        return f"{self.url}/file/bot"

    def chat_url(self, person: Person | int | None = None) -> str:
        """Address of the browser chat, optionally opened as one person."""
        if person is None:
            return f"{self.url}/chat"
        user_id = person if isinstance(person, int) else person.id
        return f"{self.url}/chat?user={user_id}"

    def make_app(self) -> web.Application:
        """Build the aiohttp application."""
        from bot.sandbox.chat_api import add_chat_routes

        app = web.Application(client_max_size=60 * 1024 * 1024)
        app[SANDBOX_KEY] = self.sandbox
        app.router.add_route("*", "/bot{token}/{method}", self.handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self.handle_file)
        add_chat_routes(app, self)
        return app

    async def start(self) -> None:
        """Start serving (port 0 picks a free port); a port in use raises OSError, nothing left
        open.
        """
        self._stopping = asyncio.Event()
        self.sandbox.closing = False
        await self.webhooks.start()
        self._runner = web.AppRunner(
            self.make_app(), access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            # The webhook client is already open: close it, or asyncio reports it unclosed.
            await self.stop()
            raise
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._bound_port = sockets[0].getsockname()[1] if sockets else self.port
        for account in self.sandbox.bots.values():
            if account.webhook is not None:
                self.webhooks.ensure_worker(account)
        logger.info("sandbox Bot API listening on %s", self.url)

    async def stop(self) -> None:
        """Stop serving and release held requests."""
        self._stopping.set()
        self.sandbox.close()
        await self.webhooks.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # conveniences for tests and the demo

    def add_bot(
        self,
        token: str | None = None,
        username: str = "outpost_sandbox_bot",
        first_name: str = "Outpost",
    ) -> BotAccount:
        """Register a bot (a token is made up when not given)."""
        return self.sandbox.add_bot(token, username, first_name)

    def add_person(
        self, user_id: int, first_name: str, language_code: str | None = "en", **kwargs: Any
    ) -> Person:
        """Create a simulated person (see Sandbox.add_person)."""
        return self.sandbox.add_person(user_id, first_name, language_code, **kwargs)

    def add_group(self, title: str, members: list[Person] | None = None, **kwargs: Any) -> Group:
        """Create a group chat (see Sandbox.add_group)."""
        return self.sandbox.add_group(title, members, **kwargs)

    # Bot API

    async def handle_api(self, request: web.Request) -> web.StreamResponse:
        """Answer one Bot API call."""
        token = request.match_info["token"]
        method_name = request.match_info["method"]
        account = self.sandbox.bots.get(token)
        if account is None:
            return self._error(token, method_name, UNAUTHORIZED)
        spec = self.sandbox.spec.method(method_name)
        if spec is None:
            return self._error(token, method_name, NOT_FOUND)
        self.sandbox.requests.append((token.split(":", 1)[0], spec.name))
        fault = self.sandbox.faults.pick(spec.name)
        if fault is not None:
            faulted = await self._apply_fault(request, fault.kind, fault.status, fault.delay)
            if faulted is not None:
                return faulted
        try:
            params = await self._read_params(request, spec.fields)
            check_parameters(spec, params, self.sandbox.strict)
            handler = self.api.handlers.get(spec.name.lower())
            if handler is None:
                raise ApiError(501, f"Not Implemented: the sandbox does not implement {spec.name}")
            result = await handler(account, params)
        except ApiError as error:
            return self._error(token, spec.name, error, request)
        if spec.name == "setWebhook" and account.webhook is not None:
            self.webhooks.ensure_worker(account)
        body: dict[str, Any] = {"ok": True, "result": result}
        if spec.name == "setWebhook":
            body["description"] = "Webhook was set" if account.webhook else "Webhook was deleted"
        elif spec.name == "deleteWebhook":
            body["description"] = "Webhook was deleted"
        return web.json_response(body)

    def _error(
        self, token: str, method: str, error: ApiError, request: web.Request | None = None
    ) -> web.Response:
        """Answer an error and record it for strict mode (unless the client already left)."""
        gone = request is not None and (
            request.transport is None or request.transport.is_closing()
        )
        if error.error_code != 429 and not gone:
            self.sandbox.record_violation(token, method, error.error_code, error.description)
        return web.json_response(error.to_json(), status=error.error_code)

    async def _apply_fault(
        self, request: web.Request, kind: FaultKind, status: int, delay: float
    ) -> web.StreamResponse | None:
        """Carry out an injected fault; None means answer normally afterwards."""
        if kind is FaultKind.SLOW:
            await asyncio.sleep(delay)
            return None
        if kind is FaultKind.SERVER_ERROR:
            text = _SERVER_ERRORS.get(status, "Internal Server Error")
            return web.json_response(
                {"ok": False, "error_code": status, "description": text}, status=status
            )
        if kind is FaultKind.TIMEOUT:
            try:
                async with asyncio.timeout(delay or 3600):
                    await self._stopping.wait()
            except TimeoutError:
                pass
            return web.json_response(
                {"ok": False, "error_code": 504, "description": "Gateway Timeout"}, status=504
            )
        # Dropped connection: close the socket without an answer.
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError

    async def _read_params(self, request: web.Request, fields: dict[str, Any]) -> dict[str, Any]:
        """Read parameters from the query string and a JSON, form or multipart body."""
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON request body") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: JSON object expected")
                raw.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = UploadedFile(
                            value.filename or key, value.content_type, value.file.read()
                        )
                    else:
                        raw[key] = value
        params: dict[str, Any] = {}
        for key, value in raw.items():
            spec = fields.get(key)
            params[key] = decode_value(spec, value) if spec is not None else value
        for key, part in files.items():
            if key in fields:
                params[key] = part
        resolve_attachments(params, files)
        return params

    async def handle_file(self, request: web.Request) -> web.StreamResponse:
        """Serve a file by its file_path, as api.telegram.org/file/bot<token>/<path> does."""
        if request.match_info["token"] not in self.sandbox.bots:
            return web.json_response(UNAUTHORIZED.to_json(), status=401)
        stored = self.sandbox.file_by_path(request.match_info["path"])
        if stored is None:
            return web.json_response(NOT_FOUND.to_json(), status=404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )
