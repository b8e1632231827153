"""``crossdesk init``: the starter file holds every setting with its default, generated from
the settings models, so it loads back to the defaults and cannot miss a key."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.config import SECRETS, Settings, load_settings
from bot.starter import _table_model, starter_config
from tests.bot.test_cli import crossdesk


def sections(text: str) -> dict[str, str]:
    """The file's text under each ``[section]`` header."""
    parts = re.split(r"^\[([a-z_]+)\]$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def section_models() -> dict[str, type[BaseModel]]:
    models = {}
    for name, info in Settings.model_fields.items():
        assert isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
        models[name] = info.annotation
    return models


@pytest.fixture
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("CROSSDESK_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def written(tmp_path: Path) -> Path:
    result = crossdesk(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    return tmp_path / "crossdesk.toml"


def test_written_file_loads_back_to_the_defaults(written: Path, no_environment: None) -> None:
    assert load_settings(written) == Settings()


def test_written_file_lists_every_field_of_every_section(written: Path) -> None:
    text = written.read_text(encoding="utf-8")
    found = sections(text)
    assert set(found) == set(Settings.model_fields)
    for section, model in section_models().items():
        body = found[section]
        for name, info in model.model_fields.items():
            if (section, name) in SECRETS:
                env = f"CROSSDESK_{section.upper()}__{name.upper()}"
                assert f"# {name}: a secret" in body and env in body, (section, name)
                assert not re.search(rf"^#? ?{name} =", body, re.MULTILINE), (section, name)
                continue
            assert info.description and info.description.split()[0] in body, (section, name)
            table = _table_model(info.annotation)
            if table is None:
                assert re.search(rf"^#? ?{name} = ", body, re.MULTILINE), (section, name)
                continue
            assert f"# [{section}.{name}." in body, (section, name)
            for sub in table.model_fields:
                assert re.search(rf"^# {sub} = |also: .*\b{sub} \(", body, re.MULTILINE), sub


def test_the_commented_examples_are_valid_too(written: Path, no_environment: None) -> None:
    text = written.read_text(encoding="utf-8")
    uncommented = re.sub(r"^# (\[[a-z_.]+\]|[a-z_]+ = .*)$", r"\1", text, flags=re.MULTILINE)
    assert uncommented.count("\n# ") < text.count("\n# ")
    written.write_text(uncommented, encoding="utf-8")
    settings = load_settings(written)
    assert settings.telegram.staff_chat_id == -1001234567890
    assert settings.alerts.rule("low_stock").cron == "0 8 * * 1-5"


def test_every_setting_is_described_and_every_unset_one_has_an_example() -> None:
    models = dict(section_models())
    for section, model in section_models().items():
        for name, info in model.model_fields.items():
            table = _table_model(info.annotation)
            if table is not None:
                models[f"{section}.{name}.<key>"] = table
    assert "alerts.rules.<key>" in models
    for section, model in models.items():
        assert model.__doc__, section
        for name, info in model.model_fields.items():
            assert info.description, f"{section}.{name} has no description for crossdesk init"
            secret = (section, name) in SECRETS
            if info.get_default(call_default_factory=True) is None and not secret:
                assert info.examples, f"{section}.{name} is unset by default: give an example"


def test_starter_config_matches_what_init_writes(written: Path) -> None:
    assert written.read_text(encoding="utf-8") == starter_config()
