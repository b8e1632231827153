"""Alert groups: the alerts of one rule told in one message, and the message's outbox key.

A group keeps counts and the ``top`` worst alerts in bounded memory however many join, and a
digest of every alert it tells at the lifecycle step the alert is at (``AlertState.step``).
The digest is the message's identity: two runs of a rule in the same second that tell
different alerts make different keys, and a key seen again means the very same alerts at the
very same steps, a true duplicate that the outbox may drop.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from alerts.rules import SEVERITY_RANK

NEW, CHANGED, REPEAT, QUIET = "new", "changed", "repeat", "quiet"
_DIGEST_MOD = 2**256


@dataclass
class GroupEntry:
    """One alert as a message lists it."""

    subject: str
    severity: str
    facts: dict[str, Any]
    score: float

    def rank(self) -> tuple[int, float, str]:
        return (SEVERITY_RANK.get(self.severity, 9), -self.score, self.subject)


@dataclass
class AlertGroup:
    """The alerts of one rule told in one message: counts plus the ``top`` worst, in bounded
    memory however many alerts join."""

    rule: str
    group_by: tuple[str, ...]
    top: int
    count: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    severities: Counter[str] = field(default_factory=Counter)
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    _entries: list[GroupEntry] = field(default_factory=list)
    _digest: int = 0

    def add(self, entry: GroupEntry, reason: str = NEW, *, step: int = 0) -> None:
        """Add an alert told at lifecycle ``step`` (the value its state has after this run)."""
        self.count += 1
        self.reasons[reason] += 1
        self.severities[entry.severity] += 1
        for key in self.group_by:
            counter = self.counts.get(key)
            if counter is None:
                counter = self.counts[key] = Counter()
            counter[str(entry.facts.get(key) or "-")] += 1
        self._entries.append(entry)
        if len(self._entries) > 4 * self.top:
            self._entries = sorted(self._entries, key=GroupEntry.rank)[: self.top]
        told = hashlib.sha256(f"{self.rule}:{entry.subject}#{step}".encode()).digest()
        self._digest = (self._digest + int.from_bytes(told, "big")) % _DIGEST_MOD

    def key(self, kind: str) -> str:
        """The outbox key of this group's ``kind`` message ("firing", "resolved").

        It names the set of (fingerprint, step) pairs told: the sum of their hashes, which is
        what hashing them sorted would give (an identity of the set, whatever the order the
        rule found them in) without holding every fingerprint in memory.
        """
        items = f"{self.count}:{self._digest:064x}"
        return f"alert:{self.rule}:{kind}:{hashlib.sha256(items.encode()).hexdigest()[:40]}"

    def worst(self) -> list[GroupEntry]:
        """The ``top`` worst alerts, worst first."""
        return sorted(self._entries, key=GroupEntry.rank)[: self.top]

    def __bool__(self) -> bool:
        return self.count > 0
