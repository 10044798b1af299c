"""The ``cosmos`` command line: ``cosmos run``, ``cosmos ingest``, …"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.demo import add_demo_parser
from bot.doctor import add_doctor_parser
from bot.ingest_command import add_ingest_parser
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
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from collectors.clock import SystemClock
    from collectors.health import status_text

    settings = load_settings(args.env_file)
    print(asyncio.run(status_text(settings, SystemClock())))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cosmos", description="Monitor for Autonomys farmers")
    parser.add_argument("--env-file", default=".env", help="settings file (default .env)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the collectors, and the Discord bot when configured")
    run.set_defaults(handler=_cmd_run)
    status = sub.add_parser("status", help="what each source last did, and open alerts")
    status.set_defaults(handler=_cmd_status)
    add_ingest_parser(sub)
    add_doctor_parser(sub)
    add_demo_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
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
