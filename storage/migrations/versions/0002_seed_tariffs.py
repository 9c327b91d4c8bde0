"""Seed the tariffs, their SLA targets and the request number counter.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (code, name, business days only, default) and per priority P1..P4:
# (first response, resolution) in support-hours minutes. As first seeded, the
# basic tariff's clock stopped on weekends and holidays; 0003 makes it run every
# day like the others (R7, R9).
TARIFFS = [
    ("basic", "Базовый", True, True, [(120, 960), (240, 1920), (480, 4800), (960, 9600)]),
    ("standard", "Стандарт", False, False, [(60, 480), (120, 960), (240, 2880), (480, 4800)]),
    ("premium", "Премиум", False, False, [(15, 240), (30, 480), (120, 960), (240, 2880)]),
]
FIRST_NUMBER = 1000  # the first request is CTV-1001

tariffs = sa.table(
    "tariffs",
    sa.column("id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("business_days_only", sa.Boolean),
    sa.column("is_default", sa.Boolean),
)
targets = sa.table(
    "sla_targets",
    sa.column("tariff_id", sa.Integer),
    sa.column("priority", sa.Integer),
    sa.column("first_response_minutes", sa.Integer),
    sa.column("resolution_minutes", sa.Integer),
)
counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger))


def upgrade() -> None:
    bind = op.get_bind()
    for code, name, business_only, default, per_priority in TARIFFS:
        tariff_id = bind.execute(
            sa.insert(tariffs)
            .values(code=code, name=name, business_days_only=business_only, is_default=default)
            .returning(tariffs.c.id)
        ).scalar_one()
        op.bulk_insert(
            targets,
            [
                {
                    "tariff_id": tariff_id,
                    "priority": priority,
                    "first_response_minutes": first,
                    "resolution_minutes": resolution,
                }
                for priority, (first, resolution) in enumerate(per_priority, start=1)
            ],
        )
    op.bulk_insert(counters, [{"name": "ticket", "value": FIRST_NUMBER}])


def downgrade() -> None:
    op.execute(counters.delete())
    op.execute(targets.delete())
    op.execute(tariffs.delete())
