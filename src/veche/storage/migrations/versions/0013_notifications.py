"""Notifications: the durable mail queue, in-app notices and their push deliveries, Web Push subscriptions, mobile
device tokens, notification preferences.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _user(table: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE", name=f"fk_{table}_user_id_users"),
        nullable=False,
    )


def _claim_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", TZ),
    ]


def upgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("message", sa.LargeBinary, nullable=False),
        *_claim_columns(),
        sa.Column("sent_at", TZ),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("key", name="uq_mail_outbox_key"),
    )
    op.create_index("ix_mail_outbox_status_due", "mail_outbox", ["status", "next_attempt_at"])

    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, primary_key=True),
        _user("notices"),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("read", sa.Boolean, nullable=False),
        sa.UniqueConstraint("user_id", "key", name="uq_notices_user_id_key"),
    )
    op.create_index("ix_notices_user_id_read", "notices", ["user_id", "read"])

    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        _user("push_subscriptions"),
        sa.Column("endpoint", sa.String(2000), nullable=False),
        sa.Column("p256dh", sa.String(200), nullable=False),
        sa.Column("auth", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("endpoint", name="uq_push_subscriptions_endpoint"),
    )
    op.create_index("ix_push_subscriptions_user_id", "push_subscriptions", ["user_id"])

    op.create_table(
        "push_devices",
        sa.Column("id", sa.Integer, primary_key=True),
        _user("push_devices"),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("token", sa.String(1000), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("provider", "token", name="uq_push_devices_provider_token"),
    )
    op.create_index("ix_push_devices_user_id", "push_devices", ["user_id"])

    op.create_table(
        "push_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "notice_id",
            sa.Integer,
            sa.ForeignKey("notices.id", ondelete="CASCADE", name="fk_push_deliveries_notice_id_notices"),
            nullable=False,
        ),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey(
                "push_subscriptions.id",
                ondelete="CASCADE",
                name="fk_push_deliveries_subscription_id_push_subscriptions",
            ),
        ),
        sa.Column(
            "device_id",
            sa.Integer,
            sa.ForeignKey("push_devices.id", ondelete="CASCADE", name="fk_push_deliveries_device_id_push_devices"),
        ),
        *_claim_columns(),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_push_deliveries_status_due", "push_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_push_deliveries_notice_id", "push_deliveries", ["notice_id"])
    op.create_index("ix_push_deliveries_subscription_id", "push_deliveries", ["subscription_id"])
    op.create_index("ix_push_deliveries_device_id", "push_deliveries", ["device_id"])

    op.create_table(
        "notice_preferences",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_notice_preferences_user_id_users"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("email", sa.Boolean, nullable=False),
        sa.Column("push", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notice_preferences")
    for index in ("device_id", "subscription_id", "notice_id"):
        op.drop_index(f"ix_push_deliveries_{index}", "push_deliveries")
    op.drop_index("ix_push_deliveries_status_due", "push_deliveries")
    op.drop_table("push_deliveries")
    op.drop_index("ix_push_devices_user_id", "push_devices")
    op.drop_table("push_devices")
    op.drop_index("ix_push_subscriptions_user_id", "push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_index("ix_notices_user_id_read", "notices")
    op.drop_table("notices")
    op.drop_index("ix_mail_outbox_status_due", "mail_outbox")
    op.drop_table("mail_outbox")
