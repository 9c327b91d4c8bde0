"""Telegram toolkit shared by the handlers, dialogs and backoffice: below them, above desk."""
