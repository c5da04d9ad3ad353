"""Prometheus metrics of the running service (issue 17; every name, label and meaning in docs/metrics.md).

A custom collector rather than module-level ``Gauge``/``Counter`` objects: nothing global (the runtime builds one
:class:`~prometheus_client.CollectorRegistry` per service and hands it to the API), and each scrape reads the
figures the :class:`~vigie.runtime.workers.monitor.ServiceMonitor` already keeps, instead of the sink's thread
updating thousands of labelled children per second. Labels are bounded: camera ids (the configured cameras),
stream (``recording``, ``analysis``), node names, module ids and verdicts. No personal data.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from vigie.domain.camera import HealthState
from vigie.runtime.workers.monitor import ServiceMonitor
from vigie.services.system_health import NodeSource

RECORDING = "recording"
ANALYSIS = "analysis"
_DELIVERS = frozenset({HealthState.ONLINE, HealthState.DEGRADED})


class VigieCollector(Collector):
    """The camera, node and module metrics, read at each scrape."""

    def __init__(self, monitor: ServiceMonitor, nodes: NodeSource) -> None:
        self._monitor = monitor
        self._nodes = nodes

    def collect(self) -> Iterator[Metric]:
        yield from self._cameras()
        yield from self._nodes_metrics()
        yield from self._modules()

    def _cameras(self) -> Iterator[Metric]:
        snap = self._monitor.snapshot()
        up = GaugeMetricFamily(
            "vigie_camera_up",
            "1 while the camera's stream delivers (online or degraded), else 0",
            labels=["camera", "stream"],
        )
        fps_in = GaugeMetricFamily(
            "vigie_camera_fps_in",
            "Frames received per second: main-stream packets recorded, sub-stream frames decoded for analysis",
            labels=["camera", "stream"],
        )
        fps_out = GaugeMetricFamily("vigie_camera_fps_out", "Frames analysed per second", labels=["camera"])
        dropped = CounterMetricFamily(
            "vigie_camera_frames_dropped",
            "Frames dropped since the stream started: recording, packets whose timestamps went back; analysis, "
            "frames the shared detector could not take in time and observations the queue could not take",
            labels=["camera", "stream"],
        )
        decode = GaugeMetricFamily(
            "vigie_camera_decode_seconds",
            "CPU seconds reading and decoding the sub stream, per analysed frame (mean over the last report)",
            labels=["camera"],
        )
        inference = GaugeMetricFamily(
            "vigie_camera_inference_seconds",
            "Seconds analysing one frame (detection, tracking, modules), mean over the last report",
            labels=["camera"],
        )
        lag = GaugeMetricFamily(
            "vigie_camera_segment_lag_seconds",
            "Now minus the end of the camera's last indexed segment (absent before the first one)",
            labels=["camera"],
        )
        gaps = CounterMetricFamily(
            "vigie_camera_recording_gaps", "Recording gaps that ended since the service started", labels=["camera"]
        )
        gap_seconds = CounterMetricFamily(
            "vigie_camera_recording_gap_seconds",
            "Seconds without footage in the recording gaps that ended since the service started",
            labels=["camera"],
        )
        gap_open = GaugeMetricFamily(
            "vigie_camera_recording_gap_open_seconds",
            "Length of the recording gap open now (an alarm), 0 when the camera records",
            labels=["camera"],
        )
        for c in snap.cameras:
            cam = [c.camera_id]
            if c.recording is not None:
                up.add_metric([c.camera_id, RECORDING], 1.0 if c.recording in _DELIVERS else 0.0)
                fps_in.add_metric([c.camera_id, RECORDING], c.packets_per_s)
                dropped.add_metric([c.camera_id, RECORDING], float(c.recording_dropped))
            if c.analysis is not None:
                up.add_metric([c.camera_id, ANALYSIS], 1.0 if c.analysis in _DELIVERS else 0.0)
                fps_in.add_metric([c.camera_id, ANALYSIS], c.decoded_fps)
                fps_out.add_metric(cam, c.analysed_fps)
                dropped.add_metric([c.camera_id, ANALYSIS], float(c.analysis_dropped))
                decode.add_metric(cam, c.decode_s)
                inference.add_metric(cam, c.inference_s)
            if c.last_indexed_end is not None:
                lag.add_metric(cam, max(0.0, (snap.at - c.last_indexed_end).total_seconds()))
            gaps.add_metric(cam, float(c.gaps))
            gap_seconds.add_metric(cam, c.gap_seconds)
            since = c.open_gap_since
            gap_open.add_metric(cam, 0.0 if since is None else max(0.0, (snap.at - since).total_seconds()))
        yield from (up, fps_in, fps_out, dropped, decode, inference, lag, gaps, gap_seconds, gap_open)

    def _nodes_metrics(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("vigie_node_up", "1 while the node is alive", labels=["node"])
        groups = GaugeMetricFamily("vigie_node_groups", "Worker groups placed on the node", labels=["node"])
        cameras = GaugeMetricFamily("vigie_node_cameras", "Cameras hosted by the node's groups", labels=["node"])
        draining = GaugeMetricFamily(
            "vigie_node_draining", "1 while the node is being drained (`vigie cluster drain`)", labels=["node"]
        )
        for node in self._nodes.nodes():
            up.add_metric([node.node_id], 1.0 if node.alive else 0.0)
            groups.add_metric([node.node_id], float(len(node.groups)))
            cameras.add_metric([node.node_id], float(node.cameras))
            draining.add_metric([node.node_id], 1.0 if node.draining else 0.0)
        yield from (up, groups, cameras, draining)

    def _modules(self) -> Iterator[Metric]:
        snap = self._monitor.snapshot()
        raised = CounterMetricFamily(
            "vigie_alerts_raised", "Alerts raised by an analysis module since the service started", labels=["module"]
        )
        for module, count in snap.alerts_raised:
            raised.add_metric([module], float(count))
        verdicts = CounterMetricFamily(
            "vigie_alert_verdicts",
            "Verdicts given on alerts since the service started: confirmed, false_positive, not_actionable, "
            "duplicate (the last three dismiss)",
            labels=["module", "verdict"],
        )
        for module, verdict, count in snap.verdicts:
            verdicts.add_metric([module, verdict], float(count))
        yield from (raised, verdicts)


def metrics_registry(monitor: ServiceMonitor, nodes: NodeSource) -> CollectorRegistry:
    """One registry for this service (no process-wide default registry, no module-level singleton)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VigieCollector(monitor, nodes))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The Prometheus text format of ``registry`` (what ``/metrics`` answers)."""
    return generate_latest(registry)
