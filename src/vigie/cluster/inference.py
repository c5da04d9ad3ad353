"""One inference service per cluster node, shared by every analysis group that runs there (``cluster.inference``:
``auto``, the default, on nodes with a GPU; ``node`` on every node).

On one host an analysis process holds one session per model for all its cameras
(:class:`~vigie.analytics.detect.batching.SharedDetectors`). On a cluster node with several analysis groups (each
its own Ray actor, its own process), that would be one copy of the model and one small batch per group; a GPU wants
one copy and large batches. So each node gets one Ray actor, :class:`InferenceService`, holding the project's own
``SharedDetectors``: its ``BatchingDetector`` merges the frames of every group of the node into the model's batches.
The groups keep their own ``SharedDetectors`` and per-camera ``BatchingDetector`` (the same overload policy as on
one host); only what loads a model changes — :class:`NodeInference` is the loader (``SharedDetectors(load=...)``)
that, instead of an ``OnnxDetector`` in the group's process, returns a :class:`ServiceDetector` calling the node's
service.

Promises:

- **One service per node, on that node.** It is named after the node (``vigie-inference-<node id>``) in the
  installation's namespace and pinned to the node (``NodeAffinitySchedulingStrategy``, not soft); the first group of
  a node creates it (``get_if_exists``: two groups starting at once get the same one). It asks Ray for no CPU or GPU:
  the groups hold the node's resources (a group's ``GPU: 0.25`` is its share of the card, used on its behalf by the
  service), so a node filled by its groups can always start its service. It sees the node's GPUs (Ray does not hide
  them from it), and runs on the first provider of ``workers.detector.providers`` onnxruntime offers there: CUDA on
  a GPU node, the CPU elsewhere.
- **A frame is refused, never queued without end.** A call the service does not answer within the group's
  ``timeout_s`` (default 2 s), a service restarting or gone: the frames are refused (``DetectorOverloaded``) and
  each camera counts them as dropped, as with a full waiting room on one host; the camera's stream goes on.
- **The service dies, Ray restarts it** (``max_restarts=-1``, on the same node): frames in flight meanwhile are
  dropped; the restarted service loads each model again at the first frame that needs it, with the same hash check
  (a file changed meanwhile is refused: logged there, the frames dropped, never inferred with it).
  A service ended for good (killed by hand) is looked up again once a second by its groups, and the first one to
  look starts a new one.
- **L30 holds through the service.** A model is asked for by its approved SHA-256 (:class:`ModelKey`); the service
  hashes the file at every group's load (and loads the very bytes it hashed): a changed file is refused to that group
  — ``ModelIntegrityError`` in the group, audited per camera as ``model.refused`` — and no session is built for it.
- **Lifetime.** The service is detached (a group that created it may restart without taking its neighbours'
  inference down); the control plane ends the services of its namespace when it stops (:func:`end_services`). After
  an unclean end of the control plane, the next start finds and reuses them (each group's load hashes the file again).

Not Ray Serve (``@serve.batch``): the batching policy Vigie needs is the project's own (bounded waiting room,
refusals counted), already written and tested in :mod:`vigie.analytics.detect.batching`; a plain actor carries it with
no HTTP proxy or controller to deploy on every node.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vigie.analytics.detect.batching import (
    BatchDetector,
    DetectorOverloaded,
    Image,
    ModelKey,
    SharedDetectors,
    SharedDetectorSettings,
)
from vigie.analytics.detect.onnx import ModelIntegrityError, OnnxDetector, OnnxDetectorConfig
from vigie.domain.detections import Detections

log = logging.getLogger(__name__)

SERVICE_PREFIX = "vigie-inference-"
LOAD_TIMEOUT_S = 60.0
"""Longest a group waits for its node's service to start and load a model (a first start imports onnxruntime and
reads the file; a GPU session takes seconds to build)."""
MAX_CONCURRENCY = 64
"""Calls the service runs at once (threads of the actor): every group's batches of a node in flight together, merged
by the service's batching detector. Beyond, a call waits in Ray's queue until the caller's timeout refuses it."""


RECONNECT_EVERY_S = 1.0
"""After the service was seen dead, how often a group looks it up again (frames are refused meanwhile)."""


def service_name(node_id: str) -> str:
    return f"{SERVICE_PREFIX}{node_id}"


@dataclass(frozen=True, slots=True)
class Refusal:
    """The service's answer when a model file is not the approved one (sent as data: the exception's own
    constructor does not survive pickling)."""

    path: str
    expected: str
    found: str


@dataclass(frozen=True, slots=True)
class ServiceStats:
    """What a node's service has done since it (re)started."""

    node_id: str
    pid: int
    """The service's process on its node."""
    sessions_built: int
    """Models loaded (one per :class:`ModelKey`, whatever the number of groups)."""
    frames: int
    calls: int
    """Model runs (``detect_batch`` calls of the sessions)."""
    requests: int
    """Calls received from the groups."""
    refused: int
    timed_out: int


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class InferenceService:
    """A node's inference service (the Ray actor's class, made with ``ray.remote``; threaded: ``max_concurrency``)."""

    def __init__(self, settings: SharedDetectorSettings) -> None:
        import ray

        self._detectors = SharedDetectors(settings)
        self._node_id = str(ray.get_runtime_context().get_node_id())
        self._requests = 0

    def load(self, key: ModelKey) -> Refusal | None:
        """Load ``key``'s model (once for the node) for a group starting; the file is hashed again for each group
        (L30): a file changed since its approval is refused to the group, and not loaded."""
        if key.sha256 is not None and key.path.is_file():
            found = _hash(key.path)
            if found != key.sha256:
                log.error("inference service: %s refused: SHA-256 %s, approved %s", key.path, found, key.sha256)
                return Refusal(str(key.path), key.sha256, found)
        try:
            self._detectors.get(key)  # hashes the bytes it loads (OnnxDetector): no swap between check and load
        except ModelIntegrityError as err:
            return Refusal(str(err.path), err.expected, err.found)
        return None

    def detect_batch(self, key: ModelKey, frames: Sequence[Image]) -> list[Detections]:
        """The detections of a group's frames, in batches with the other groups' frames of the node. A model not
        loaded yet (the service restarted) is loaded first, hash checked."""
        self._requests += 1  # a racy count is good enough for a statistic
        try:
            shared = self._detectors.get(key)
        except ModelIntegrityError as err:  # changed since the group's load, found at a reload (restart): L30
            log.error("inference service: %s", err)
            raise DetectorOverloaded(f"model refused by the node's inference service: {err}") from None
        return shared.detect_batch(frames)

    def stats(self) -> ServiceStats:
        batching = [detector.stats for detector in self._detectors.detectors().values()]
        return ServiceStats(
            node_id=self._node_id,
            pid=os.getpid(),
            sessions_built=self._detectors.sessions_built,
            frames=sum(s.frames for s in batching),
            calls=sum(s.calls for s in batching),
            requests=self._requests,
            refused=sum(s.refused for s in batching),
            timed_out=sum(s.timed_out for s in batching),
        )


class ServiceDetector:
    """A group's view of one model of its node's service (the ``BatchDetector`` its ``BatchingDetector`` calls).

    No ``batch_size``: the group sends whole batches of its cameras' frames, the service cuts them to the model's."""

    def __init__(
        self, service: Any, key: ModelKey, timeout_s: float, reconnect: Callable[[], Any] | None = None
    ) -> None:
        """``reconnect``: finds the node's service again (or starts one) after it was lost for good."""
        self._service = service
        self.key = key
        self._timeout_s = timeout_s
        self._reconnect = reconnect
        self._lost_at: float | None = None

    def detect_batch(self, frames: Sequence[Image]) -> list[Detections]:
        """Raises ``DetectorOverloaded`` when the service does not answer in time or is unavailable (restarting,
        lost): the frames are dropped, never retried one by one."""
        import ray
        from ray.exceptions import ActorDiedError, GetTimeoutError, RayError, RayTaskError

        if self._lost_at is not None and self._reconnect is not None:
            if time.monotonic() - self._lost_at < RECONNECT_EVERY_S:
                raise DetectorOverloaded("the node's inference service was lost; frames dropped until it is back")
            self._lost_at = None
            try:  # the same service while Ray restarts it; a new one if it ended for good (killed, restarts spent)
                self._service = self._reconnect()
            except RayError as err:
                self._lost_at = time.monotonic()
                raise DetectorOverloaded(f"the node's inference service cannot be reached ({err})") from None
        ref = self._service.detect_batch.remote(self.key, [np.asarray(f) for f in frames])
        try:
            result: list[Detections] = ray.get(ref, timeout=self._timeout_s)
        except GetTimeoutError:
            try:
                ray.cancel(ref)  # still queued at the service: not run for nobody
            except Exception as err:  # best effort: a task already running finishes, its answer unread
                log.debug("cancelling an inference call failed: %s", err)
            raise DetectorOverloaded(
                f"no answer from the node's inference service within {self._timeout_s:g} s; frames dropped"
            ) from None
        except RayTaskError as err:
            cause = err.cause
            if isinstance(cause, Exception) and not isinstance(cause, RayError):
                raise cause from None  # the service's own verdict on these frames (overloaded, unreadable frame)
            raise DetectorOverloaded(f"the node's inference service failed ({type(cause).__name__})") from None
        except RayError as err:  # dead, restarting, unreachable
            if isinstance(err, ActorDiedError):
                self._lost_at = time.monotonic()
            raise DetectorOverloaded(
                f"the node's inference service is unavailable ({type(err).__name__}); frames dropped"
            ) from None
        return result


@dataclass(frozen=True, slots=True)
class NodeInference:
    """The loader of an analysis group's ``SharedDetectors`` in cluster mode (picklable: it travels in the group's
    spec): a model is loaded by the service of the node the group runs on, created there if it has none yet."""

    namespace: str
    settings: SharedDetectorSettings = field(default_factory=SharedDetectorSettings)
    """How the service runs its sessions (the configuration's ``workers.detector``)."""
    max_concurrency: int = MAX_CONCURRENCY
    gpu_nodes_only: bool = False
    """``cluster.inference: auto``: the node's service only on a node with a GPU; on a CPU-only node the group loads
    its own session (on CPU, the service is slower: frames cross processes and one process's GIL serialises the
    pre- and post-processing the groups would run in parallel; docs/cluster.md)."""

    def __call__(self, config: OnnxDetectorConfig) -> BatchDetector:
        """Raises ``ModelIntegrityError`` when the file is not the approved one (L30), ``DetectorOverloaded`` when
        the service could not be reached in time (the camera retries at its restart)."""
        import ray
        from ray.exceptions import GetTimeoutError, RayError, RayTaskError

        node = str(ray.get_runtime_context().get_node_id())
        if self.gpu_nodes_only and not node_has_gpu(node):
            return OnnxDetector(config)
        key = ModelKey(config.model_path, config.format, config.score_threshold, config.sha256)
        service = self.service(node)
        try:
            refusal: Refusal | None = ray.get(service.load.remote(key), timeout=LOAD_TIMEOUT_S)
        except RayTaskError as err:
            if isinstance(err.cause, Exception) and not isinstance(err.cause, RayError):
                raise err.cause from None  # as a local load would raise it (a missing or malformed file)
            raise DetectorOverloaded(f"the node's inference service did not load {key.path.name}") from None
        except (GetTimeoutError, RayError) as err:
            raise DetectorOverloaded(
                f"the node's inference service did not load {key.path.name} ({type(err).__name__})"
            ) from None
        if refusal is not None:
            raise ModelIntegrityError(key.path, refusal.expected, refusal.found)
        return ServiceDetector(service, key, self.settings.batching.timeout_s, lambda: self.service(node))

    def service(self, node_id: str | None = None) -> Any:
        """The handle of the service of ``node_id`` (default: the caller's node), started if it has none."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        node = node_id or str(ray.get_runtime_context().get_node_id())
        return (
            ray.remote(InferenceService)
            .options(
                name=service_name(node),
                namespace=self.namespace,
                get_if_exists=True,
                lifetime="detached",
                max_restarts=-1,
                max_task_retries=0,
                max_concurrency=self.max_concurrency,
                num_cpus=0,
                num_gpus=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False),
                # Ray hides the GPUs from an actor that asks for none; the groups hold the node's GPU shares and the
                # service uses the card on their behalf.
                runtime_env={"env_vars": {"RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES": "1"}},
            )
            .remote(self.settings)
        )


def node_has_gpu(node_id: str) -> bool:
    """Whether Ray counts a GPU on the node (``ray start --num-gpus``, or found at start)."""
    import ray

    for info in ray.nodes():  # type: ignore[no-untyped-call]
        if info.get("NodeID") == node_id:
            return float(info.get("Resources", {}).get("GPU", 0.0)) > 0
    return False


def end_services(namespace: str) -> int:
    """End every node's service of ``namespace`` (the control plane stops); returns how many."""
    import ray

    ended = 0
    for entry in ray.util.list_named_actors(all_namespaces=True):
        if entry.get("namespace") != namespace or not str(entry.get("name", "")).startswith(SERVICE_PREFIX):
            continue
        try:
            ray.kill(ray.get_actor(entry["name"], namespace=namespace), no_restart=True)
            ended += 1
        except Exception as err:  # already gone
            log.debug("ending %s: %s", entry["name"], err)
    return ended
