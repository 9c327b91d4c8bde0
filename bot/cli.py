"""``python -m bot run | migrate | demo | --version`` (also the ``ctv-desk`` console script)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence

from bot import logs
from bot.settings import Settings, SettingsError, StorageSettings, load
from bot.version import __version__

EXIT_SETTINGS = 2


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (Linux, macOS), else asyncio's own.

    The desk spends about half its time in Bot API calls and their answers; uvloop's
    sockets and scheduling take about a tenth off the desk's CPU per answer in a
    burst (bench/intake, CPU ms per answer). Nothing in the desk depends on which
    loop runs it.
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ctv-desk", description="Call to Visit support desk")
    parser.add_argument("--version", action="version", version=f"ctv-desk {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="apply migrations, then serve the bot")
    commands.add_parser("migrate", help="apply database migrations and exit")
    # Its own options are parsed by bot.demo (ctv-desk demo --help).
    commands.add_parser("demo", help="try the desk in a browser, without Telegram", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, rest = _parser().parse_known_args(argv)
    if args.command == "demo":
        from bot.demo import main as demo

        return demo(rest)
    if rest:
        _parser().error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        settings = load(Settings if args.command == "run" else StorageSettings)
    except SettingsError as error:
        print(f"ctv-desk: cannot start: {error}", file=sys.stderr)
        return EXIT_SETTINGS
    secrets = settings.secrets() if isinstance(settings, Settings) else []
    redactor = logs.setup(settings.log_level, settings.log_format, secrets)
    if args.command == "migrate":
        from storage.migrate import upgrade

        asyncio.run(upgrade(settings.database_url))
        logging.getLogger(__name__).info("database is up to date")
        return 0
    assert isinstance(settings, Settings)
    from bot.app import serve
    from bot.startup import StartupError

    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(serve(settings, redactor))
    except StartupError as error:
        print(f"ctv-desk: cannot start: {error}", file=sys.stderr)
        return error.exit_code
