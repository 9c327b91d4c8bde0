"""The composition root: settings, CLI, Dispatcher, web app, outbox sender."""
