"""``crossdesk classify`` and ``crossdesk eval``: the customer pipeline as a measurable function.

Both use the configured knowledge base and the same :class:`Classifier` the bot uses, and have
no side effects: no store, no tickets, no log, no translation calls.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bot.app import Knowledge, build_knowledge
from bot.config import Settings
from bot.progress import Bars
from knowledge.classifier import Action, Classification
from knowledge.library import OUT_OF_SCOPE


def reply_text(knowledge: Knowledge, result: Classification, default_language: str) -> str:
    """What the bot would say first, without acting (no ticket, no lookup, no translation)."""
    texts, language = knowledge.texts, result.language
    if result.action is Action.FAQ and result.sure and result.intent:
        entry = knowledge.kb.faq.get(language, {}).get(result.intent) or knowledge.kb.faq.get(
            default_language, {}
        ).get(result.intent)
        return texts.fill(entry.answer) if entry else texts.get("fallback.text", language)
    if result.action is Action.FAQ:
        return texts.get("fallback.unsure", language)
    if result.action is Action.ORDER_STATUS:
        if result.order:
            return texts.get("order.ask_verification", language, order=result.order)
        return texts.get("order.ask_number", language)
    if result.action is Action.ESCALATE:
        when = texts.get("escalation.when_soon", language, minutes=30)
        return texts.get("escalation.opened", language, ticket="…", when=when)
    if result.action is Action.SMALLTALK:
        return texts.get(f"smalltalk.{result.intent}", language)
    if result.intent == OUT_OF_SCOPE:
        return texts.get("fallback.out_of_scope", language)
    return texts.get("fallback.text", language)


def as_record(knowledge: Knowledge, result: Classification, default_language: str) -> dict:
    return {
        "language": result.language,
        "action": str(result.action),
        "intent": result.intent if result.action is Action.FAQ else None,
        "confidence": round(result.confidence, 4),
        "order": result.order,
        "reply": reply_text(knowledge, result, default_language),
    }


def classify_stream(settings: Settings, source: TextIO, out: TextIO) -> int:
    """One JSON line out per JSON line in; a bad line gets an ``error`` line, in order."""
    knowledge = build_knowledge(settings)
    default = settings.support.default_language
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError('each line must be an object with a "text" string')
        except (json.JSONDecodeError, ValueError) as exc:
            out.write(json.dumps({"error": f"line {number}: {exc}"}) + "\n")
            continue
        result = knowledge.classifier.classify(
            item["text"], language_hint=item.get("language_hint")
        )
        out.write(json.dumps(as_record(knowledge, result, default), ensure_ascii=False) + "\n")
        out.flush()
    return 0


def predicted_label(result: Classification) -> str:
    """The label an evaluation file uses: ``faq:<id>`` or the action."""
    if result.action is Action.FAQ:
        return f"faq:{result.intent}"
    return str(result.action)


def evaluate(
    knowledge: Knowledge,
    rows: list[dict[str, Any]],
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Accuracy figures per language and overall, and per-message latency; ``progress`` is
    told how many messages were classified."""
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    latencies: list[float] = []
    errors: list[dict[str, Any]] = []
    for done, row in enumerate(rows, start=1):
        if progress is not None:
            progress(done)
        started = time.perf_counter()
        result = knowledge.classifier.classify(row["text"], language_hint=row.get("language_hint"))
        latencies.append((time.perf_counter() - started) * 1000)
        label, expect = predicted_label(result), row["expect"]
        for bucket in (per[row.get("lang", "?")], per["all"]):
            bucket["n"] += 1
            bucket["language"] += result.language == row.get("lang")
            bucket["expect"] += label == expect
            bucket["esc_expected"] += expect == "escalate"
            bucket["esc_found"] += expect == "escalate" and label == "escalate"
            bucket["esc_predicted"] += label == "escalate"
            bucket["fallback_predicted"] += label == "fallback"
            bucket["fallback_right"] += label == "fallback" and expect == "fallback"
            bucket["offtopic"] += expect == "fallback"
            bucket["offtopic_answered"] += expect == "fallback" and label.startswith("faq:")
            if row.get("order"):
                bucket["orders"] += 1
                bucket["orders_found"] += result.order == row["order"]
        if label != expect or result.language != row.get("lang"):
            errors.append(
                {
                    "text": row["text"],
                    "lang": row.get("lang"),
                    "got_lang": result.language,
                    "expect": expect,
                    "got": label,
                    "confidence": round(result.confidence, 3),
                }
            )
    report: dict[str, Any] = {lang: _ratios(counts) for lang, counts in per.items()}
    latencies.sort()
    report["latency_ms"] = {
        "median": statistics.median(latencies) if latencies else 0.0,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0,
    }
    report["errors"] = errors
    return report


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _ratios(c: dict[str, int]) -> dict[str, float | int | None]:
    return {
        "n": c["n"],
        "language": _ratio(c["language"], c["n"]),
        "expect": _ratio(c["expect"], c["n"]),
        "escalation_recall": _ratio(c["esc_found"], c["esc_expected"]),
        "escalation_precision": _ratio(c["esc_found"], c["esc_predicted"]),
        "fallback_precision": _ratio(c["fallback_right"], c["fallback_predicted"]),
        "offtopic_answered": _ratio(c["offtopic_answered"], c["offtopic"]),
        "order_number": _ratio(c["orders_found"], c["orders"]),
    }


def _fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def evaluate_file(settings: Settings, path: Path, args: argparse.Namespace) -> int:
    """Print the evaluation of ``path``; exit 1 if a threshold is missed."""
    from bot.cli_args import UserError

    if not path.is_file():
        raise UserError(f"{path}: no such file")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    knowledge = build_knowledge(settings)
    with Bars("msg") as bars:
        report = evaluate(knowledge, rows, bars.counter("classifying", len(rows)))
    columns = (
        "language",
        "expect",
        "escalation_recall",
        "escalation_precision",
        "fallback_precision",
        "offtopic_answered",
        "order_number",
    )
    print(f"{'lang':<5} {'n':>4} " + " ".join(f"{c[:10]:>10}" for c in columns))
    languages = sorted(k for k in report if k not in {"all", "latency_ms", "errors"})
    for language in [*languages, "all"]:
        figures = report[language]
        print(
            f"{language:<5} {figures['n']:>4} "
            + " ".join(f"{_fmt(figures[c]):>10}" for c in columns)
        )
    latency = report["latency_ms"]
    print(f"latency per message: median {latency['median']:.2f} ms, p99 {latency['p99']:.2f} ms")
    if args.errors:
        for error in report["errors"]:
            print(json.dumps(error, ensure_ascii=False))
    overall = report["all"]
    failed = []
    checks = (
        ("language", args.min_language, 1),
        ("expect", args.min_expect, 1),
        ("escalation_recall", args.min_escalation_recall, 1),
        ("offtopic_answered", args.max_offtopic_answered, -1),
    )
    for name, bar, direction in checks:
        value = overall[name]
        if value is not None and (value - bar) * direction < 0:
            failed.append(f"{name} {value:.3f} misses {bar}")
    if failed:
        print("FAILED: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0
