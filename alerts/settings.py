"""The ``[alerts]`` section: rule thresholds, schedules, repeat interval and targets.

Every rule runs on its own schedule (``every_minutes`` or a crontab line) and notifies the
targets of its ``[alerts.rules.<rule>]`` table, or else the section's ``targets``; an empty
list means every configured staff channel (the console when none is configured)::

    [alerts]
    handling_days = 3
    repeat_interval_minutes = 240
    targets = ["slack"]

    [alerts.rules.low_stock]
    cron = "0 8 * * 1-5"          # weekdays at 08:00 in support.timezone
    targets = ["telegram"]
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from store.alert_state import RULES

Target = Literal["telegram", "slack", "console"]


class RuleSettings(BaseModel):
    """One rule's ``[alerts.rules.<rule>]`` table: on or off, when it runs, where it goes."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="evaluate this rule")
    every_minutes: int | None = Field(
        None, ge=1, description="run every N minutes; unset: [alerts] every_minutes", examples=[30]
    )
    cron: str | None = Field(
        None, description="crontab line, instead of every_minutes", examples=["0 8 * * 1-5"]
    )
    targets: list[Target] | None = Field(
        None, description="channels; unset: [alerts] targets", examples=[["telegram"]]
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not a crontab line ({exc}); use five fields: "
                'minute hour day month weekday, e.g. "*/30 * * * *"'
            ) from None
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> RuleSettings:
        if self.every_minutes is not None and self.cron is not None:
            raise ValueError("set either every_minutes or cron for a rule, not both")
        return self


class AlertSettings(BaseModel):
    """Thresholds and timing of the ops alerts."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="run the alert rules on their schedules")
    handling_days: int = Field(3, ge=0, description="days from payment to shipping")
    grace_days: int = Field(2, ge=0, description="days past the promised delivery date")
    stale_scan_days: int = Field(5, ge=1, description="days without a tracking scan")
    critical_days: int = Field(
        7, ge=1, description="days past a shipping threshold after which an alert is critical"
    )
    repeat_interval_minutes: int = Field(
        240, ge=1, description="minutes before a firing alert is repeated"
    )
    group_top: int = Field(10, ge=1, le=50, description="orders or SKUs listed in one message")
    every_minutes: int = Field(15, ge=1, description="default schedule of every rule")
    misfire_grace_seconds: int = Field(
        300, ge=1, description="a run this late is still made (later ones coalesce into one)"
    )
    silence_button_minutes: int = Field(
        240, ge=1, description="how long the Silence button of a message silences its rule"
    )
    resolved_retention_days: int = Field(
        7, ge=1, description="resolved alerts are forgotten after this many days"
    )
    targets: list[Target] = Field(
        default_factory=list,
        description="channels for every rule; empty: every configured staff channel",
    )
    rules: dict[str, RuleSettings] = Field(
        default_factory=dict,
        description="per-rule schedule and targets: a table [alerts.rules.<rule>] per rule, "
        f"rules: {', '.join(RULES)}",
        examples=[{"low_stock": {"cron": "0 8 * * 1-5", "targets": ["telegram"]}}],
    )

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: dict[str, RuleSettings]) -> dict[str, RuleSettings]:
        unknown = sorted(set(value) - set(RULES))
        if unknown:
            raise ValueError(
                f"unknown rule(s) {', '.join(unknown)}; the rules are: {', '.join(RULES)}"
            )
        return value

    @property
    def repeat_interval(self) -> timedelta:
        return timedelta(minutes=self.repeat_interval_minutes)

    def rule(self, name: str) -> RuleSettings:
        """The settings of rule ``name`` (defaults when it has no table)."""
        return self.rules.get(name) or RuleSettings()

    def enabled_rules(self) -> list[str]:
        """The rules to evaluate, in their canonical order."""
        return [name for name in RULES if self.rule(name).enabled]

    def targets_for(self, name: str, configured: list[str]) -> list[str]:
        """Where rule ``name`` notifies: its own targets, else the section's, else every
        ``configured`` staff channel, else the console."""
        own = self.rule(name).targets
        chosen: list[str] = list(self.targets if own is None else own)
        if not chosen:
            chosen = configured or ["console"]
        return list(dict.fromkeys(chosen))
