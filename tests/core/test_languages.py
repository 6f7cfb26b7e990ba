"""The hall's languages: business names, guide titles and the notice per language in the config, what a screen in
each language shows, and `hall check-config` saying every text a screen would show in Chinese."""
from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.core.config import language_gaps, loads
from kiosk.strings import LANGUAGES, STRINGS, isolate, tr

HALL = """
[hall]
id = "lang-hall"
name = "语言测试中心"
region = "510104000"
notice = "周六上午延时服务"
languages = ["zh", "bo", "ii"]
notices = { bo = "གཟའ་སྤེན་པའི་སྔ་དྲོ་ཞབས་ཞུ་ཡོད།" }

[[businesses]]
code = "social"
prefix = "A"
name = "社保"
names = { bo = "སྤྱི་ཚོགས་འགན་སྲུང་།", ii = "ꎸꀧ" }
guide_titles = { zh = "社会保险业务办事指南", bo = "སྤྱི་ཚོགས་འགན་སྲུང་ལམ་སྟོན།" }

[[businesses]]
code = "tax"
prefix = "C"
name = "税务"
names = { bo = "ཁྲལ་དོན།" }

[[windows]]
number = 1
combined = true
"""


def test_a_screen_shows_the_name_of_its_language_else_the_chinese_one() -> None:
    cfg = loads(HALL)
    social, tax = cfg.businesses
    assert [social.name_in(lang) for lang in ("zh", "bo", "ii", "ug")] == ["社保", "སྤྱི་ཚོགས་འགན་སྲུང་།", "ꎸꀧ", "社保"]
    assert social.guide_title_in("zh") == "社会保险业务办事指南"
    assert social.guide_title_in("ii") == "ꎸꀧ"  # no Yi guide title: its Yi name, never the Chinese title
    assert tax.guide_title_in("ii") == "税务"
    assert cfg.hall.languages == ["zh", "bo", "ii"]


def test_every_language_is_offered_unless_the_hall_says_otherwise() -> None:
    cfg = loads(HALL.replace('languages = ["zh", "bo", "ii"]\n', ""))
    assert cfg.hall.languages == list(LANGUAGES) == ["zh", "bo", "ug", "ii"]


def test_gaps_name_each_missing_text_in_the_halls_languages_only() -> None:
    gaps = language_gaps(loads(HALL))
    assert gaps == [
        "[[businesses]] #1 'social': no guide title in ꆈꌠꉙ (ii) — guide_titles.ii",
        "[[businesses]] #2 'tax': no name in ꆈꌠꉙ (ii) — names.ii; the kiosk shows '税务'",
        "[hall]: no notice in ꆈꌠꉙ (ii) — notices.ii; the kiosk shows '周六上午延时服务'",
    ]  # Uyghur is not among this hall's languages: nothing is asked of it


def test_check_config_warns_of_each_gap_and_still_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hall.toml"
    path.write_text(HALL, encoding="utf-8")
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("警告：") == 3 and "names.ii" in out and "3 处未翻译" in out
    path.write_text(HALL.replace('names = { bo = "ཁྲལ་དོན།" }', 'names = { bo = "ཁྲལ་དོན།", ii = "ꏂꃶ" }')
                    .replace('guide_titles = { zh', 'guide_titles = { ii = "ꎸꀧ ꍝꆅ", zh')
                    .replace('notices = { bo', 'notices = { ii = "ꆏꊂꃘ", bo'), encoding="utf-8")
    assert main(["check-config", str(path)]) == 0
    assert "警告" not in capsys.readouterr().out


def test_every_string_is_in_every_language() -> None:
    for key, entry in STRINGS.items():
        assert set(entry) == set(LANGUAGES), key
        for lang, text in entry.items():
            assert text.strip() or key == "list_sep", (key, lang)
            # no placeholder the Chinese does not fill (it would raise, and the Chinese would be shown instead)
            assert set(_fields(text)) <= set(_fields(entry["zh"])), (key, lang)


def _fields(text: str) -> list[str]:
    import string

    return [f for _, f, _, _ in string.Formatter().parse(text) if f]


def test_values_in_right_to_left_text_are_isolated() -> None:
    assert tr("ug", "ahead_n", n=12) == STRINGS["ahead_n"]["ug"].format(n=isolate(12))
    assert "\u2068" not in tr("bo", "ahead_n", n=12) and "\u2068" not in tr("zh", "ahead_n", n=12)
