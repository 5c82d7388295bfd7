"""Native tests of durations.py against cutover's own examples (grammar/src/duration.rs):
`python3 -m unittest test_durations` in this directory; scripts/build-python-policy runs them."""

import unittest

from durations import DurationError, format_duration, parse_duration

SECOND = 1_000_000_000


class ParseDuration(unittest.TestCase):
    def test_reads_go_durations(self):
        for text, nanos in [("5m", 300 * SECOND), ("90s", 90 * SECOND), ("1h30m", 5400 * SECOND),
                            ("500ms", SECOND // 2), ("1.5h", 5400 * SECOND), ("0", 0),
                            ("+2s", 2 * SECOND), (".5s", SECOND // 2), ("2µs", 2_000), ("3us", 3_000)]:
            self.assertEqual(parse_duration(text), nanos, text)

    def test_refuses_what_the_host_refuses(self):
        for text in ["", "300", "-5s", "5 m", "1h30", "5M", " 5m", "s", "1.s."]:
            with self.assertRaises(DurationError, msg=text):
                parse_duration(text)


class FormatDuration(unittest.TestCase):
    def test_writes_the_shortest_form_as_the_host_does(self):
        for nanos, text in [(0, "0s"), (7, "7ns"), (1_500, "1.5us"), (250_000_000, "250ms"),
                            (1_500_000_000, "1.5s"), (300 * SECOND, "5m"), (90 * SECOND, "1m30s"),
                            (5400 * SECOND, "1h30m"), (26 * 3600 * SECOND + SECOND, "26h1s")]:
            self.assertEqual(format_duration(nanos), text, nanos)

    def test_reads_back_what_it_writes(self):
        for nanos in [1, 999, 1_001_000, 61 * SECOND + 5, 3 * 3600 * SECOND]:
            self.assertEqual(parse_duration(format_duration(nanos)), nanos)


if __name__ == "__main__":
    unittest.main()
