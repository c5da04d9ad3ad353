"""One plate per vehicle track: the reads of a track's frames are clustered, the best cluster wins, and the
confidence says how much the frames agree.

A car crossing a plate-reading camera's view is read on several frames, each read a little differently (a
character lost at the edge of the frame, an 8 for a B in motion blur). Reads within :attr:`TrackVoter.max_distance`
edits of a cluster's leading text join it; the cluster with the largest summed confidence wins, and within it the
text read most (by summed confidence). The voted confidence is the agreement (the winning text's share of the
track's summed confidence) times the noisy-OR of its reads' confidences (1 − Π(1 − cᵢ)): five agreeing frames are
surer than one, and two plates fighting in one track are less sure than either.

Memory is bounded (STYLE.md: every dict keyed by a track has a bound or a time to live): at most ``max_tracks``
tracks (the least recently read is finished first) and ``max_reads`` reads per track (the weakest is dropped);
:meth:`TrackVoter.expire` finishes the tracks not read for ``max_age_s``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from vigie.lpr.reader import PlateCandidate


@dataclass(frozen=True, slots=True, eq=False)
class VotedPlate:
    """The plate of one track: ``frames`` reads in all, ``votes`` of them for ``text``; ``crop`` is the plate crop
    of the most confident read of ``text``; ``first_seen``/``last_seen`` the times of the track's first and last
    read (the clock of :meth:`TrackVoter.add`)."""

    text: str
    display: str
    plate_format: str
    confidence: float
    frames: int
    votes: int
    crop: np.ndarray = field(repr=False)
    first_seen: float = 0.0
    last_seen: float = 0.0


@dataclass(slots=True)
class _Track:
    reads: list[tuple[PlateCandidate, float]] = field(default_factory=list)
    first: float = 0.0
    last: float = 0.0
    total: int = 0
    latest: str = ""
    """The text of the track's last read (:meth:`TrackVoter.add_by_text` joins reads to it)."""


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance. Written here (a dozen lines) rather than a dependency: plates are under ten characters."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


class TrackVoter:
    """Collects plate reads per track and votes one plate when the track is finished."""

    def __init__(
        self, *, max_tracks: int = 256, max_reads: int = 32, max_age_s: float = 3.0, max_distance: int = 1
    ) -> None:
        if max_tracks < 1 or max_reads < 1:
            raise ValueError("max_tracks and max_reads must be 1 or more")
        if max_age_s <= 0:
            raise ValueError(f"max_age_s must be positive, not {max_age_s}")
        self.max_tracks = max_tracks
        self.max_reads = max_reads
        self.max_age_s = max_age_s
        self.max_distance = max_distance
        self._tracks: OrderedDict[int, _Track] = OrderedDict()
        self._next_text_track = 1
        self._evicted: list[tuple[int, VotedPlate]] = []
        self.dropped = 0
        """Plates voted for tracks finished early and lost because :meth:`expire` was not called for ``max_tracks``
        of them (a caller calls it every frame; a count that grows says it does not)."""

    def __len__(self) -> int:
        return len(self._tracks)

    def add(self, track_id: int, candidate: PlateCandidate, t: float) -> None:
        """One read of ``track_id`` at time ``t`` (seconds, any monotonic origin)."""
        track = self._tracks.get(track_id)
        if track is None:
            if len(self._tracks) >= self.max_tracks:
                oldest, _ = next(iter(self._tracks.items()))
                voted = self.finish(oldest)
                if voted is not None:
                    if len(self._evicted) < self.max_tracks:
                        self._evicted.append((oldest, voted))
                    else:
                        self.dropped += 1
            track = self._tracks[track_id] = _Track(first=t, last=t)
        self._tracks.move_to_end(track_id)
        track.last = max(track.last, t)
        track.latest = candidate.text
        track.total += 1
        track.reads.append((candidate, t))
        if len(track.reads) > self.max_reads:
            weakest = min(range(len(track.reads)), key=lambda i: track.reads[i][0].confidence)
            del track.reads[weakest]

    def add_by_text(self, candidate: PlateCandidate, t: float, max_edits: int = 2) -> int:
        """One read without a vehicle track (a plate-reading camera, where motion finds regions, not vehicles): it
        joins the track read most recently, within ``max_age_s``, whose last text is within ``max_edits`` of its own
        and that has no read at ``t`` yet (two plates of one frame are two vehicles), else it starts a track.
        Returns the track's id (these ids are the voter's own: do not mix them with a tracker's on one voter).

        A box tracker does not do here: at a few frames a second a passing plate moves more than its own height
        between frames, so its boxes never overlap; and two vehicles side by side in one moving region are two
        plates, not one vehicle."""
        for track_id in reversed(self._tracks):
            track = self._tracks[track_id]
            if t - track.last >= self.max_age_s or track.last == t:
                continue
            if edit_distance(track.latest, candidate.text) <= max_edits:
                self.add(track_id, candidate, t)
                return track_id
        track_id, self._next_text_track = self._next_text_track, self._next_text_track + 1
        self.add(track_id, candidate, t)
        return track_id

    def finish(self, track_id: int) -> VotedPlate | None:
        """The voted plate of ``track_id`` (forgotten afterwards); ``None`` for a track without reads."""
        track = self._tracks.pop(track_id, None)
        if track is None or not track.reads:
            return None
        return self._vote(track)

    def expire(self, now: float) -> list[tuple[int, VotedPlate]]:
        """Finish every track not read since ``now - max_age_s`` (a vehicle that left), and hand over the tracks
        finished early because ``max_tracks`` was reached."""
        done, self._evicted = self._evicted, []
        for track_id in [k for k, tr in self._tracks.items() if now - tr.last >= self.max_age_s]:
            voted = self.finish(track_id)
            if voted is not None:
                done.append((track_id, voted))
        return done

    def _vote(self, track: _Track) -> VotedPlate:
        clusters: list[dict[str, float]] = []
        for candidate, _ in sorted(track.reads, key=lambda r: -r[0].confidence):
            home = next(
                (c for c in clusters if edit_distance(max(c, key=c.__getitem__), candidate.text) <= self.max_distance),
                None,
            )
            if home is None:
                clusters.append({candidate.text: candidate.confidence})
            else:
                home[candidate.text] = home.get(candidate.text, 0.0) + candidate.confidence
        best = max(clusters, key=lambda c: sum(c.values()))
        text = max(best, key=best.__getitem__)
        agreeing = [c for c, _ in track.reads if c.text == text]
        total = sum(c.confidence for c, _ in track.reads)
        agreement = best[text] / total if total > 0 else 0.0
        doubt = 1.0
        for c in agreeing:
            doubt *= 1.0 - min(1.0, max(0.0, c.confidence))
        top = max(agreeing, key=lambda c: c.confidence)
        return VotedPlate(
            text=text,
            display=top.display,
            plate_format=top.plate_format,
            confidence=round(agreement * (1.0 - doubt), 4),
            frames=track.total,
            votes=len(agreeing),
            crop=top.crop,
            first_seen=track.first,
            last_seen=track.last,
        )
