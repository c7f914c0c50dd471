"""Imported schedules: pretalx/frab JSON and XML, Sessionize, iCalendar, and the overlay.

Every sample file in tests/data/schedules/ was written from the public specifications; each
test reads one as `check` and `ics` do and says at which instant every talk starts.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import icalendar
import pytest

from bot.cli import main
from bot.schedule import (
    Schedule,
    ScheduleError,
    detect_format,
    load_source,
    parse_overlay,
    parse_source,
)

DATA = Path(__file__).resolve().parent / "data" / "schedules"
UTC = dt.UTC


def utc(text: str) -> dt.datetime:
    """An instant written as "2026-10-24 08:00" (UTC)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def starts(schedule: Schedule) -> dict[str, dt.datetime | None]:
    return {s.id: s.start for s in schedule.sessions}


def problems_of(exc: pytest.ExceptionInfo[ScheduleError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


# --- pretalx / frab / C3VOC schedule.json ---------------------------------------------------


def test_pretalx_json_puts_every_talk_at_the_instant_it_means() -> None:
    schedule = load_source(DATA / "pretalx.json")
    assert starts(schedule) == {
        "opn7qx": utc("2026-10-24 08:00"),  # 10:00 CEST
        "lnc2mm": utc("2026-10-24 10:30"),
        # listed under Saturday, held at 01:00 on Sunday, still on summer time
        "ngt8kl": utc("2026-10-24 23:00"),
        # the day starts at +02:00, the talk is at +01:00: the clocks went back at 03:00
        "sun4aa": utc("2026-10-25 09:00"),
        # only "start": "11:30" on Sunday: read in the conference's zone, on winter time
        "105": utc("2026-10-25 10:30"),
    }
    night = schedule.session("ngt8kl")
    assert night is not None and night.end == utc("2026-10-25 00:30")  # "1:30:00"
    assert night.date == dt.date(2026, 10, 25)


def test_pretalx_json_carries_rooms_tracks_persons_abstracts_and_languages() -> None:
    schedule = load_source(DATA / "pretalx.json")
    opening = schedule.session("opn7qx")
    assert opening is not None
    assert (opening.room, opening.track, opening.language) == ("Saal 1", "Community", "en")
    assert [p.name.get("en") for p in opening.speakers] == ["Ada Example", "Jörg Mustermann"]
    assert opening.description is not None
    assert opening.description.get("en") == "Welcome, housekeeping and the weekend ahead."
    sunday = schedule.session("sun4aa")
    assert sunday is not None and sunday.language == "en"  # "EN" in the file
    assert sunday.description is not None and "clocks went back" in sunday.description.get("en")
    lunch = schedule.session("lnc2mm")
    assert lunch is not None and lunch.service and lunch.track is None
    assert schedule.event.id == "herbstcamp-2026"
    assert schedule.event.name.get("en") == "Herbstcamp 2026"
    assert (schedule.event.timezone, schedule.event.languages) == ("Europe/Berlin", ("en",))


def test_schedule2_flat_events_are_read_too() -> None:
    text = """{"schedule": {"version": "x", "conference": {"title": "Flat", "acronym": "flat26",
      "time_zone_name": "Europe/Amsterdam", "days": []},
      "events": [{"guid": "0a0b0c0d-0000-5000-8000-000000000001", "code": "FLAT01",
        "title": "Flat talk", "start": "2026-10-25T02:30:00+01:00",
        "end": "2026-10-25T03:00:00+01:00", "room": {"name": "Aula", "guid": "x"},
        "track": null, "language": null, "participants": [{"name": "Pat"}]}]}}"""
    schedule = parse_source(text, origin="flat.json")
    talk = schedule.session("flat01")
    assert talk is not None and talk.start == utc("2026-10-25 01:30")
    assert talk.room == "Aula" and [p.name.get("en") for p in talk.speakers] == ["Pat"]


@pytest.mark.parametrize("length", ["00:30", "0:30", "0:30:00", "30", "PT30M"])
def test_lengths_as_exports_write_them(length: str) -> None:
    text = (DATA / "pretalx.json").read_text(encoding="utf-8")
    schedule = parse_source(text.replace('"00:30"', f'"{length}"'), origin="pretalx.json")
    opening = schedule.session("opn7qx")
    assert opening is not None and opening.end == utc("2026-10-24 08:30")


def test_a_bad_duration_is_named_by_its_json_path() -> None:
    text = (DATA / "pretalx.json").read_text(encoding="utf-8").replace('"00:30"', '"half"')
    with pytest.raises(ScheduleError) as exc:
        parse_source(text, origin="pretalx.json")
    (problem,) = problems_of(exc)
    assert 'schedule.conference.days[0].rooms["Saal 1"][0].duration' in problem
    assert '"half" is not a length' in problem


# --- frab / pretalx schedule.xml -------------------------------------------------------------


def test_frab_xml_without_a_zone_reads_each_talks_own_offset() -> None:
    schedule = load_source(DATA / "frab.xml")
    assert starts(schedule) == {
        "2001": utc("2026-10-24 07:00"),
        "2003": utc("2026-10-24 10:00"),
        "2002": utc("2026-10-24 22:30"),  # 00:30 on Sunday, listed under Saturday
        "2004": utc("2026-10-25 09:00"),  # 10:00 CET, the day after the change
    }
    opening = schedule.session("2001")
    assert opening is not None and opening.title.get("en") == "Zahájení & welcome"
    assert [p.name.get("en") for p in opening.speakers] == ["Jana Nováková", "Petr Svoboda"]
    assert (opening.room, opening.track, opening.language) == ("Sál A", "Komunita", "cs")
    lunch = schedule.session("2003")
    assert lunch is not None and lunch.service


def test_frab_xml_with_an_overlay_dates_talks_in_the_events_zone(tmp_path: Path) -> None:
    overlay = parse_overlay("event: {timezone: Europe/Prague}\n", "frab.overlay.yaml")
    text = (DATA / "frab.xml").read_text(encoding="utf-8")
    schedule = parse_source(text, origin="frab.xml", overlay=overlay)
    midnight = schedule.session("2002")
    assert midnight is not None and midnight.date == dt.date(2026, 10, 25)
    assert midnight.start == utc("2026-10-24 22:30")


def test_xml_problems_name_the_line_of_the_event() -> None:
    text = (DATA / "frab.xml").read_text(encoding="utf-8")
    bad = text.replace("<duration>00:45</duration>", "<duration>soon</duration>")
    with pytest.raises(ScheduleError) as exc:
        parse_source(bad, origin="frab.xml")
    (problem,) = problems_of(exc)
    assert problem.startswith("frab.xml:35: ") and "duration" in problem


def test_a_billion_laughs_file_is_refused_not_expanded() -> None:
    with pytest.raises(ScheduleError) as exc:
        load_source(DATA / "billion-laughs.xml")
    (problem,) = problems_of(exc)
    assert "billion-laughs.xml:3:" in problem and "refused" in problem and "entities" in problem


def test_xml_in_the_encoding_it_declares() -> None:
    text = (DATA / "frab.xml").read_text(encoding="utf-8")
    latin = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-2"').encode("iso-8859-2")
    schedule = parse_source(latin, origin="frab.xml")
    assert schedule.event.name.get("en") == "Podzimní setkání 2026"
    assert parse_source(schedule.text, origin="(recorded)") == schedule


def test_xml_with_a_namespace_and_a_version() -> None:
    text = (DATA / "frab.xml").read_text(encoding="utf-8")
    spaced = text.replace(
        "<schedule>\n", '<schedule xmlns="https://c3voc.de/schedule">\n  <version>1.0</version>\n'
    )
    assert starts(parse_source(spaced, origin="frab.xml")) == starts(
        load_source(DATA / "frab.xml")
    )


def test_broken_xml_says_where() -> None:
    with pytest.raises(ScheduleError) as exc:
        parse_source("<schedule>\n<day>\n</schedule>", origin="x.xml")
    assert problems_of(exc)[0].startswith("x.xml:3: (syntax): not well-formed XML")


# --- Sessionize ---------------------------------------------------------------------------------


def test_sessionize_all_with_its_overlay() -> None:
    schedule = load_source(DATA / "sessionize-all.json")  # sessionize-all.overlay.yaml beside
    lunch_id = next(s.id for s in schedule.sessions if s.service)
    assert starts(schedule) == {
        "412345": utc("2026-10-31 13:00"),  # 09:00 EDT
        lunch_id: utc("2026-10-31 16:00"),
        "412346": utc("2026-11-01 04:30"),  # 00:30 EDT, before the clocks go back
        "412347": utc("2026-11-01 15:00"),  # 10:00 EST
    }
    keynote = schedule.session("412345")
    assert keynote is not None
    assert (keynote.room, keynote.track, keynote.language) == ("Main Stage", "Cloud", "en")
    # its own liveUrl wins over the room's streams; the room's serve the others there
    assert keynote.stream("es") == "https://live.example/keynote"
    sunday = schedule.session("412347")
    assert sunday is not None and sunday.stream("es") == "https://live.example/main-es"
    assert sunday.title.get("es") == "Sesión del domingo"
    demo = schedule.session("412346")
    assert demo is not None and demo.language == "es"
    assert [p.name.get("en") for p in demo.speakers] == ["Sam Lee", "Maria García"]
    assert schedule.event.name.get("es") == "Cumbre de Otoño 2026"
    assert schedule.event.languages == ("en", "es")


def test_sessionize_grid_reads_a_plenum_session_once() -> None:
    overlay = DATA / "sessionize-all.overlay.yaml"
    schedule = load_source(DATA / "sessionize-grid.json", str(overlay))
    assert [s.id for s in schedule.sessions if s.id == "412345"] == ["412345"]
    assert starts(schedule)["412347"] == utc("2026-11-01 15:00")


def test_sessionize_sessions_list_by_group() -> None:
    text = """[
      {"groupId": 90001, "groupName": "Cloud", "isDefault": false, "sessions": [
        {"id": "1", "title": "Serverless at noon", "description": null,
         "startsAt": "2026-03-29T12:00:00", "endsAt": "2026-03-29T12:45:00",
         "isServiceSession": false, "isPlenumSession": false,
         "speakers": [{"id": "a", "name": "Ana"}],
         "categories": [{"id": 1, "name": "Track",
                         "categoryItems": [{"id": 90001, "name": "Cloud"}], "sort": 0}],
         "roomId": 5, "room": "Hall A", "liveUrl": "https://live.example/a",
         "recordingUrl": null, "status": null, "isInformed": true, "isConfirmed": true},
        {"id": "2", "title": "Not scheduled yet", "startsAt": null, "endsAt": null,
         "speakers": [], "categories": []}
      ]}
    ]"""
    overlay = parse_overlay("event: {timezone: Europe/Paris}\n", "o.yaml")
    schedule = parse_source(text, origin="sessions.json", overlay=overlay)
    (talk,) = schedule.sessions  # the one without a time is not in the programme yet
    # 29 March 2026: the clocks went forward at 02:00 that morning, noon is on summer time
    assert talk.start == utc("2026-03-29 10:00") and talk.end == utc("2026-03-29 10:45")
    assert (talk.room, talk.track) == ("Hall A", "Cloud")
    assert talk.stream("en") == "https://live.example/a"


def test_sessionize_without_a_zone_says_the_overlay_must_name_it(tmp_path: Path) -> None:
    source = tmp_path / "talks.json"
    source.write_bytes((DATA / "sessionize-grid.json").read_bytes())
    with pytest.raises(ScheduleError) as exc:
        load_source(source)
    (problem,) = problems_of(exc)
    assert str(tmp_path / "talks.overlay.yaml") in problem
    assert "event.timezone" in problem and "no time zone" in problem


def test_service_sessions_are_kept_but_not_offered() -> None:
    schedule = load_source(DATA / "sessionize-all.json")
    lunch = next(s for s in schedule.sessions if s.title.get("en") == "Lunch")
    assert lunch.service and lunch.kind == "service"


# --- iCalendar ----------------------------------------------------------------------------------


def test_icalendar_custom_zone_utc_floating_and_all_day() -> None:
    schedule = load_source(DATA / "calendar.ics")  # calendar.overlay.yaml: Europe/Prague
    by_title = {s.title.get("en"): s for s in schedule.sessions}
    assert {title: s.start for title, s in by_title.items()} == {
        "Opening, and what's new in Python": utc("2026-10-24 08:00"),  # custom VTIMEZONE
        "Sunday morning on winter time": utc("2026-10-25 09:00"),
        "A talk given in UTC": utc("2026-10-24 15:00"),
        "Remote guest from London": utc("2026-10-25 09:00"),
        "Evening social (floating time)": utc("2026-10-24 17:00"),  # 19:00 in Prague
        "Sprint room open all weekend": utc("2026-10-23 22:00"),  # midnight in Prague
    }
    assert "Cancelled talk" not in by_title
    weekend = by_title["Sprint room open all weekend"]
    assert weekend.service and weekend.end == utc("2026-10-25 23:00")
    opening = by_title["Opening, and what's new in Python"]
    assert opening.room == "Hall 1" and opening.track == "Core"
    assert opening.stream("en") == "https://stream.example/hall1"  # CONFERENCE, not tel:
    sunday = by_title["Sunday morning on winter time"]
    assert sunday.stream("cs") == "https://meet.example/sunday" and sunday.room is None
    assert by_title["A talk given in UTC"].stream("en") == "https://pyprague.example/talks/utc"
    assert schedule.event.id == "prague-python-autumn"


def test_icalendar_ids_are_stable_across_imports() -> None:
    first = load_source(DATA / "calendar.ics").session_ids()
    assert first == load_source(DATA / "calendar.ics").session_ids()
    assert all(len(i) <= 32 and i == i.lower() for i in first)


def test_a_recurring_event_is_each_of_its_occurrences() -> None:
    schedule = load_source(DATA / "meetup.ics")  # no overlay: X-WR-TIMEZONE names the zone
    assert schedule.event.timezone == "Europe/Prague"
    assert [(s.start, s.title.get("en")) for s in schedule.sessions] == [
        (utc("2026-10-15 16:00"), "Python evening"),
        (utc("2026-10-22 16:00"), "Python evening"),
        (utc("2026-10-29 19:00"), "Python evening (moved to 20:00)"),  # after the change
        (utc("2026-11-05 17:00"), "Python evening"),
    ]
    assert len(set(schedule.session_ids())) == 4  # the cancelled series is never expanded
    # Before the organizer moved it, the 29 October evening had the same id: subscribers of
    # it are told it moved, not that it was cancelled and another added.
    text = (DATA / "meetup.ics").read_text(encoding="utf-8")
    moved = text.index("BEGIN:VEVENT\nUID:weekly-evening@meetups.example\nRECURRENCE-ID")
    before = text[:moved] + text[text.index("END:VEVENT\n", moved) + len("END:VEVENT\n") :]
    unmoved = parse_source(before, origin=str(DATA / "meetup.ics"))
    assert unmoved.session_ids() == schedule.session_ids()
    assert unmoved.sessions[2].start == utc("2026-10-29 17:00")


def test_floating_times_without_a_zone_need_the_overlay(tmp_path: Path) -> None:
    source = tmp_path / "feed.ics"
    source.write_bytes((DATA / "calendar.ics").read_bytes())
    with pytest.raises(ScheduleError) as exc:
        load_source(source)
    assert "event.timezone" in problems_of(exc)[0]


# --- the overlay --------------------------------------------------------------------------------


def test_overlay_problems_are_all_reported_with_their_lines() -> None:
    text = (
        "event:\n"
        "  timezone: Mars/Olympus\n"
        "  languages: [en]\n"
        "  name: {de: Fest}\n"
        "streams:\n"
        "  Saal 1: ftp://nope\n"
        "colour: red\n"
    )
    with pytest.raises(ScheduleError) as exc:
        parse_overlay(text, "o.yaml")
    assert problems_of(exc) == [
        "o.yaml:7: (top level).colour: unknown key; allowed: event, streams, sessions, exclude",
        'o.yaml:2: event.timezone: "Mars/Olympus" is not an IANA time zone; write e.g. '
        "Europe/Berlin",
        'o.yaml:4: event.name.de: "de" is not one of event.languages (en)',
        'o.yaml:6: streams.Saal 1: "ftp://nope" is not an http(s) link; write e.g. https://...',
    ]


def test_overlay_names_rooms_and_sessions_the_source_has() -> None:
    overlay = parse_overlay(
        "streams:\n  Saal 9: https://s.example/9\nsessions:\n  nope1: {exclude: true}\n"
        "exclude:\n  tracks: [Sponsors]\n",
        "o.yaml",
    )
    text = (DATA / "pretalx.json").read_text(encoding="utf-8")
    with pytest.raises(ScheduleError) as exc:
        parse_source(text, origin="pretalx.json", overlay=overlay)
    assert problems_of(exc) == [
        'o.yaml:6: exclude.tracks: the schedule has no track "Sponsors"; its tracks: '
        "Community, Hardware",
        'o.yaml:2: streams: the schedule has no room "Saal 9"; its rooms: Saal 1, Werkstatt',
        'o.yaml:4: sessions.nope1: the schedule has no session "nope1"; `summit-bot check` '
        "lists the ids",
    ]


def test_overlay_streams_exclusions_and_overrides() -> None:
    overlay = parse_overlay(
        "event: {languages: [en, de], name: {en: Autumn camp, de: Herbstcamp}}\n"
        "streams:\n"
        "  Saal 1: {en: https://s.example/en, de: https://s.example/de}\n"
        "  Werkstatt: https://s.example/werkstatt\n"
        "sessions:\n"
        "  opn7qx: {title: {en: Welcome, de: Willkommen}, service: true}\n"
        "  '105': {exclude: true}\n"
        "exclude: {tracks: [Hardware]}\n",
        "o.yaml",
    )
    text = (DATA / "pretalx.json").read_text(encoding="utf-8")
    schedule = parse_source(text, origin="pretalx.json", overlay=overlay)
    assert schedule.session_ids() == ("opn7qx", "lnc2mm", "sun4aa")
    opening = schedule.session("opn7qx")
    assert opening is not None and opening.service and opening.title.get("de") == "Willkommen"
    assert opening.stream("de") == "https://s.example/de"
    lunch = schedule.session("lnc2mm")
    assert lunch is not None and dict(lunch.streams) == {
        "en": "https://s.example/werkstatt",
        "de": "https://s.example/werkstatt",
    }


def test_a_yaml_schedule_refuses_an_overlay() -> None:
    overlay = parse_overlay("event: {timezone: UTC}\n", "o.yaml")
    text = (Path(__file__).resolve().parent.parent / "schedule.yaml").read_text("utf-8")
    with pytest.raises(ScheduleError) as exc:
        parse_source(text, origin="schedule.yaml", overlay=overlay)
    assert "o.yaml:1:" in problems_of(exc)[0]


# --- one entry point ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pretalx.json", "pretalx/frab schedule JSON"),
        ("frab.xml", "frab/pretalx schedule XML"),
        ("sessionize-all.json", "Sessionize API JSON"),
        ("sessionize-grid.json", "Sessionize API JSON"),
        ("calendar.ics", "iCalendar"),
    ],
)
def test_the_format_is_told_from_the_content(name: str, expected: str) -> None:
    assert detect_format((DATA / name).read_text(encoding="utf-8")) == expected


@pytest.mark.parametrize(
    "name", ["pretalx.json", "frab.xml", "sessionize-all.json", "calendar.ics"]
)
def test_a_recorded_version_parses_to_the_same_schedule(name: str) -> None:
    schedule = load_source(DATA / name)
    again = parse_source(schedule.text.encode("utf-8"), origin="(recorded)")
    assert again == schedule and again.text == schedule.text


def test_a_json_mistake_is_reported_as_json() -> None:
    with pytest.raises(ScheduleError) as exc:
        parse_source('{"schedule": {"conference": }}', origin="s.json")
    assert problems_of(exc)[0].startswith("s.json:1: (syntax): not valid JSON")


def test_bytes_with_a_bom_are_read() -> None:
    data = b"\xef\xbb\xbf" + (DATA / "pretalx.json").read_bytes()
    assert len(parse_source(data, origin="x.json").sessions) == 5


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pretalx.json", "format: pretalx/frab schedule JSON; 4 talks, 1 breaks"),
        ("frab.xml", "format: frab/pretalx schedule XML; 3 talks, 1 breaks"),
        ("sessionize-all.json", "format: Sessionize API JSON; 3 talks, 1 breaks"),
        ("calendar.ics", "format: iCalendar; 5 talks, 1 breaks"),
    ],
)
def test_check_says_what_it_read_and_what_an_overlay_could_add(name: str, expected: str) -> None:
    status, out, err = run("check", "--schedule", str(DATA / name))
    assert status == 0, err
    assert expected in out
    if name == "pretalx.json":
        assert "overlay could add: no livestream links: add streams per room" in out
    if name == "frab.xml":
        assert "the source names no time zone: UTC assumed" in out


def test_check_with_an_overlay_option(tmp_path: Path) -> None:
    overlay = tmp_path / "mine.yaml"
    overlay.write_text("event: {timezone: America/Chicago}\n", encoding="utf-8")
    status, out, _ = run(
        "check", "--schedule", str(DATA / "sessionize-grid.json"), "--overlay", str(overlay)
    )
    assert status == 0 and "time zone America/Chicago" in out


@pytest.mark.parametrize(
    "name", ["pretalx.json", "frab.xml", "sessionize-all.json", "calendar.ics"]
)
def test_ics_puts_every_talk_at_the_instant_the_source_means(name: str, tmp_path: Path) -> None:
    target = tmp_path / "out.ics"
    status, _, err = run("ics", "--schedule", str(DATA / name), "-o", str(target))
    assert status == 0, err
    calendar = icalendar.Calendar.from_ical(target.read_bytes())
    written = {
        str(e.get("SUMMARY")): e.get("DTSTART").dt.astimezone(UTC) for e in calendar.walk("VEVENT")
    }
    schedule = load_source(DATA / name)
    for session in schedule.sessions:
        matching = [when for title, when in written.items() if session.title.get("en") in title]
        assert session.start in matching, session.id
