"""Persistence: SQLAlchemy models, one module per aggregate, migrations, importers, demo shop.

``store`` is the bottom layer: it imports nothing of ours. Datetimes are naive UTC throughout,
so SQLite and PostgreSQL store and compare them the same way.
"""
