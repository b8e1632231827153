"""The ``crossdesk`` command line.

Every command takes ``--config PATH`` (default ``./crossdesk.toml`` or ``$CROSSDESK_CONFIG``);
with no file the embedded defaults serve. Errors a user can fix print as one line naming the
problem and the fix, with a non-zero exit and no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, config_path, load_settings
from knowledge.kb import KnowledgeBaseError
from store.db import StoreError

Command = Callable[[argparse.Namespace, Settings], int]


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _app(settings: Settings, **kwargs: object):  # type: ignore[no-untyped-def]
    from bot.app import build_app

    return build_app(settings, **kwargs)  # type: ignore[arg-type]


# --- commands ---------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from bot.starter import starter_config

    path = config_path(args.config)
    if path.exists() and not args.force:
        raise UserError(f"{path} exists; use --force to overwrite it")
    path.write_text(starter_config(), encoding="utf-8")
    print(f"wrote {path}; secrets go in environment variables (see the comments in it)")
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import ensure_demo_shop
    from bot.channels.console import ConsoleChannel, ConsoleSender
    from bot.delivery import Deliverer

    app = _app(settings, staff_channels=["console"])
    if ensure_demo_shop(app):
        print("(created the demo shop in the store)", file=sys.stderr)
    deliverer = Deliverer(
        app.sessions, {"console": ConsoleSender(sys.stdout)}, clock=app.services.clock
    )
    channel = ConsoleChannel(app.router, deliverer, staff=args.staff, user=args.user)
    interactive = sys.stdin.isatty()
    if interactive:
        who = "staff member" if args.staff else "customer"
        print(f"CrossDesk chat as a {who}. Type a message, /help, or /quit.\n> ", end="")
    channel.run(sys.stdin, prompt=interactive)
    app.close()
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime import run

    return run(settings)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from store.db import create_store_engine, current_revision, upgrade

    engine = create_store_engine(settings.store.url)
    upgrade(engine)
    print(f"database at revision {current_revision(engine)}")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from store.db import create_store_engine, session_factory, transaction, upgrade
    from store.importers import ImportFileError, import_inventory, import_orders

    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    engine = create_store_engine(settings.store.url)
    upgrade(engine)
    importer = import_orders if args.what == "orders" else import_inventory
    try:
        with transaction(session_factory(engine)) as session:
            result = importer(session, path)
    except ImportFileError as exc:
        for problem in exc.problems[:50]:
            print(problem, file=sys.stderr)
        if len(exc.problems) > 50:
            print(f"... and {len(exc.problems) - 50} more", file=sys.stderr)
        raise UserError(f"{path}: {exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; export the file as UTF-8 CSV") from None
    print(
        f"{args.what}: {result.created} created, {result.updated} updated from {result.rows} rows"
    )
    return 0


def cmd_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    import time
    from datetime import date

    from store.db import create_store_engine, session_factory, transaction, upgrade
    from store.demo import generate_demo_shop

    engine = create_store_engine(settings.store.url)
    upgrade(engine)
    started = time.perf_counter()
    today = date.fromisoformat(args.today) if args.today else None
    with transaction(session_factory(engine)) as session:
        summary = generate_demo_shop(
            session, orders=args.orders, products=args.products, seed=args.seed, today=today
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

    return evaluate_file(settings, Path(args.file), args)


def cmd_kb_check(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge.kb import check_knowledge_base

    path = args.path or settings.support.knowledge_base
    problems = check_knowledge_base(path)
    for problem in problems:
        print(problem)
    where = path or "the demo knowledge base"
    if problems:
        print(f"{len(problems)} problem(s) in {where}", file=sys.stderr)
        return 1
    print(f"{where}: ok")
    return 0


def cmd_alerts(args: argparse.Namespace, settings: Settings) -> int:
    from bot.alerts_cli import alerts_command

    return alerts_command(args, settings)


# --- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crossdesk",
        description="Multilingual customer service and ops alerts for cross-border shops.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default ./crossdesk.toml or $CROSSDESK_CONFIG)",
    )
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
        "--user", default="console-customer", help="who you are (default: %(default)s)"
    )
    add("run", "run the Telegram and/or Slack bot, delivery and scheduled alerts", cmd_run)
    db = add("db", "database maintenance", None)
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser(
        "upgrade", help="apply pending schema migrations", parents=[common]
    ).set_defaults(func=cmd_db_upgrade)
    imp = add("import", "import orders (CSV/JSONL) or inventory (CSV) from the shop", cmd_import)
    imp.add_argument("what", choices=["orders", "inventory"])
    imp.add_argument("file")
    demo = add(
        "demo-data", "fill the store with a generated demo shop (replaces orders)", cmd_demo_data
    )
    demo.add_argument("--orders", type=int, default=2000)
    demo.add_argument("--products", type=int, default=200)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--today", help="anchor date YYYY-MM-DD (default: today)")
    add("classify", "classify JSON lines from stdin: language, action, intent, reply", cmd_classify)
    evaluation = add(
        "eval", "measure the customer pipeline on a labelled JSON-lines file", cmd_eval
    )
    evaluation.add_argument("file")
    evaluation.add_argument("--min-language", type=float, default=0.0, metavar="X")
    evaluation.add_argument("--min-expect", type=float, default=0.0, metavar="X")
    evaluation.add_argument("--min-escalation-recall", type=float, default=0.0, metavar="X")
    evaluation.add_argument("--max-offtopic-answered", type=float, default=1.0, metavar="X")
    evaluation.add_argument("--errors", action="store_true", help="list every wrong message")
    kb = add("kb", "knowledge base tools", None)
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="ACTION", required=True)
    check = kb_sub.add_parser("check", help="validate a knowledge base folder", parents=[common])
    check.add_argument("path", nargs="?", help="folder (default: the configured or demo KB)")
    check.set_defaults(func=cmd_kb_check)
    alerts = add("alerts", "ops alerts: run the rules once, or list alert state", cmd_alerts)
    alerts_sub = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    alerts_sub.add_parser("run-once", help="evaluate every rule, deliver, exit", parents=[common])
    alerts_sub.add_parser("list", help="show alerts and silences", parents=[common])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0 if argv is None or not list(argv) else 2
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if func is cmd_init:
            return cmd_init(args)
        settings = _settings(args)
        logging.getLogger().setLevel(settings.logging.level if func is cmd_run else "WARNING")
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
