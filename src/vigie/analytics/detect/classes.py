"""COCO class indices → Vigie's ``ObjectClass``; every other COCO class is dropped on purpose.

Vigie only needs what the legal catalogue's modules reason about (people, vehicles, things that can be left
behind). Dropping the rest early keeps NMS and tracking cheap and avoids storing detections nobody may use.
"""

from __future__ import annotations

import numpy as np

from vigie.domain.detections import IntArray, ObjectClass

COCO_TO_VIGIE: dict[int, ObjectClass] = {
    0: ObjectClass.PERSON,
    1: ObjectClass.BICYCLE,
    2: ObjectClass.CAR,
    3: ObjectClass.MOTORCYCLE,
    5: ObjectClass.BUS,
    7: ObjectClass.TRUCK,
    24: ObjectClass.BAG,  # backpack
    26: ObjectClass.BAG,  # handbag
    28: ObjectClass.BAG,  # suitcase
}
"""Index in the standard 80-class COCO order (``coco.names``) → Vigie class."""

_DROPPED = -1


def coco_lookup(num_classes: int) -> IntArray:
    """A table ``t`` with ``t[coco_id]`` = Vigie class id, or -1 for classes Vigie drops."""
    table = np.full(max(num_classes, 1), _DROPPED, np.int32)
    for coco_id, vigie in COCO_TO_VIGIE.items():
        if coco_id < num_classes:
            table[coco_id] = int(vigie)
    return table


def kept_coco_ids(wanted: frozenset[ObjectClass] | None, num_classes: int) -> IntArray:
    """COCO ids worth decoding: those mapped to a Vigie class, restricted to ``wanted`` when given."""
    ids = [c for c, v in COCO_TO_VIGIE.items() if c < num_classes and (wanted is None or v in wanted)]
    return np.asarray(sorted(ids), np.int32)
