"""aiohttp views: Mini App, dashboard, webhook, health and metrics."""
