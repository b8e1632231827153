"""Alert messages in the staff language, from locale keys (``knowledge/locales/*.yaml``).

A firing message says which rule, how many alerts it tells now (new and reminders) out of
how many fire, counts by carrier/country or warehouse, the worst ``group_top`` alerts one per
line (``/order N`` or ``/stock SKU`` to look closer), and two buttons: Acknowledge (the alerts
this message shows) and Silence (the rule, for ``silence_button_minutes``). Text is plain;
channels escape it for their markup.

The texts come in through the :class:`TextSource` protocol (``knowledge.texts.Texts`` fits), so
this package does not import the knowledge package.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

from alerts.groups import REPEAT, AlertGroup, GroupEntry
from alerts.settings import AlertSettings

COUNTS_SHOWN = 6  # values listed per count line; the rest are summed as "others"


class TextSource(Protocol):
    """Looks up a locale text by key and language and fills its placeholders."""

    def get(self, key: str, language: str | None = None, /, **values: object) -> str: ...


def duration_label(minutes: int) -> str:
    """``90`` -> ``"90m"``, ``240`` -> ``"4h"``, ``2880`` -> ``"2d"``: short and language-free."""
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


class AlertRenderer:
    """Renders alert groups for staff in one language."""

    def __init__(self, texts: TextSource, language: str, settings: AlertSettings) -> None:
        self.texts = texts
        self.language = language
        self.settings = settings

    def text(self, key: str, **values: object) -> str:
        return self.texts.get(key, self.language, **values)

    def rule_title(self, rule: str) -> str:
        return self.text(f"alerts.rule.{rule}")

    def line(self, rule: str, entry: GroupEntry) -> str:
        """One alert as a line of a message."""
        facts: dict[str, Any] = dict(entry.facts)
        names = facts.get("names")
        if isinstance(names, dict) and names.get(self.language):
            facts["name"] = names[self.language]
        if rule == "carrier_exception" and "status" in facts:
            facts["status"] = self.text(f"alerts.shipment.{facts['status']}")
        severity = self.text(f"alerts.severity.{entry.severity}")
        return f"{severity} {self.text(f'alerts.line.{rule}', **facts)}"

    def counts(self, group: AlertGroup) -> list[str]:
        lines = []
        for key in group.group_by:
            counter: Counter[str] = group.counts.get(key, Counter())
            if not counter:
                continue
            ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
            shown = ranked[:COUNTS_SHOWN]  # most first; ties by name, whatever the row order
            parts = [f"{value} {count}" for value, count in shown]
            rest = sum(counter.values()) - sum(count for _, count in shown)
            if rest:
                parts.append(self.text("alerts.counts.others", count=rest))
            lines.append(self.text(f"alerts.counts.{key}", counts=" · ".join(parts)))
        return lines

    def body(self, group: AlertGroup) -> list[str]:
        worst = group.worst()
        lines = self.counts(group)
        lines += [self.line(group.rule, entry) for entry in worst]
        if group.count > len(worst):
            lines.append(self.text("alerts.more", count=group.count - len(worst)))
        return lines

    def firing(
        self, group: AlertGroup, *, firing: int, stamp: str
    ) -> tuple[str, list[list[list[str]]]]:
        """The message for alerts told in one run, and its buttons."""
        settings = self.settings
        header = self.text(
            "alerts.firing.header",
            rule=self.rule_title(group.rule),
            count=group.count,
            new=group.count - group.reasons[REPEAT],
            repeat=group.reasons[REPEAT],
            firing=firing,
        )
        explain = self.text(
            f"alerts.explain.{group.rule}",
            handling_days=settings.handling_days,
            grace_days=settings.grace_days,
            stale_scan_days=settings.stale_scan_days,
        )
        silence = settings.silence_button_minutes
        buttons = [
            [
                [self.text("alerts.button.ack"), f"ack:{group.rule}@{stamp}"],
                [
                    self.text("alerts.button.silence", duration=duration_label(silence)),
                    f"silence:{group.rule}:{duration_label(silence)}",
                ],
            ]
        ]
        return "\n".join([header, explain, *self.body(group)]), buttons

    def resolved(self, group: AlertGroup) -> str:
        """The notice for alerts that stopped firing in one run."""
        header = self.text(
            "alerts.resolved.header", rule=self.rule_title(group.rule), count=group.count
        )
        return "\n".join([header, *self.body(group)])
