"""The SLA watch's memory: which warnings a request got, when its customer was reminded.

``sla_alerts`` lists the warnings sent (comma-separated ``desk.watch.Alert``
values), so each goes out once, also with several replicas and after downtime.
``waiting_reminded_at`` is when the customer was last reminded of a question;
a reminder older than the current wait does not count.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(
            sa.Column("sla_alerts", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("waiting_reminded_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_column("waiting_reminded_at")
        batch_op.drop_column("sla_alerts")
