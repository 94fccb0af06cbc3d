"""A real PTB Bot on the aiohttp backend against the sandbox."""

from __future__ import annotations

import socket

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.delivery.aiohttp_request import AiohttpRequest
from bot.delivery.telegram import make_bot
from bot.sandbox import SandboxServer
from bot.sandbox.people import tiny_png

from .conftest import TOKEN


async def test_send_message_and_upload_photo(server: SandboxServer) -> None:
    """getMe, sendMessage with a keyboard and a multipart photo upload all work."""
    person = server.add_person(7001, "Ada", "en")
    async with make_bot(TOKEN, server.url) as bot:
        me = await bot.get_me()
        assert me.username == "outpost_delivery_bot"
        sent = await bot.send_message(7001, "hello über ✓ & more")
        assert sent.text == "hello über ✓ & more"
        assert [m.raw_text for m in person.messages] == ["hello über ✓ & more"]
        before = len(server.sandbox.files)
        result = await bot.send_photo(7001, photo=_tiny_png(), caption="a photo")
        assert result.photo
        assert len(server.sandbox.files) > before
        assert person.last_message is not None
        assert person.last_message.photo is not None
        file = await bot.get_file(result.photo[-1].file_id)
        assert bytes(await file.download_as_bytearray()) == _tiny_png()


async def test_per_request_timeout_maps_to_timed_out(server: SandboxServer) -> None:
    """A held request ends with TimedOut after the read timeout given to the call."""
    server.add_person(7002, "Bo", "en")
    server.sandbox.faults.add("timeout", methods=["sendMessage"], times=1, delay=5)
    async with make_bot(TOKEN, server.url) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(7002, "late", read_timeout=0.2)
        # The session survives: the next call goes through.
        assert (await bot.send_message(7002, "on time")).text == "on time"


async def test_connection_refused_maps_to_network_error() -> None:
    """Nobody listening: NetworkError, as with PTB's httpx backend."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = AiohttpRequest(connect_timeout=1)
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as caught:
            await bot.get_me()
        assert not isinstance(caught.value, TimedOut)
    finally:
        await request.shutdown()


async def test_needs_initialize_and_shuts_down_once() -> None:
    """do_request before initialize() is refused; shutdown() twice is harmless."""
    request = AiohttpRequest()
    with pytest.raises(RuntimeError):
        await request.do_request("http://127.0.0.1:9/", "POST")
    await request.initialize()
    assert request.read_timeout == 5.0
    await request.shutdown()
    await request.shutdown()


def _tiny_png() -> bytes:
    return tiny_png()
