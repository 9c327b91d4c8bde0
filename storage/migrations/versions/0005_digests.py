"""Managers' digests: which were sent, the agents' language, the history by time.

``digests_sent`` holds one row per digest and recipient, unique on (kind,
period, recipient): a digest goes out once, also with several replicas and
after downtime. ``agents.language`` is the language a manager's digest is
written in. The index on ``ticket_events.created_at`` lets a digest read one
period's history without scanning all of it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digests_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests_sent")),
        sa.UniqueConstraint("kind", "period", "recipient", name=op.f("uq_digests_sent_kind")),
    )
    with op.batch_alter_table("agents") as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    with op.batch_alter_table("ticket_events") as batch_op:
        batch_op.create_index("ix_ticket_events_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_events") as batch_op:
        batch_op.drop_index("ix_ticket_events_created_at")
    with op.batch_alter_table("agents") as batch_op:
        batch_op.drop_column("language")
    op.drop_table("digests_sent")
