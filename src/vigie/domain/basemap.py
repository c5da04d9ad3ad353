"""The city's basemap (issue 24): the error its reader raises, shared by the storage that reads the file and the
service that serves its tiles. Pure: standard library only."""

from __future__ import annotations


class BasemapError(Exception):
    """A basemap file that cannot be served: the message names the file, what is wrong and how to fix it."""
