"""Wall-clock times in a zone: which instants they name where daylight saving moves the clocks."""

from __future__ import annotations

import datetime as dt


def wall_readings(naive: dt.datetime, zone: dt.tzinfo) -> tuple[dt.datetime, ...]:
    """The aware readings of a wall-clock time: one; two where clocks go back, the earlier
    first; none where they go forward over it."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return (first,)
    # In a gap a round trip through UTC lands on another wall time; in an overlap it does not.
    if first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return ()
    return (first, second)


def standard_reading(naive: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """A wall-clock time as an aware datetime, never refused: where clocks go back, the
    standard-time (else the later) reading; where they skip it, the offset before the change."""
    found = wall_readings(naive, zone)
    if not found:
        # fold=0 reads a skipped time with the offset in force before the clocks moved.
        return naive.replace(tzinfo=zone, fold=0)
    standard = [reading for reading in found if not reading.dst()]
    return standard[0] if len(standard) == 1 else found[-1]
