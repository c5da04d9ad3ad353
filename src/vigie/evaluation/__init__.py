"""Offline evaluation of detectors and trackers on MOTChallenge-format sequences (any sequence in that layout)."""
