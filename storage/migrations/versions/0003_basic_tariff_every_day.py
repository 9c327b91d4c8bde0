"""The basic tariff's SLA clock runs every day inside support hours (R9).

Support works every day, 07:00-23:00 Moscow time (regulation §4.2); the basic
tariff used to count business days only, so a request filed on a Saturday got
its deadlines on Monday. A tariff may still be configured to count business
days only; none of the seeded ones does. Open requests keep the due times they
were given; new ones and every recomputation follow the new rule.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

tariffs = sa.table(
    "tariffs", sa.column("code", sa.String), sa.column("business_days_only", sa.Boolean)
)


def upgrade() -> None:
    op.execute(tariffs.update().where(tariffs.c.code == "basic").values(business_days_only=False))


def downgrade() -> None:
    op.execute(tariffs.update().where(tariffs.c.code == "basic").values(business_days_only=True))
