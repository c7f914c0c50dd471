"""Catalogs and Babel formatting: every language complete, every instant right for its reader."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import (
    Catalog,
    catalogs,
    check_plural_forms,
    languages,
    normalize_language,
    placeholders,
    t,
)
from bot.i18n.formatting import (
    day_shift,
    format_day_shift,
    format_duration,
    format_relative,
    format_when,
    local,
    time_skeleton,
)
from bot.timezones import ZONE_NAMES

UTC = dt.UTC


def test_every_catalog_has_the_same_keys_and_placeholders() -> None:
    table = catalogs()
    reference = table["en"]
    assert set(table) >= {"en", "zh-TW"}
    for code, cat in table.items():
        assert set(cat.messages) == set(reference.messages), code
        assert set(cat.plurals) == set(reference.plurals), code
        for key, template in reference.messages.items():
            assert placeholders(cat.messages[key]) == placeholders(template), (code, key)
        for key, forms in reference.plurals.items():
            assert placeholders(cat.plurals[key]) == placeholders(forms), (code, key)
            # Every form its language's CLDR rules name, and no other.
            assert set(cat.plurals[key]) == cat.required_categories(), (code, key)


def test_counts_follow_each_languages_plural_rules() -> None:
    assert t("broadcast.queued", "en", id=7, count=1).startswith(
        "📣 Broadcast #7 is on its way: 1 message."
    )
    assert "2 messages." in t("broadcast.queued", "en", id=7, count=2)
    assert "0 messages." in t("broadcast.queued", "en", id=7, count=0)
    assert "共 1 則" in t("broadcast.queued", "zh-TW", id=7, count=1)
    assert t("changes.notices_queued", "en", count=1) == "1 notice queued for subscribers"
    assert t("changes.notices_queued", "en", count=21) == "21 notices queued for subscribers"


def test_a_count_message_without_a_count_fails_loudly() -> None:
    try:
        t("broadcast.queued", "en", id=7)
    except TypeError as exc:
        assert "count" in str(exc)
    else:
        raise AssertionError("a count message must not pick a form without a count")


def test_a_catalog_missing_a_form_its_language_needs_is_refused() -> None:
    forms = {"broadcast.queued": {"one": "x", "other": "y"}}
    cat = Catalog("cs", "čeština", "cs_CZ", (), {}, forms)
    try:
        check_plural_forms("cs.yaml", cat)
    except ValueError as exc:
        assert "cs.yaml: broadcast.queued: no few, many form" in str(exc)
    else:
        raise AssertionError("Czech counts need few and many forms too")


def test_language_names_a_viewer_may_type() -> None:
    for typed in ("zh", "zh_tw", "ZH-TW", "中文", "zh-Hant", "zh-hant-tw"):
        assert normalize_language(typed) == "zh-TW", typed
    for typed in ("en", "EN", "en-US", "english"):
        assert normalize_language(typed) == "en", typed
    assert normalize_language("klingon") is None
    assert languages()[0] == "en"


def test_missing_key_falls_back_to_english_and_unknown_key_fails_loudly() -> None:
    assert t("help.title", "xx") == t("help.title", "en")
    try:
        t("no.such.key", "en")
    except KeyError as exc:
        assert "no.such.key" in str(exc)
    else:
        raise AssertionError("an unknown key must not pass silently")


S2 = dt.datetime(2020, 8, 17, 23, 0, tzinfo=UTC)  # 07:00 Tuesday 18 August in Taipei


def test_session_two_for_readers_around_the_world() -> None:
    assert format_when(S2, "Asia/Taipei", "en") == "Tue 18 Aug, 07:00"
    assert format_when(S2, "Europe/Prague", "en") == "Tue 18 Aug, 01:00"
    assert format_when(S2, "America/Bogota", "en") == "Mon 17 Aug, 18:00"
    assert format_when(S2, "America/Bogota", "zh-TW") == "8月17日週一 18:00"
    assert day_shift(S2, "America/Bogota", "Asia/Taipei") == -1
    assert format_day_shift(-1, "en") == "-1 day"
    assert format_day_shift(1, "zh-TW") == "+1 天"
    assert format_day_shift(0, "en") == ""


def test_fixed_offset_zones_format() -> None:
    assert format_when(S2, "UTC+05:45", "en") == "Tue 18 Aug, 04:45"


def test_durations_and_countdowns() -> None:
    assert format_duration(dt.timedelta(hours=1, minutes=40), "en") == "1 hour 40 minutes"
    assert format_duration(dt.timedelta(hours=1, minutes=40), "zh-TW") == "1 小時 40 分鐘"
    now = S2 - dt.timedelta(minutes=10)
    assert format_relative(S2, now, "en") == "in 10 minutes"
    assert format_relative(S2, now, "zh-TW") == "10 分鐘後"
    assert format_relative(now, S2, "en") == "10 minutes ago"
    assert format_relative(S2, S2, "en") == "now"
    assert format_relative(S2, S2 - dt.timedelta(days=1, hours=2, minutes=5), "en") == (
        "in 1 day 2 hours"
    )


def test_daylight_saving_transition_days() -> None:
    # Europe/Berlin springs forward on 2021-03-28 and falls back on 2021-10-31.
    before = dt.datetime(2021, 3, 28, 0, 30, tzinfo=UTC)
    after = dt.datetime(2021, 3, 28, 1, 30, tzinfo=UTC)
    assert format_when(before, "Europe/Berlin", "en") == "Sun 28 Mar, 01:30"
    assert format_when(after, "Europe/Berlin", "en") == "Sun 28 Mar, 03:30"
    assert format_when(dt.datetime(2021, 10, 31, 0, 30, tzinfo=UTC), "Europe/Berlin", "en") == (
        "Sun 31 Oct, 02:30"
    )
    assert format_when(dt.datetime(2021, 10, 31, 1, 30, tzinfo=UTC), "Europe/Berlin", "en") == (
        "Sun 31 Oct, 02:30"
    )
    # America/New_York: 2021-03-14 02:00 EST becomes 03:00 EDT; 2021-11-07 falls back.
    assert format_when(dt.datetime(2021, 3, 14, 6, 59, tzinfo=UTC), "America/New_York", "en") == (
        "Sun 14 Mar, 01:59"
    )
    assert format_when(dt.datetime(2021, 3, 14, 7, 0, tzinfo=UTC), "America/New_York", "en") == (
        "Sun 14 Mar, 03:00"
    )
    assert format_when(dt.datetime(2021, 11, 7, 6, 30, tzinfo=UTC), "America/New_York", "en") == (
        "Sun 7 Nov, 01:30"
    )


ZONES = st.sampled_from([*sorted(ZONE_NAMES), "UTC+05:45", "UTC-03:30"])
INSTANTS = st.datetimes(
    min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2037, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(instant=INSTANTS, zone=ZONES, lang=st.sampled_from(languages()))
def test_any_instant_formats_in_every_locale_and_zone(
    instant: dt.datetime, zone: str, lang: str
) -> None:
    text = format_when(instant, zone, lang)
    when = local(instant, zone)
    # The hour on the language's own clock: 18:00, 6:00 PM, 오후 6:00.
    hour = when.hour if time_skeleton(lang) == "Hm" else when.hour % 12 or 12
    assert text and re.search(rf"(?<!\d)0?{hour}:{when:%M}(?!\d)", text), text


@settings(max_examples=200, deadline=None)
@given(instant=INSTANTS, zone=ZONES)
def test_an_instant_is_the_same_whatever_zone_shows_it(instant: dt.datetime, zone: str) -> None:
    # Compared as timestamps: Python calls a wall time in a repeated hour (fold=1) unequal
    # to every instant of another zone (PEP 495), though it is the same instant.
    assert local(instant, zone).timestamp() == instant.timestamp()
    assert local(instant, zone).astimezone(UTC) == instant
