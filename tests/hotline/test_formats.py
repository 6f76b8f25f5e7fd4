"""The bilingual format catalog: every string in both languages, every message renders fully in both."""

import re

import pytest

from airrc.hotline.formats import HotlineFormatError, country_name, load_formats, render, validate_fields

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
REQUIRED_FORMATS = {
    "CI_ATTACK_NOTICE",
    "ASSISTANCE_REQUEST",
    "CLARIFICATION_REQUEST",
    "INFORMATION_RESPONSE",
    "ACTIVITY_PRENOTIFICATION",
    "STATUS_UPDATE",
    "DEESCALATION_NOTICE",
    "LINK_TEST",
    "FREE_TEXT",
}
REF = "00000000-0000-4000-8000-00000000000a"
SAMPLES = {
    "CI_ATTACK_NOTICE": {
        "sector": "energy_power_grid",
        "country": "SG",
        "started_at": "2026-11-22T13:05:00Z",
        "ai_involvement": "suspected",
        "impact": "outage",
        "request": "containment",
        "location": {"en": "Substation North-7", "zh": "北7号变电站"},
    },
    "ASSISTANCE_REQUEST": {
        "sector": "health",
        "assistance": "forensic_analysis",
        "needed_within": 5400,
        "details": {"text": "Voice-clone calls to the hospital switchboard", "lang": "en"},
    },
    "CLARIFICATION_REQUEST": {"about": REF, "topic": "attribution"},
    "INFORMATION_RESPONSE": {
        "in_reply_to": REF,
        "confidence": "medium",
        "answer": {"en": "The model was fine-tuned abroad.", "zh": "该模型在境外经过微调。"},
    },
    "ACTIVITY_PRENOTIFICATION": {
        "activity": "ai_red_team_exercise",
        "sector": "finance",
        "country": "CN",
        "starts_at": "2026-12-01T00:00:00Z",
        "lasts": 3 * 86400 + 3600,
    },
    "STATUS_UPDATE": {"about": REF, "status": "contained"},
    "DEESCALATION_NOTICE": {"measure": "systems_isolated", "effective_at": "2026-11-22T14:00:00Z"},
    "LINK_TEST": {"sequence": 42},
    "FREE_TEXT": {"text": {"text": "请确认收到", "lang": "zh"}},
}


def test_all_required_formats_exist():
    assert set(load_formats().formats) >= REQUIRED_FORMATS
    assert len(load_formats().digest) == 64


@pytest.mark.parametrize(
    ("where", "text"), load_formats().texts(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_every_string_is_bilingual(where, text):
    assert text.en.strip(), where
    assert text.zh.strip(), where
    assert CJK.search(text.zh), f"{where}: Chinese text has no CJK characters"
    assert text.zh != text.en, f"{where}: Chinese equals English"


@pytest.mark.parametrize("format_id", sorted(REQUIRED_FORMATS))
def test_every_format_renders_fully_in_both_languages(format_id):
    catalog = load_formats()
    en = render(catalog, format_id, SAMPLES[format_id], "en")
    zh = render(catalog, format_id, SAMPLES[format_id], "zh")
    fmt = catalog.format(format_id)
    assert en.startswith(f"[{catalog.precedences[fmt.precedence].en}] {fmt.title.en}")
    assert zh.startswith(f"[{catalog.precedences[fmt.precedence].zh}] {fmt.title.zh}")
    for name in SAMPLES[format_id]:
        assert fmt.fields[name].label.en in en
        assert fmt.fields[name].label.zh in zh
    assert CJK.search(zh)


def test_rendering_examples():
    catalog = load_formats()
    zh = render(catalog, "CI_ATTACK_NOTICE", SAMPLES["CI_ATTACK_NOTICE"], "zh")
    assert "能源与电网" in zh
    assert "新加坡 (SG)" in zh
    assert "服务中断" in zh
    en = render(catalog, "ASSISTANCE_REQUEST", SAMPLES["ASSISTANCE_REQUEST"], "en")
    assert "1 h 30 min" in en
    zh2 = render(catalog, "ASSISTANCE_REQUEST", SAMPLES["ASSISTANCE_REQUEST"], "zh")
    assert "1小时30分钟" in zh2
    assert "仅以英文撰写" in zh2
    assert "written in Chinese only" in render(catalog, "FREE_TEXT", SAMPLES["FREE_TEXT"], "en")
    assert country_name("US", "zh") == "美国"


@pytest.mark.parametrize(
    ("format_id", "fields", "code"),
    [
        ("NO_SUCH_FORMAT", {}, "hotline.unknown_format"),
        ("LINK_TEST", {}, "hotline.missing_field"),
        ("LINK_TEST", {"sequence": 1, "extra": 2}, "hotline.unknown_field"),
        ("LINK_TEST", {"sequence": "one"}, "hotline.bad_field"),
        ("STATUS_UPDATE", {"about": REF, "status": "exploded"}, "hotline.bad_field"),
        ("CI_ATTACK_NOTICE", {**SAMPLES["CI_ATTACK_NOTICE"], "country": "XX"}, "hotline.bad_field"),
        (
            "CI_ATTACK_NOTICE",
            {**SAMPLES["CI_ATTACK_NOTICE"], "started_at": "2026-11-22 13:05"},
            "hotline.bad_field",
        ),
        ("CI_ATTACK_NOTICE", {**SAMPLES["CI_ATTACK_NOTICE"], "sector": "space"}, "hotline.bad_field"),
        ("FREE_TEXT", {"text": "no language given"}, "hotline.bad_field"),
        ("FREE_TEXT", {"text": {"text": "x", "lang": "fr"}}, "hotline.bad_field"),
        ("FREE_TEXT", {"text": {"en": "only English"}}, "hotline.bad_field"),
        ("ASSISTANCE_REQUEST", {**SAMPLES["ASSISTANCE_REQUEST"], "needed_within": -5}, "hotline.bad_field"),
        ("CLARIFICATION_REQUEST", {"about": "not-an-id", "topic": "scope"}, "hotline.bad_field"),
    ],
)
def test_bad_fields_are_refused_with_codes(format_id, fields, code):
    with pytest.raises(HotlineFormatError) as err:
        validate_fields(load_formats(), format_id, fields)
    assert err.value.code == code


def test_refusals_teach_the_valid_values():
    catalog = load_formats()
    with pytest.raises(HotlineFormatError) as sector:
        validate_fields(catalog, "CI_ATTACK_NOTICE", {**SAMPLES["CI_ATTACK_NOTICE"], "sector": "power"})
    assert "energy_power_grid" in sector.value.message
    with pytest.raises(HotlineFormatError) as field:
        validate_fields(catalog, "LINK_TEST", {"sequence": 1, "extra": 2})
    assert "sequence" in field.value.message.split("fields:")[1]
