"""Stand-in for the `ddsketch` package: see ddsketch.py."""

from .ddsketch import DDSketch  # noqa: F401
