"""Version stamps that let each process cache a machine's future bookings and a territory's
presence table, and know in one query when its copy is stale.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("equipment") as batch:
        batch.add_column(sa.Column("bookings_version", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("territories") as batch:
        batch.add_column(sa.Column("presence_version", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("territories") as batch:
        batch.drop_column("presence_version")
    with op.batch_alter_table("equipment") as batch:
        batch.drop_column("bookings_version")
