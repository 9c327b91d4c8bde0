"""Customer dialogs built with aiogram-dialog (intake, reopen with a reason, rating)."""
