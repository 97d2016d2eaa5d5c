"""Persistent chats: conference chats kept and paged, direct and group chats with members and read positions.

- :mod:`.post_office` (base role): stores posted messages in order and announces them on the bus.
- :mod:`.access` (any role): who may read a chat (:class:`veche.domain.chat_access.ChatAccess`).
- :mod:`.service` (web role): what the API and pages do: my chats, history, search, posting, calls.
- :mod:`.delivery` (web role): hands stored messages to the members' open pages.
"""
