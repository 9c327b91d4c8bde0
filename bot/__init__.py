"""The composition root: settings, CLI, Dispatcher, web app; starts the sender and the scheduler."""
