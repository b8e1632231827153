"""A run of letters longer than any word is cut before the readers that pay per character."""

from __future__ import annotations

from knowledge.long_words import LONGEST_WORD, cut_long_words
from knowledge.retrieval import features


def test_a_run_longer_than_any_word_is_cut_to_its_first_letters() -> None:
    blob = "QUJD" * 10_000
    assert cut_long_words(f"hello {blob} world") == f"hello {blob[:LONGEST_WORD]} world"
    assert cut_long_words("x" * 41) == "x" * LONGEST_WORD


def test_words_and_scripts_written_without_spaces_are_left_whole() -> None:
    german = "Donaudampfschifffahrtsgesellschaftskapitän"[:LONGEST_WORD]
    thai = "สวัสดีครับผมสั่งโคมไฟเมื่อสามสัปดาห์ก่อนแต่ยังไม่ได้รับเลยครับ"
    chinese = (
        "您好我三个星期前在你们店里买了一盏台灯到现在还没有收到"
        "请帮我查一下物流信息谢谢您的帮助祝您生活愉快"
    )
    for text in (german, thai, chinese, f"{thai} {chinese}", "où est ma commande ?"):
        assert cut_long_words(text) == text
    assert len(thai) > LONGEST_WORD and len(chinese) > LONGEST_WORD


def test_the_lexical_index_reads_a_long_run_as_its_first_letters() -> None:
    assert features("z" * 40_000, "en") == features("z" * LONGEST_WORD, "en")
