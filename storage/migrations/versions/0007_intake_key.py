"""The intake that filed a request, so that filing it twice files it once.

A customer's Submit can run twice: the desk commits the new request and then
dies (kill -9, a lost database connection after COMMIT) before the dialog moves
on, and Telegram re-sends the press, or the customer presses again. The intake
dialog's own id goes with the request; the same customer filing with the same id
gets the request that exists.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(sa.Column("intake_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            op.f("uq_tickets_customer_id"), ["customer_id", "intake_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_constraint(op.f("uq_tickets_customer_id"), type_="unique")
        batch_op.drop_column("intake_key")
