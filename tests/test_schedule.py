"""The schedule: the summit as data, and a loader that names file, line and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.schedule import Problem, ScheduleError, load_schedule, parse_schedule

ROOT = Path(__file__).resolve().parent.parent
UTC = dt.UTC

GOOD = """\
event:
  id: demo
  name: {en: Demo, zh-TW: 示範}
  organizer: {en: Org, zh-TW: 主辦}
  timezone: Asia/Taipei
  languages: [en, zh-TW]
sessions:
  - id: a
    title: {en: A, zh-TW: 甲}
    date: 2020-08-13
    start: "17:00"
    end: "18:40"
    streams: {en: "https://example.org/a"}
"""


def problems(text: str) -> list[Problem]:
    """The problems the loader reports for `text`."""
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text, "schedule.yaml")
    return list(caught.value.problems)


def one_problem(text: str) -> Problem:
    """The single problem reported for `text`."""
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def test_the_summit_schedule_has_three_sessions_and_three_forums() -> None:
    schedule = load_schedule(ROOT / "schedule.yaml")
    assert schedule.event.timezone == "Asia/Taipei"
    assert set(schedule.event.languages) == {"en", "zh-TW"}
    assert schedule.session_ids() == ("s1", "s2", "s3", "ctalk1", "ctalk2", "ctalk3")
    s1, s2, s3 = (schedule.session(i) for i in ("s1", "s2", "s3"))
    assert s1 and s2 and s3
    assert (s1.start, s1.end) == (
        dt.datetime(2020, 8, 13, 9, 0, tzinfo=UTC),
        dt.datetime(2020, 8, 13, 10, 40, tzinfo=UTC),
    )
    # 07:00 Tuesday in Taipei is still Monday in UTC.
    assert s2.start == dt.datetime(2020, 8, 17, 23, 0, tzinfo=UTC)
    assert s2.end == dt.datetime(2020, 8, 18, 0, 30, tzinfo=UTC)
    assert s3.start == dt.datetime(2020, 8, 19, 9, 0, tzinfo=UTC)
    assert s1.stream("en") == "https://youtu.be/b0fWeY_5sLk"
    assert s1.stream("zh-TW") == "https://youtu.be/5B_aKaTUu3k"
    assert s2.streams == () and s3.streams == ()
    assert [len(s.speakers) for s in (s1, s2, s3)] == [8, 8, 7]
    cities = {p.city.get("en") for s in (s1, s2, s3) for p in s.speakers}
    assert {"Prague", "Medellín", "Wellington", "Palmerston North", "Da Nang"} <= cities
    for forum, day in zip(("ctalk1", "ctalk2", "ctalk3"), (22, 23, 24), strict=True):
        session = schedule.session(forum)
        assert session and session.start is None and session.date == dt.date(2020, 9, day)


def test_every_viewer_text_exists_in_both_languages() -> None:
    schedule = load_schedule(ROOT / "schedule.yaml")
    for session in schedule.sessions:
        assert session.title.languages() == {"en", "zh-TW"}
        for person in (*session.speakers, *([session.host] if session.host else [])):
            for value in (person.role, person.city, person.country):
                assert value.languages() == {"en", "zh-TW"}


def test_yaml_syntax_error_names_the_line() -> None:
    bad = GOOD.replace('    end: "18:40"', '    end: "18:40\n')
    problem = one_problem(bad)
    assert problem.file == "schedule.yaml" and problem.field == "(syntax)"
    assert problem.line >= 12


def test_unknown_key_is_named_with_its_line() -> None:
    problem = one_problem(
        GOOD.replace("    date: 2020-08-13", "    dat: 2020-08-13\n    date: 2020-08-13")
    )
    assert (problem.line, problem.field) == (10, "sessions[0].dat")
    assert "unknown key" in problem.message and "date" in problem.message


def test_missing_field() -> None:
    problem = one_problem(GOOD.replace('    start: "17:00"\n', ""))
    assert problem.field == "sessions[0].start" and "required" in problem.message
    assert problem.line == 8


def test_unknown_time_zone() -> None:
    problem = one_problem(GOOD.replace("Asia/Taipei", "Asia/Taipie"))
    assert (problem.line, problem.field) == (5, "event.timezone")
    assert "Asia/Taipie" in problem.message and "Asia/Taipei" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "field", "line"),
    [
        ("2020-08-13", "2020-13-45", "sessions[0].date", 10),
        ("2020-08-13", "13/08/2020", "sessions[0].date", 10),
        ('"17:00"', '"25:00"', "sessions[0].start", 11),
        ('"18:40"', "6pm", "sessions[0].end", 12),
    ],
)
def test_malformed_date_or_time(old: str, new: str, field: str, line: int) -> None:
    problem = one_problem(GOOD.replace(old, new))
    assert (problem.line, problem.field) == (line, field)
    assert new.strip('"') in problem.message and "e.g." in problem.message


def test_unquoted_time_is_read_as_a_time_not_a_number() -> None:
    # YAML 1.1 reads 17:00 as the number 1020; the loader must read the text.
    schedule = parse_schedule(GOOD.replace('"17:00"', "17:00").replace('"18:40"', "18:40"))
    assert schedule.sessions[0].start == dt.datetime(2020, 8, 13, 9, 0, tzinfo=UTC)


def test_an_end_at_the_start_is_refused_and_an_earlier_one_is_the_next_day() -> None:
    problem = one_problem(GOOD.replace('"18:40"', '"17:00"'))
    assert (problem.line, problem.field) == (12, "sessions[0].end")
    assert "no length" in problem.message
    overnight = parse_schedule(GOOD.replace('"18:40"', '"16:00"')).sessions[0]
    assert overnight.end == dt.datetime(2020, 8, 14, 8, 0, tzinfo=UTC)  # 16:00 the next day


def test_duplicate_ids() -> None:
    second = GOOD.split("sessions:\n")[1]
    problem = one_problem(GOOD + second)
    assert problem.field == "sessions[1].id" and problem.line == 14
    assert "line 8" in problem.message


def test_stream_url_must_be_http() -> None:
    problem = one_problem(GOOD.replace("https://example.org/a", "ftp://example.org/a"))
    assert (problem.line, problem.field) == (13, "sessions[0].streams.en")
    assert "http" in problem.message


def test_language_not_among_the_events() -> None:
    problem = one_problem(GOOD.replace('{en: "https', '{fr: "https'))
    assert (problem.line, problem.field) == (13, "sessions[0].streams.fr")
    assert "en, zh-TW" in problem.message


def test_text_missing_a_language() -> None:
    problem = one_problem(GOOD.replace("title: {en: A, zh-TW: 甲}", "title: {en: A}"))
    assert (problem.line, problem.field) == (9, "sessions[0].title.zh-TW")


def test_every_problem_is_reported_at_once() -> None:
    bad = GOOD.replace("Asia/Taipei", "Mars/Base").replace('"18:40"', '"99:99"')
    fields = {p.field for p in problems(bad)}
    assert fields == {"event.timezone", "sessions[0].end"}


def test_time_to_be_announced_and_link_to_be_announced() -> None:
    text = GOOD.replace('start: "17:00"\n    end: "18:40"', "start: tba").replace(
        'streams: {en: "https://example.org/a"}', "streams: tba"
    )
    session = parse_schedule(text).sessions[0]
    assert session.start is None and session.end is None and session.streams == ()
    assert session.date == dt.date(2020, 8, 13)


def test_a_time_inside_a_daylight_saving_gap_is_refused() -> None:
    text = GOOD.replace("Asia/Taipei", "Europe/Berlin").replace("2020-08-13", "2020-03-29")
    problem = one_problem(text.replace('"17:00"', '"02:30"'))
    assert problem.field == "sessions[0].start" and "does not exist" in problem.message


def test_a_time_that_happens_twice_when_clocks_go_back_is_refused() -> None:
    text = GOOD.replace("Asia/Taipei", "Europe/Berlin").replace("2020-08-13", "2020-10-25")
    problem = one_problem(text.replace('"17:00"', '"02:30"').replace('"18:40"', '"03:30"'))
    assert problem.field == "sessions[0].start" and "happens twice" in problem.message


def test_times_either_side_of_a_daylight_saving_change_are_read_in_their_offset() -> None:
    text = GOOD.replace("Asia/Taipei", "Europe/Berlin").replace("2020-08-13", "2020-03-29")
    session = parse_schedule(text.replace('"17:00"', '"01:30"').replace('"18:40"', '"03:30"'))
    start, end = session.sessions[0].start, session.sessions[0].end
    assert start == dt.datetime(2020, 3, 29, 0, 30, tzinfo=UTC)  # CET, UTC+1
    assert end == dt.datetime(2020, 3, 29, 1, 30, tzinfo=UTC)  # CEST, UTC+2


def test_missing_file_is_a_schedule_error(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError) as caught:
        load_schedule(tmp_path / "nope.yaml")
    assert "no such file" in str(caught.value)


def test_shifted_schedule_keeps_durations() -> None:
    schedule = load_schedule(ROOT / "schedule.yaml")
    moved = schedule.shifted(dt.timedelta(days=3, minutes=30))
    for before, after in zip(schedule.sessions, moved.sessions, strict=True):
        if before.start and before.end and after.start and after.end:
            assert after.start - before.start == dt.timedelta(days=3, minutes=30)
            assert after.end - after.start == before.end - before.start
