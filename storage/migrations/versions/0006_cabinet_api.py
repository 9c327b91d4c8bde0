"""The personal cabinet's channel (R8): its customers' contacts, screenshots it uploads,
and the idempotency keys of its HTTP API.

``customers.email`` / ``customers.phone`` are what the cabinet says of its
customer. ``uploads`` keeps the cleaned bytes of a screenshot that came over
HTTP (not from Telegram): an attachment points at it until its first delivery
gives it a Telegram file id. ``api_idempotency`` remembers the answer to a
call made with an ``Idempotency-Key``, per API key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("phone", sa.String(length=50), nullable=True))
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mime_type", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    with op.batch_alter_table("attachments") as batch_op:
        batch_op.add_column(sa.Column("upload_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_attachments_upload_id_uploads"), "uploads", ["upload_id"], ["id"]
        )
    op.create_table(
        "api_idempotency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotency")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_api_idempotency_scope")),
    )


def downgrade() -> None:
    op.drop_table("api_idempotency")
    with op.batch_alter_table("attachments") as batch_op:
        batch_op.drop_constraint(op.f("fk_attachments_upload_id_uploads"), type_="foreignkey")
        batch_op.drop_column("upload_id")
    op.drop_table("uploads")
    with op.batch_alter_table("customers") as batch_op:
        batch_op.drop_column("phone")
        batch_op.drop_column("email")
