"""``crossdesk kb check``, ``crossdesk kb import`` and ``crossdesk kb export``: a seller's FAQ
checked (every problem at once, each with file and entry, and which library topic each entry
answers), and kept in a spreadsheet (``.csv`` or ``.xlsx``) as well as in ``faq/<lang>.yaml``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli_args import UserError
from bot.config import Settings


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
    if path:
        _print_topic_suggestions(settings, Path(path))
    return 0


def _print_topic_suggestions(settings: Settings, path: Path) -> None:
    """Which library topic each entry answers: named, linked at load, or none (with the
    closest ones), so a seller can confirm a link with ``topic:`` or fix a wrong one."""
    from bot.app import build_semantic_index
    from knowledge.kb import load_knowledge_base

    kb = load_knowledge_base(path)
    index = build_semantic_index(settings, kb)
    if index is None:
        return
    linked: dict[str, list[str]] = {}
    for link in index.links:
        linked.setdefault(link.entry_id, []).append(
            link.topic if link.source != "inferred" else f"{link.topic} (linked, {link.score:.2f})"
        )
    for entry_id in kb.entry_ids:
        topics = linked.get(entry_id)
        if topics and all("linked" not in t for t in topics):
            continue
        if topics:
            print(f"entry {entry_id!r}: topic {', '.join(topics)}; add topic: to confirm")
        else:
            print(f"entry {entry_id!r}: no library topic; it is matched by its own text only")


def cmd_kb_import(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge.kb_sheet import SheetError, import_sheet
    from knowledge.library import load_library

    target = args.into or settings.support.knowledge_base
    if not target:
        raise UserError(
            "name the KB folder to write with --into PATH (or set support.knowledge_base)"
        )
    try:
        counts = import_sheet(Path(args.file), Path(target), set(load_library().topics))
    except SheetError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); nothing written", file=sys.stderr)
        return 1
    for language, count in sorted(counts.items()):
        print(f"{Path(target) / 'faq' / language}.yaml: {count} entries")
    return 0


def cmd_kb_export(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge.kb_sheet import SheetError, export_sheet

    source = args.path or settings.support.knowledge_base
    try:
        rows = export_sheet(Path(source) if source else None, Path(args.file))
    except SheetError as exc:
        raise UserError(str(exc)) from None
    print(f"{args.file}: {rows} rows")
    return 0
