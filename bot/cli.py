"""The ``crossdesk`` command line.

Every command takes ``--config PATH`` (default ``./crossdesk.toml`` or ``$CROSSDESK_CONFIG``);
with no file the embedded defaults serve. Errors a user can fix print as one line naming the
problem and the fix, with a non-zero exit and no traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli_args import (
    OneLineParser,
    UserError,
    add_common_options,
    existing_file,
    existing_folder,
    fraction,
    iso_date,
    not_empty,
    package_version,
    whole_number,
)
from bot.config import SECRETS, ConfigError, Settings, config_path, load_settings
from bot.kb_cli import cmd_kb_check, cmd_kb_export, cmd_kb_import
from bot.logs import configure_logging
from knowledge.kb import KnowledgeBaseError
from store.db import StoreError

if TYPE_CHECKING:
    from bot.app import App
    from bot.delivery import Deliverer

Command = Callable[[argparse.Namespace, Settings], int]
MAX_DEMO_ORDERS = 10_000_000
MAX_DEMO_PRODUCTS = 1_000_000


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _app(settings: Settings, **kwargs: Any) -> App:
    from bot.app import build_app

    return build_app(settings, **kwargs)


# --- commands ---------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from bot.starter import starter_config

    path = config_path(args.config)
    if path.exists() and not args.force:
        raise UserError(f"{path} exists; use --force to overwrite it")
    path.write_text(starter_config(), encoding="utf-8")
    print(f"wrote {path}; secrets go in environment variables (see the comments in it)")
    return 0


def announce(settings: Settings) -> None:
    """The start lines: staff translation on or off (stdout), missing staff chats (stderr)."""
    from bot.startup import staff_warnings, translation_line

    print(f"crossdesk: {translation_line(settings)}", flush=True)
    for warning in staff_warnings(settings):
        print(f"crossdesk: {warning}", file=sys.stderr, flush=True)


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import ensure_demo_shop
    from bot.channels.console import ConsoleChannel, ConsoleSender
    from bot.delivery import Deliverer

    announce(settings)

    app = _app(settings, staff_channels=["console"])
    if ensure_demo_shop(app):
        print("(created the demo shop in the store)", file=sys.stderr)
    deliverer = Deliverer(
        app.sessions, {"console": ConsoleSender(sys.stdout)}, clock=app.services.clock
    )
    channel = ConsoleChannel(app.router, deliverer, staff=args.staff, user=args.user)
    if args.staff:  # /alerts is never empty on a fresh store: the rules run once now
        from bot.alert_jobs import evaluate_once

        if evaluate_once(app):
            asyncio.run(_deliver_all(deliverer))
    interactive = sys.stdin.isatty()
    if interactive:
        who = "staff member" if args.staff else "customer"
        print(f"CrossDesk chat as a {who}. Type a message, /help, or /quit.\n> ", end="")
    channel.run(sys.stdin, prompt=interactive)
    app.close()
    return 0


async def _deliver_all(deliverer: Deliverer) -> None:
    """Send every due outbox row now (the console prints them)."""
    while await deliverer.run_once():
        pass


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime import run

    announce(settings)
    return run(settings)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from store.db import create_store_engine, current_revision, upgrade

    engine = create_store_engine(settings.store.url)
    upgrade(engine)
    print(f"database at revision {current_revision(engine)}")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from bot.progress import Bars
    from store.db import create_store_engine, session_factory, upgrade
    from store.importers import ImportFileError, import_inventory, import_orders

    path: Path = args.file
    engine = create_store_engine(settings.store.url, busy_timeout=settings.store.busy_timeout)
    upgrade(engine)
    importer = import_orders if args.what == "orders" else import_inventory
    try:
        with Bars("B") as bars:
            result = importer(session_factory(engine), path, progress=bars.update)
    except ImportFileError as exc:
        for problem in exc.problems[:50]:
            print(problem, file=sys.stderr)
        if exc.count > 50:
            print(f"... and {exc.count - 50} more", file=sys.stderr)
        raise UserError(f"{path}: {exc}") from None
    finally:
        engine.dispose()
    print(
        f"{args.what}: {result.created} created, {result.updated} updated from {result.rows} rows"
    )
    return 0


def cmd_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from bot.progress import Bars
    from store.db import create_store_engine, session_factory, transaction, upgrade
    from store.demo import generate_demo_shop

    engine = create_store_engine(settings.store.url)
    upgrade(engine)
    started = time.perf_counter()
    with Bars("orders") as bars, transaction(session_factory(engine)) as session:
        summary = generate_demo_shop(
            session,
            orders=args.orders,
            products=args.products,
            seed=args.seed,
            today=args.today,
            progress=bars.counter("generating", args.orders),
        )
    print(
        f"demo shop: {summary.orders} orders, {summary.items} order lines, "
        f"{summary.shipments} shipments, {summary.products} products, "
        f"{summary.customers} customers in {time.perf_counter() - started:.1f}s"
    )
    return 0


def cmd_classify(args: argparse.Namespace, settings: Settings) -> int:
    from bot.evaluation import classify_stream

    return classify_stream(settings, sys.stdin, sys.stdout)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.evaluation import evaluate_file

    return evaluate_file(settings, args.file, args)


def cmd_slack_manifest(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from bot.channels.slack_manifest import slack_manifest
    from knowledge.kb import load_knowledge_base
    from knowledge.texts import Texts

    if args.url is None and not settings.slack.app_token:
        raise UserError(
            "give --url https://<your host>/slack/events (HTTP mode), or set "
            "CROSSDESK_SLACK__APP_TOKEN for Socket Mode"
        )
    support = settings.support
    texts = Texts(load_knowledge_base(support.knowledge_base).texts,
                  default_language=support.default_language)  # fmt: skip
    manifest = slack_manifest(texts, support.staff_language, name=args.name, request_url=args.url)
    print(json.dumps(manifest, ensure_ascii=False, indent=2))
    return 0


def cmd_alerts(args: argparse.Namespace, settings: Settings) -> int:
    from bot.alerts_cli import alerts_command

    return alerts_command(args, settings)


# --- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; each accepts ``--config`` and ``-v`` before or after it."""
    parser = OneLineParser(
        prog="crossdesk",
        description="Multilingual customer service and ops alerts for cross-border shops.",
    )
    parser.add_argument("--version", action="version", version=f"crossdesk {package_version()}")
    add_common_options(parser, top_level=True)
    common = OneLineParser(add_help=False)
    add_common_options(common, top_level=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str, func: object) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        command.set_defaults(func=func)
        return command

    init = add("init", "write a commented starter crossdesk.toml with every key", cmd_init)
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    chat = add(
        "chat", "talk to the bot in this terminal (creates the demo shop if empty)", cmd_chat
    )
    chat.add_argument("--staff", action="store_true", help="talk as a staff member")
    chat.add_argument(
        "--user",
        type=not_empty,
        default="console-customer",
        help="who you are (default: %(default)s)",
    )
    add("run", "run the Telegram and/or Slack bot, delivery and scheduled alerts", cmd_run)
    db = add("db", "database maintenance", None)
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser(
        "upgrade", help="apply pending schema migrations", parents=[common]
    ).set_defaults(func=cmd_db_upgrade)
    imp = add(
        "import",
        "import orders or inventory (products) from the shop's CSV or JSON lines; "
        "checks the whole file first, then writes in chunks beside the running bot",
        cmd_import,
    )
    imp.add_argument("what", choices=["orders", "inventory", "products"])
    imp.add_argument("file", type=existing_file)
    demo = add(
        "demo-data", "fill the store with a generated demo shop (replaces orders)", cmd_demo_data
    )
    demo.add_argument(
        "--orders",
        type=whole_number(0, MAX_DEMO_ORDERS),
        default=2000,
        metavar="N",
        help=f"orders to generate, 0 to {MAX_DEMO_ORDERS:,} (default: %(default)s)",
    )
    demo.add_argument(
        "--products",
        type=whole_number(1, MAX_DEMO_PRODUCTS),
        default=200,
        metavar="M",
        help=f"products to generate, 1 to {MAX_DEMO_PRODUCTS:,} (default: %(default)s)",
    )
    demo.add_argument(
        "--seed",
        type=whole_number(),
        default=7,
        metavar="S",
        help="the same seed and --today give the same shop (default: %(default)s)",
    )
    demo.add_argument(
        "--today", type=iso_date, metavar="YYYY-MM-DD", help="anchor date (default: today)"
    )
    add("classify", "classify JSON lines from stdin: language, action, intent, reply", cmd_classify)
    evaluation = add(
        "eval", "measure the customer pipeline on a labelled JSON-lines file", cmd_eval
    )
    evaluation.add_argument("file", type=existing_file)
    for option, default in (
        ("--min-language", 0.0),
        ("--min-expect", 0.0),
        ("--min-escalation-recall", 0.0),
        ("--max-offtopic-answered", 1.0),
    ):
        evaluation.add_argument(option, type=fraction, default=default, metavar="X")
    evaluation.add_argument("--errors", action="store_true", help="list every wrong message")
    kb = add("kb", "knowledge base tools", None)
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="ACTION", required=True)
    check = kb_sub.add_parser("check", help="validate a knowledge base folder", parents=[common])
    check.add_argument(
        "path", nargs="?", type=existing_folder, help="folder (default: the configured or demo KB)"
    )
    check.set_defaults(func=cmd_kb_check)
    kb_import = kb_sub.add_parser(
        "import", help="write faq/<lang>.yaml from a .csv or .xlsx sheet", parents=[common]
    )
    kb_import.add_argument("file", type=existing_file)
    kb_import.add_argument("--into", help="KB folder (default: support.knowledge_base)")
    kb_import.set_defaults(func=cmd_kb_import)
    kb_export = kb_sub.add_parser(
        "export", help="write the KB's FAQ as a .csv or .xlsx sheet", parents=[common]
    )
    kb_export.add_argument("file")
    kb_export.add_argument("path", nargs="?", type=existing_folder, help="KB folder")
    kb_export.set_defaults(func=cmd_kb_export)
    manifest = add(
        "slack-manifest",
        "print the Slack app manifest (slash commands, scopes, events) to create the app from",
        cmd_slack_manifest,
    )
    manifest.add_argument("--url", help="the bot's https://<host>/slack/events (HTTP mode)")
    manifest.add_argument("--name", default="CrossDesk", help="the app's name in Slack")
    alerts = add("alerts", "ops alerts: run the rules once, or list alert state", cmd_alerts)
    alerts_sub = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    alerts_sub.add_parser("run-once", help="evaluate every rule, deliver, exit", parents=[common])
    alerts_sub.add_parser("list", help="show alerts and silences", parents=[common])
    return parser


def _secrets(settings: Settings) -> list[str]:
    """Every configured secret, to keep out of the log lines."""
    return [
        value
        for section, key in SECRETS
        if isinstance(value := getattr(getattr(settings, section), key, None), str)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, load the configuration and run the command; the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0 if argv is None or not list(argv) else 2
    configure_logging("WARNING", args.verbose)
    try:
        if func is cmd_init:
            return cmd_init(args)
        settings = _settings(args)
        own_level = settings.logging.level if func is cmd_run else "WARNING"
        configure_logging(own_level, args.verbose, _secrets(settings))
        return func(args, settings)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"crossdesk: config: {problem}", file=sys.stderr)
        return 2
    except (StoreError, KnowledgeBaseError, UserError) as exc:
        print(f"crossdesk: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
