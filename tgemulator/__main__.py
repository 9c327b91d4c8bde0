"""Run the emulator alone: python -m tgemulator --host 127.0.0.1 --port 8081."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from .server import ALLOWED_HOSTS, EmulatorServer
from .state import DEFAULT_TOKEN, World


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tgemulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--bot-username", default="ctv_desk_test_bot")
    args = parser.parse_args(argv)
    if args.host not in ALLOWED_HOSTS:
        # A fake Telegram must never be reachable from outside the machine.
        parser.error(f"--host must be one of {', '.join(ALLOWED_HOSTS)}")
    return args


async def serve(args: argparse.Namespace) -> None:
    world = World(token=args.token, bot_username=args.bot_username)
    server = EmulatorServer(world, host=args.host, port=args.port)
    await server.start()
    print(f"Telegram emulator on {server.url} (token {world.token})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        for violation in world.violations:
            print(f"VIOLATION {violation}", flush=True)


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
