"""Bookbot: a Telegram booking assistant."""
