"""Vigie: a video-protection platform whose analysis is off by default and governed by law."""

__version__ = "0.1.0"
