"""Alembic's entry point for Softmax Lab's run database: it runs on the connection RunStore hands it.

RunStore runs the migrations itself when it opens a database (``migrations.upgrade``); nobody needs
the ``alembic`` command. ``render_as_batch`` lets SQLite drop and alter columns (by copying the table).
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
