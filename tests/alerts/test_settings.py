"""The [alerts] section: schedules, targets, and errors that name the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.settings import AlertSettings
from bot.config import ConfigError, load_settings


def problems(tmp_path: Path, toml: str) -> list[str]:
    path = tmp_path / "crossdesk.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return caught.value.problems


def test_bad_alert_settings_name_key_and_fix(tmp_path: Path) -> None:
    (unknown,) = problems(tmp_path, "[alerts.rules.late_parcels]\nevery_minutes = 5\n")
    assert "alerts.rules" in unknown and "late_parcels" in unknown and "overdue_delivery" in unknown
    (cron,) = problems(tmp_path, '[alerts.rules.low_stock]\ncron = "every day"\n')
    assert "alerts.rules.low_stock.cron" in cron and "five fields" in cron
    (both,) = problems(
        tmp_path, '[alerts.rules.low_stock]\ncron = "0 8 * * *"\nevery_minutes = 5\n'
    )
    assert "alerts.rules.low_stock" in both and "either every_minutes or cron" in both
    (target,) = problems(tmp_path, '[alerts]\ntargets = ["email"]\n')
    assert "alerts.targets" in target and "telegram" in target
    (zero,) = problems(tmp_path, "[alerts]\nrepeat_interval_minutes = 0\n")
    assert "alerts.repeat_interval_minutes" in zero


def test_targets_per_rule_section_configured_console() -> None:
    settings = AlertSettings(
        targets=["slack"], rules={"low_stock": {"targets": ["telegram", "telegram", "console"]}}
    )
    assert settings.targets_for("low_stock", ["slack"]) == ["telegram", "console"]
    assert settings.targets_for("unshipped", ["telegram"]) == ["slack"]
    plain = AlertSettings()
    assert plain.targets_for("unshipped", ["telegram", "slack"]) == ["telegram", "slack"]
    assert plain.targets_for("unshipped", []) == ["console"]


def test_enabled_rules_and_schedules(tmp_path: Path) -> None:
    path = tmp_path / "crossdesk.toml"
    path.write_text(
        "[alerts]\nevery_minutes = 20\n"
        "[alerts.rules.days_of_cover]\nenabled = false\n"
        '[alerts.rules.low_stock]\ncron = "0 8 * * 1-5"\n',
        encoding="utf-8",
    )
    settings = load_settings(path).alerts
    assert "days_of_cover" not in settings.enabled_rules()
    assert settings.enabled_rules()[0] == "unshipped" and len(settings.enabled_rules()) == 6
    assert settings.rule("low_stock").cron == "0 8 * * 1-5"
    assert settings.rule("unshipped").every_minutes is None and settings.every_minutes == 20
