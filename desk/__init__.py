"""The support desk: rules and use cases (pure Python, no aiogram)."""
