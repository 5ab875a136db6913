"""Free text read as a request for a session time: "tomorrow at 3pm", "в четвер увечері", "same time next week".

Pure: no aiogram, no database. `parse_time_request` is what the chat and `bookbot when` both call.
"""

from bot.services.time_request.parser import (
    LANGUAGES,
    PART_SPANS,
    LanguageReading,
    TimeRequest,
    parse_time_request,
    read_in_languages,
)

__all__ = ["LANGUAGES", "PART_SPANS", "LanguageReading", "TimeRequest", "parse_time_request", "read_in_languages"]
