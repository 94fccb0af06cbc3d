"""The domain: every business rule of Outpost lives here, free of Telegram and HTTP."""
