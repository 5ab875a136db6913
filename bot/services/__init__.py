"""The domain. Services never import aiogram and never format text for a chat: they return data and
raise `bot.services.errors.DomainError` subclasses."""
