"""Edges: chat (python-telegram-bot) and web (aiohttp) handlers."""
