"""The ``cosmos`` command line: ``cosmos run``, ``cosmos ingest``, …"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from collectors.settings import SettingsError, load_settings
from collectors.store.database import StoreError


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from bot import app

    settings = load_settings(args.env_file)
    _configure_logging(settings.log_level)
    asyncio.run(app.run(settings))
    if args.whole_process:
        # Everything is stopped and closed (tasks, threads, database). Tearing down every
        # imported module would take about another second on a busy machine, past the 2 s a
        # stop may take (docker stop kills at 10 s): leave now, logs flushed.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from collectors.clock import SystemClock
    from collectors.health import status_text

    settings = load_settings(args.env_file)
    print(asyncio.run(status_text(settings, SystemClock())))
    return 0


def _lazy(module: str) -> Callable[[argparse.Namespace], int]:
    """A subcommand whose module is imported only when it runs (keeps the others light)."""

    def handler(args: argparse.Namespace) -> int:
        return int(importlib.import_module(module).cli(args))

    return handler


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cosmos", description="Monitor for Autonomys farmers")
    parser.add_argument(
        "--env-file", default=None, help="settings file (default ./.env, when there is one)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the collectors, and the Discord bot when configured")
    run.set_defaults(handler=_cmd_run)
    status = sub.add_parser("status", help="what each source last did, and open alerts")
    status.set_defaults(handler=_cmd_status)
    ingest = sub.add_parser(
        "ingest",
        help="backfill node/farmer log files once (plain, ANSI, Docker json-file or frames)",
    )
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="log files")
    ingest.add_argument(
        "--db", type=Path, default=None, help="database file (default: COSMOS_DATABASE_PATH)"
    )
    ingest.set_defaults(handler=_lazy("bot.ingest_command"))
    doctor = sub.add_parser(
        "doctor", help="check the settings and every connection, and say how to fix problems"
    )
    doctor.add_argument(
        "--timeout", type=float, default=10.0, help="seconds each check may take (default 10)"
    )
    doctor.set_defaults(handler=_lazy("bot.doctor"))
    demo = sub.add_parser(
        "demo", help="run cosmos on a bundled demo farm (no farm, token or settings needed)"
    )
    demo.add_argument("--webhook", help="send the demo's notifications to this Discord webhook")
    demo.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl+C)")
    demo.add_argument("--dir", help="keep the demo files and database in this directory")
    demo.add_argument(
        "--web-port", type=int, default=8477, help="serve the web pages here (0: off)"
    )
    demo.set_defaults(handler=_lazy("bot.demo"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.whole_process = argv is None  # the command line, not a caller in this process
    try:
        named = Path(args.env_file) if args.env_file is not None else None
        if named is not None and (not named.exists() or named.is_dir()):
            # Named but missing: running on defaults instead would hide the mistake.
            load_settings(args.env_file, required=True)
        args.env_file = args.env_file or ".env"
        return int(args.handler(args))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"cosmos: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
