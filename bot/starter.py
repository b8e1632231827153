"""The commented starter configuration ``crossdesk init`` writes, generated from the settings.

Every section of :class:`bot.config.Settings` and every field of it is written with its
default value and, above it, its description (and the values a ``Literal`` allows), so the
file cannot drift from the code: a new setting appears in it the day it is added. Keys whose
default is "not set" are written commented out with an example value; secrets are not keys of
the file at all, only a comment naming the environment variable to set; a table of tables
(``[alerts.rules.<rule>]``) is shown as a commented example.
"""

from __future__ import annotations

import json
import re
import textwrap
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from bot.config import ENV_PREFIX, SECRETS, Settings

HEADER = """\
# CrossDesk configuration, written by `crossdesk init`. Every key is optional and shows its
# default value; a commented key is not set by default (its value is an example).
# Secrets never go in this file: set them as environment variables (named below).
# Any key can also be set in the environment: CROSSDESK_<SECTION>__<KEY>, e.g.
# CROSSDESK_STORE__URL. The environment wins over this file.
"""
WIDTH = 100  # of a comment line
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_value(value: Any) -> str:
    """``value`` (JSON-like: what ``model_dump(mode="json")`` gives) as a TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML's too
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }"
    raise TypeError(f"no TOML form for {value!r}")


def toml_key(key: str) -> str:
    """A bare key when TOML allows one, else a quoted key."""
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def _choices(annotation: Any) -> list[str]:
    """The values a Literal (also inside Optional or list) allows; [] for other types."""
    if get_origin(annotation) is Literal:
        return [str(choice) for choice in get_args(annotation)]
    if get_origin(annotation) in (Union, list) or type(annotation).__name__ == "UnionType":
        return [c for arg in get_args(annotation) for c in _choices(arg)]
    return []


def _table_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a ``dict[str, Model]`` field (a table of tables), else None."""
    if get_origin(annotation) is dict:
        value = get_args(annotation)[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value
    return None


def _description(info: FieldInfo, annotation: Any) -> str:
    """The field's description, with the values a Literal allows unless it names them."""
    text = info.description or ""
    choices = _choices(annotation)
    if choices and not all(choice in text for choice in choices):
        text = f"{text} (one of: {', '.join(choices)})" if text else f"one of: {', '.join(choices)}"
    return text


def _comment(info: FieldInfo, annotation: Any) -> list[str]:
    """The description as comment lines of at most WIDTH characters."""
    text = _description(info, annotation)
    return (
        [f"# {line}" for line in textwrap.wrap(text, WIDTH - 2, break_on_hyphens=False)]
        if text
        else []
    )


def _example(info: FieldInfo) -> Any:
    return info.examples[0] if info.examples else None


def field_lines(section: str, name: str, info: FieldInfo, default: Any) -> list[str]:
    """The lines of one key: its comment, then the key with its default (or an example)."""
    annotation = info.annotation
    if (section, name) in SECRETS:
        env = f"{ENV_PREFIX}{section.upper()}__{name.upper()}"
        return [
            *_comment(info, annotation),
            f"# {name}: a secret, from the environment only: {env}",
        ]
    lines = _comment(info, annotation)
    model = _table_model(annotation)
    if model is not None:
        return lines + table_example(f"{section}.{name}", model, _example(info) or {})
    if default is None:
        example = _example(info)
        lines.append(f"# {name} = {toml_value(example)}" if example is not None else f"# {name} =")
    else:
        lines.append(f"{name} = {toml_value(default)}")
    return lines


def table_example(prefix: str, model: type[BaseModel], examples: dict[str, Any]) -> list[str]:
    """Commented ``[prefix.<key>]`` tables: each key of ``examples`` with the example's value
    of each field of ``model``, else its default; fields left unset are named in a comment."""
    lines = []
    for key, given in examples.items():
        lines.append(f"# [{prefix}.{toml_key(key)}]")
        defaults = model().model_dump(mode="json")
        unset = []
        for name, info in model.model_fields.items():
            value = given.get(name, defaults.get(name))
            comment = _description(info, info.annotation)
            if value is None:  # left unset in the example (it may exclude another key)
                unset.append(f"{name} ({comment})" if comment else name)
                continue
            shown = f"# {name} = {toml_value(value)}"
            lines.append(f"{shown:<32}# {comment}" if comment else shown)
        if unset:
            wrapped = textwrap.wrap("also: " + "; ".join(unset), WIDTH - 4, break_on_hyphens=False)
            lines += [f"#   {line}" for line in wrapped]
    return lines


def section_lines(section: str, model: type[BaseModel]) -> list[str]:
    """``[section]``, the model's one-line summary, and every key of it."""
    summary = (model.__doc__ or "").strip().split("\n\n")[0].replace("``", "`")
    lines = [f"[{section}]"] + [
        f"# {line}" for line in textwrap.wrap(summary, WIDTH - 2, break_on_hyphens=False)
    ]
    defaults = model().model_dump(mode="json")
    for name, info in model.model_fields.items():
        lines += field_lines(section, name, info, defaults.get(name))
    return lines


def starter_config() -> str:
    """The whole starter file: the header, then one table per section of Settings."""
    parts = [HEADER]
    for section, info in Settings.model_fields.items():
        model = info.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        parts.append("\n".join(section_lines(section, model)) + "\n")
    return "\n".join(parts)
