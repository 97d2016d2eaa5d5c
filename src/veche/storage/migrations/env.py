"""Alembic environment: Veche runs migrations itself at start, on the connection it passes in."""

from __future__ import annotations

from alembic import context

import veche.storage.chat_tables  # noqa: F401 - registers the chat tables in Base.metadata
import veche.storage.cluster_tables  # noqa: F401 - registers the cluster tables in Base.metadata
import veche.storage.directory_tables  # noqa: F401 - registers the directory tables in Base.metadata
import veche.storage.file_tables  # noqa: F401 - registers the chat file tables in Base.metadata
import veche.storage.history_tables  # noqa: F401 - registers the call history tables in Base.metadata
import veche.storage.meeting_tables  # noqa: F401 - registers the meeting tables in Base.metadata
import veche.storage.notify_tables  # noqa: F401 - registers the notification tables in Base.metadata
import veche.storage.usage_tables  # noqa: F401 - registers the usage statistics tables in Base.metadata
from veche.storage.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Veche runs its migrations itself (veche up / veche run); use `veche db upgrade`.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
