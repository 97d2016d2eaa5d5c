"""The call history: every participant session of every call and conference.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COUNTERS = ("bytes_in", "bytes_out", "packets_in", "packets_out", "lost_in", "lost_out")


def upgrade() -> None:
    op.create_table(
        "history_calls",
        sa.Column("id", KEY, primary_key=True, autoincrement=True),
        sa.Column("conference_id", sa.BigInteger, nullable=False),
        sa.Column("conference_name", sa.String(256), nullable=False),
        sa.Column("started_at_ms", sa.BigInteger, nullable=False),
        sa.Column("ended_at_ms", sa.BigInteger, nullable=True),
        sa.Column("participants", sa.Integer, nullable=False),
    )
    op.create_index("ix_history_calls_started", "history_calls", ["started_at_ms", "id"])
    op.create_index("ix_history_calls_conference", "history_calls", ["conference_id", "started_at_ms"])
    op.create_table(
        "history_sessions",
        sa.Column("id", KEY, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(100), nullable=False),
        sa.Column(
            "call_id",
            KEY,
            sa.ForeignKey("history_calls.id", ondelete="CASCADE", name="fk_history_sessions_call_id_history_calls"),
            nullable=False,
        ),
        sa.Column("conference_id", sa.BigInteger, nullable=False),
        sa.Column("identity", sa.String(200), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=True),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("guest", sa.Boolean, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("user_agent", sa.String(256), nullable=False),
        sa.Column("server_id", sa.String(100), nullable=False),
        sa.Column("incarnation", sa.String(64), nullable=False),
        sa.Column("joined_at_ms", sa.BigInteger, nullable=False),
        sa.Column("left_at_ms", sa.BigInteger, nullable=True),
        sa.Column("closed_by", sa.String(20), nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in COUNTERS),
        sa.UniqueConstraint("session_id", name="uq_history_sessions_session_id"),
    )
    op.create_index("ix_history_sessions_call", "history_sessions", ["call_id", "joined_at_ms"])
    op.create_index("ix_history_sessions_user", "history_sessions", ["user_id", "call_id"])
    op.create_index("ix_history_sessions_server", "history_sessions", ["server_id", "left_at_ms"])
    op.create_index("ix_history_sessions_kind", "history_sessions", ["kind", "call_id"])
    op.create_index("ix_history_sessions_joined", "history_sessions", ["joined_at_ms"])


def downgrade() -> None:
    op.drop_table("history_sessions")
    op.drop_table("history_calls")
