"""The one place numbers become words (pure: no Django)."""

from datetime import datetime, timedelta, timezone

import pytest

from studio import humanize

NOW = datetime(2026, 12, 1, 14, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("seconds, text", [
    (None, ""), (0, "0 ms"), (0.004, "4 ms"), (0.42, "420 ms"), (3.24, "3.2 s"), (42, "42 s"),
    (60, "1 min"), (125, "2 min 05 s"), (3600, "1 h"), (3 * 3600 + 7 * 60, "3 h 07 min"), (-5, "0 ms"),
])
def test_it_says_durations_the_same_way_everywhere(seconds, text):
    assert humanize.duration(seconds) == text


@pytest.mark.parametrize("size, text", [
    (0, "0 bytes"), (512, "512 bytes"), (1536, "1.5 KiB"), (20 * 1024 ** 2, "20.0 MiB"), (3 * 1024 ** 4, "3.0 TiB"),
])
def test_it_says_sizes_in_binary_units(size, text):
    assert humanize.human_size(size) == text


def test_it_counts_things():
    assert humanize.plural(1, "job") == "1 job"
    assert humanize.plural(0, "job") == "0 jobs"
    assert humanize.plural(2, "eviction") == "2 evictions"
    assert humanize.plural(2, "child", "children") == "2 children"


@pytest.mark.parametrize("value, text", [
    (0.7290000000000001, "0.729"), (3, "3"), (3.0, "3"), (float("nan"), "NaN"), (float("inf"), "Infinity"),
    (float("-inf"), "-Infinity"), (12345678.9, "1.235e+07"), (None, ""), (0.000012345, "1.234e-05"),
])
def test_it_shows_metric_values_as_people_read_them(value, text):
    assert humanize.number(value) == text


def test_it_says_when_a_moment_is():
    assert humanize.moment_from_now(NOW + timedelta(seconds=45), NOW) == "in about 45 s (14:00:45 UTC)"
    assert humanize.moment_from_now(NOW + timedelta(minutes=4, seconds=10), NOW) == "in about 4 min (14:04 UTC)"
    assert humanize.moment_from_now(NOW - timedelta(minutes=2), NOW) == "2 min ago (13:58 UTC)"
    assert humanize.moment_from_now(NOW, NOW) == "now (14:00:00 UTC)"
