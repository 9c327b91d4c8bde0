"""Storage of the desk: SQLAlchemy models, repositories and migrations (no Telegram here)."""
