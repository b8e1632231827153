"""``crossdesk kb import`` / ``kb export``: a seller's FAQ kept in a spreadsheet."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from knowledge.kb import load_knowledge_base
from knowledge.kb_sheet import SheetError, read_sheet

TOPICS = {"shipping_time", "returns_policy"}


def test_a_semicolon_sheet_with_multiline_questions_becomes_a_kb(tmp_path: Path) -> None:
    sheet = tmp_path / "faq.csv"
    sheet.write_text(
        "id;language;questions;answer;topic\n"
        "versand;de;Wie lange dauert der Versand?;Zwei bis vier Werktage.;shipping_time\n"
        'ruecksendung;de;"Wie sende ich zurück?\nRücksendung?";Innerhalb von 30 Tagen.;\n',
        encoding="utf-8",
    )
    assert main(["kb", "import", str(sheet), "--into", str(tmp_path / "kb")]) == 0
    kb = load_knowledge_base(tmp_path / "kb")
    assert kb.faq["de"]["versand"].topics == ("shipping_time",)
    assert kb.faq["de"]["ruecksendung"].questions == ("Wie sende ich zurück?", "Rücksendung?")


def test_every_problem_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    sheet = tmp_path / "faq.csv"
    sheet.write_text(
        "id,language,questions,answer,topic\n"
        "ok_one,en,How long?,Two days.,shipping_time\n"
        "Bad Id,english,,,no_such_topic\n"
        "ok_one,en,Again?,Twice.,\n",
        encoding="utf-8",
    )
    with pytest.raises(SheetError) as caught:
        read_sheet(sheet, TOPICS)
    problems = caught.value.problems
    assert f"{sheet}:3: id: 'Bad Id' must be lower-case letters, digits and _" in problems
    assert f"{sheet}:3: language: 'english' must be a code like en, de, zh" in problems
    assert f"{sheet}:3: answer: empty" in problems
    assert any(p.startswith(f"{sheet}:3: topic: 'no_such_topic'") for p in problems)
    assert f"{sheet}:4: id: 'ok_one' in en is also on line 2" in problems
    assert main(["kb", "import", str(sheet), "--into", str(tmp_path / "kb")]) == 1
    assert not (tmp_path / "kb" / "faq").exists()


def test_a_sheet_without_the_columns_says_which(tmp_path: Path) -> None:
    sheet = tmp_path / "faq.csv"
    sheet.write_text("question,reply\nHow long?,Two days.\n", encoding="utf-8")
    with pytest.raises(SheetError, match="missing column\\(s\\) id, language, answer"):
        read_sheet(sheet, TOPICS)


def test_export_then_import_gives_the_same_entries(tmp_path: Path) -> None:
    from tests.knowledge.small_kb import write_small_kb

    source = write_small_kb(tmp_path / "kb")
    for name in ("faq.xlsx", "faq.csv"):
        assert main(["kb", "export", str(tmp_path / name), str(source)]) == 0
        assert main(["kb", "import", str(tmp_path / name), "--into", str(tmp_path / name[4:])]) == 0
        before, after = load_knowledge_base(source), load_knowledge_base(tmp_path / name[4:])
        for language, entries in before.faq.items():
            for entry_id, entry in entries.items():
                copy = after.faq[language][entry_id]
                assert (copy.questions, copy.answer) == (entry.questions, entry.answer)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("faq.xlsx", b"id,language,answer\nx,en,y\n", "not an Excel workbook"),
        ("faq.xlsx", b"PK\x03\x04" + b"\x00" * 64, "not an Excel workbook"),
        ("faq.csv", "id,language,answer\nx,de,Größe\n".encode("cp1252"), "not UTF-8 text"),
        ("faq.csv", b"id,language,answer\nx,en,\x00y\n", "control character U+0000"),
        ("faq.csv", b"id,language,answer\nx,en," + b"a" * 140_000 + b"\n", "longer than 5000"),
        ("faq.csv", b"id,language,answer\nx,en," + b"a" * 1_100_000 + b"\n", "not readable"),
    ],
    ids=["csv named xlsx", "broken zip", "cp1252 csv", "NUL in a cell", "140 kB cell", "1 MB cell"],
)
def test_a_sheet_that_cannot_be_read_is_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, reason: str
) -> None:
    sheet = tmp_path / name
    sheet.write_bytes(content)
    with pytest.raises(SheetError) as caught:
        read_sheet(sheet, TOPICS)
    assert [p for p in caught.value.problems if p.startswith(str(sheet)) and reason in p]
    assert main(["kb", "import", str(sheet), "--into", str(tmp_path / "kb")]) == 1
    assert reason in capsys.readouterr().err
    assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "kb" / "faq").exists()
