"""DICOM: performed procedure steps (MPPS), when an order's images reached the PACS, and each
site's PACS (DICOMweb base URL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mpps",
        sa.Column("sop_instance_uid", sa.String(64), primary_key=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("station_ae", sa.String(16), nullable=False),
        sa.Column("series", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_mpps_order_id", "mpps", ["order_id"])
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("images_available_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("pacs_url", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("pacs_url")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("images_available_at")
    op.drop_table("mpps")
