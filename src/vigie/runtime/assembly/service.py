"""Builds and runs the whole service from a validated configuration: the only place where parts are wired."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import uvicorn
from sqlalchemy import Engine

import vigie.web
from vigie import __version__
from vigie.analytics.autotrack import MODULE as AUTOTRACK
from vigie.analytics.detect.batching import BatchingConfig, SharedDetectorSettings
from vigie.analytics.detect.motion import MotionConfig
from vigie.api.app import ApiServices, create_app
from vigie.cluster.supervisor import ClusterSupervisor
from vigie.config.detectors import HotBlobDetectorSettings, ModelDetectorSettings
from vigie.config.models import AnalysisZone, Camera, CameraPlacement, PrivacyMaskZone, VigieConfig, WorkerSettings
from vigie.devices.dome_masking import DomeMaskSpec
from vigie.devices.mqtt.bridge import MqttBridge
from vigie.devices.mqtt.publisher import MqttSetupError
from vigie.devices.sensors.subscriber import SensorSubscriber
from vigie.devices.webhooks.bridge import WebhookBridge
from vigie.domain.access_requests import CopyMaker
from vigie.domain.audit import AuditAction, AuditEvent, canonical_json
from vigie.domain.camera import CameraInfo, CameraKind
from vigie.domain.clock import Clock, legal_day
from vigie.domain.cluster import PlacementChange
from vigie.domain.ports import CameraStatusRepo
from vigie.events.aggregation import AggregationPolicy, EventAggregator
from vigie.governance.audit.retention import AuditRetention
from vigie.governance.authorisation import CameraAuthorisations, check_authorisation
from vigie.governance.camera_credentials import CameraAccount
from vigie.governance.catalogue import load_catalogue
from vigie.governance.gate import GateTransition, transition_event
from vigie.governance.keys_folder import KeyStorageError
from vigie.governance.report import UNCLEAN_STOP, UncleanStop, unclean_stop
from vigie.governance.signage import camera_signage, site_panels
from vigie.ingest.alarms import StreamAlarmConfig
from vigie.ingest.masking import mask_polygons
from vigie.ingest.packets import PacketSpec
from vigie.ingest.reader import StreamSpec
from vigie.ingest.tap import tap_path
from vigie.ingest.tap_relay import KEY_PURPOSE as LIVE_TAPS
from vigie.recording.gaps import GapWatch
from vigie.recording.reconcile import index_recent, reconcile_camera
from vigie.recording.upload import SegmentUploader
from vigie.runtime.assembly.access_requests import open_access_requests
from vigie.runtime.assembly.audit import heads_file, keys_dir, open_audit_sink
from vigie.runtime.assembly.auth import SignOnConfigError, open_auth_service, open_sign_on, shared_key
from vigie.runtime.assembly.autotrack import open_autotracking
from vigie.runtime.assembly.camera_accounts import CameraAccountError, camera_accounts, with_camera_accounts
from vigie.runtime.assembly.camera_events import CameraEvents, open_camera_events
from vigie.runtime.assembly.case_search import open_case_search
from vigie.runtime.assembly.database_life import PreviousLife, new_database_event, previous_life, refusal_message
from vigie.runtime.assembly.exports import build_export_service
from vigie.runtime.assembly.gates import DatabaseGateFactory, GateFactory
from vigie.runtime.assembly.governance import open_governance
from vigie.runtime.assembly.integration_health import integration_sources
from vigie.runtime.assembly.live import open_live_service
from vigie.runtime.assembly.map import open_map_service
from vigie.runtime.assembly.models import ModelRegistry
from vigie.runtime.assembly.mqtt import MqttCollector, open_mqtt
from vigie.runtime.assembly.plates import open_plate_service, service_gate
from vigie.runtime.assembly.ptz import dome_mask_refusals, dome_mask_spec, open_ptz_service
from vigie.runtime.assembly.purge import build_purger
from vigie.runtime.assembly.redaction import open_copy_maker
from vigie.runtime.assembly.segments import is_remote, open_segment_store, spool_dir
from vigie.runtime.assembly.sensors import (
    SensorCollector,
    open_sensors,
    sensor_links,
    sensor_retention,
    sensor_statistics,
)
from vigie.runtime.assembly.site import camera_location, open_site_service
from vigie.runtime.assembly.speakers import SpeakerSetupError, open_speaker_service
from vigie.runtime.assembly.tls import TlsSetupError, uvicorn_tls
from vigie.runtime.assembly.webhooks import (
    WebhooksCollector,
    WebhookSetupError,
    open_webhook_administration,
    open_webhooks,
)
from vigie.runtime.clock import system_clock
from vigie.runtime.limits import raise_open_file_limit
from vigie.runtime.metrics import exposition, metrics_registry
from vigie.runtime.workers.analysis import ModelSpec, WorkerSpec
from vigie.runtime.workers.database_watch import DatabaseWatch, database_check, storage_check
from vigie.runtime.workers.journal import WriteJournal, journal_dir
from vigie.runtime.workers.monitor import GapLedger, ServiceMonitor
from vigie.runtime.workers.recorder import RecorderSpec
from vigie.runtime.workers.sink import MessageObserver, Periodic, WorkerMessageSink
from vigie.runtime.workers.supervisor import CameraSupervisor, Grouping
from vigie.services.access_requests import AccessRequestService
from vigie.services.alerts import AlertService
from vigie.services.audit import AuditService
from vigie.services.backup import pending_restore
from vigie.services.camera_events import merged_stream_alarms
from vigie.services.camera_groups import CameraGroupService
from vigie.services.cameras import CameraService
from vigie.services.case_bookmarks import CaseBookmarkService
from vigie.services.cases import CaseService
from vigie.services.events import EventService
from vigie.services.health import Check, HealthService
from vigie.services.holds import HoldService
from vigie.services.host import process_exists
from vigie.services.layouts import LayoutService
from vigie.services.plates import PURGE_EVERY_S as PLATES_PURGE_EVERY_S
from vigie.services.plates import PlateService
from vigie.services.playback import PlaybackService
from vigie.services.ptz import PtzService
from vigie.services.recordings import RecordingService
from vigie.services.sensors import SensorLinkService
from vigie.services.snapshots import SnapshotService
from vigie.services.speakers import SpeakerService
from vigie.services.system_health import Disk, MetricsAccess, SystemHealthService, disk_space
from vigie.storage import SqlAlertRepo, SqlAuditStore, SqlHoldRepo, SqlSegmentIndex, SqlStatisticsRepo, SqlUserRepo
from vigie.storage.audit_query import SqlAuditReader
from vigie.storage.camera_groups import SqlCameraGroups
from vigie.storage.case_bookmarks import SqlCaseBookmarks
from vigie.storage.case_objects import SqlCaseObjects
from vigie.storage.case_searches import SqlCaseSearches
from vigie.storage.cases import SqlCaseRepo
from vigie.storage.database import create_engine_for, migrate, sqlite_file
from vigie.storage.layouts import SqlLayouts, SqlWallOutputs
from vigie.storage.live_endpoints import SqlLiveEndpoints
from vigie.storage.plates import SqlPlateRepo
from vigie.storage.recording_gaps import SqlRecordingGaps
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo
from vigie.storage.segment_history import SqlSegmentHistory
from vigie.storage.sign_ons import SqlPendingSignOns

log = logging.getLogger(__name__)
STATIC_DIR = Path(vigie.web.__file__).parent / "static"
SERVICE_ACTOR = "system:service"
PLAYBACK_URLS = "playback-urls"
"""The purpose the key signing playback segment URLs is derived for (:func:`shared_key`)."""
PURGE_EVERY_S = 60.0
"""Retention purge and free-space check of recordings (a full disk must be noticed within a minute)."""
AUDIT_RETENTION_EVERY_S = 3600.0
SHUTDOWN_GRACE_S = 3
EXPORT_PURGE_EVERY_S = 3600.0
PTZ_TICK_EVERY_S = 1.0
"""Tours and returns home are checked this often."""
UPLOAD_RETRY_EVERY_S = 30.0
"""With a remote store: how often spool files not yet uploaded (store down, lost messages) are tried again."""
SETTLE_S = 10.0
"""After a database outage, segment files finished this recently are not indexed from disk: their recorder's
message is probably on its way (the sink indexes it)."""
ALIVE_FILE = "service-alive.json"
ALIVE_EVERY_S = 10.0
"""How often the running service rewrites ``<data_dir>/service-alive.json`` with its clock's time: after a ``kill -9``
the next start closes the gates left open at that time (or at the service's own last audit entry, if later)."""


class ServiceError(Exception):
    """The service cannot start as configured; the message says what to do."""


def _polygons(zones: Sequence[AnalysisZone | PrivacyMaskZone]) -> tuple[tuple[tuple[float, float], ...], ...]:
    return tuple(tuple((float(x), float(y)) for x, y in zone.points) for zone in zones)


def worker_spec(
    camera: Camera,
    gate: GateFactory,
    model: ModelSpec | None = None,
    clock: Clock = system_clock,
    commune_id: str = "",
) -> WorkerSpec:
    """Analysis reads the sub stream when there is one (it is what it is for), else the main stream; in colour
    when a detection model runs on a visible-light camera, or plates are read, grey for motion alone and on a
    thermal camera (its picture is grey: hot blobs read it as is, a model as grey replicated to three channels).
    ``commune_id``: the camera's tenant, named by its plate reads."""
    analysis = camera.analysis
    motion = analysis.motion
    detector = analysis.detector
    thermal = camera.kind == CameraKind.THERMAL
    colour = (model is not None and not thermal) or "fire_start" in analysis.modules  # flames are told by colour
    colour = colour or "plate_reading" in analysis.modules  # the plate's blue band is cut by its colour
    hot_blob = detector if isinstance(detector, HotBlobDetectorSettings) else None
    if isinstance(detector, ModelDetectorSettings) and model is not None:
        hot_blob = detector.hot_spots  # beside the model, never in its place
    return WorkerSpec(
        stream=StreamSpec(
            camera_id=camera.id,
            url=camera.analysis_stream,
            analysis_fps=analysis.fps,
            analysis_width=analysis.width,
            pixel_format="bgr24" if colour else "gray",
        ),
        motion=MotionConfig(min_area=motion.min_area, var_threshold=motion.threshold, history=motion.history),
        gate=gate,
        privacy_masks=_polygons(camera.privacy_masks),
        model=model,
        hot_blob=hot_blob,
        analysis_zones=_polygons(camera.analysis_zones),
        zone_ids=tuple(zone.id for zone in camera.analysis_zones),
        # every event module but auto-tracking, which runs beside the dome's PTZ service (runtime.assembly.autotrack)
        rules=tuple((module, dict(settings)) for module, settings in analysis.modules.items() if module != AUTOTRACK),
        clock=clock,
        commune_id=commune_id,
        alarms=StreamAlarmConfig(view_moves=camera.kind == CameraKind.PTZ),  # a dome's view moves (ingest.alarms)
    )


def model_spec(camera: Camera, registry: ModelRegistry) -> ModelSpec | None:
    """The registered model a camera's configuration names, or None (motion alone, or hot blobs); a name that is
    not installed stops the start with what to run (a camera never silently falls back to another analysis)."""
    detector = camera.analysis.detector
    if not isinstance(detector, ModelDetectorSettings):
        return None
    name = detector.name
    entry = registry.get(name)
    if entry is None:
        installed = ", ".join(sorted(m.name for m in registry.models())) or "none"
        raise ServiceError(
            f"camera {camera.id} asks for the detection model {name!r} (analysis.detector), which is not installed "
            f"(installed: {installed}): run `vigie models install {name}` or "
            f"`vigie models add FILE --format F --name {name}`, or name an installed model"
        )
    return ModelSpec(
        entry.name,
        registry.root / entry.file,
        entry.format,
        entry.sha256,
        grey_picture=camera.kind == CameraKind.THERMAL,
        score_threshold=detector.score_threshold,
    )


def recorder_spec(
    camera: Camera,
    root: Path,
    segment_seconds: float = 10.0,
    clock: Clock = system_clock,
    *,
    data_dir: Path | None = None,
    dome: DomeMaskSpec | None = None,
) -> RecorderSpec:
    """Recording always takes the main stream: as is (remuxed) without privacy masks, with them burnt in (L6).
    The recorder offers the packets it writes to the live view on a socket under ``data_dir``: one camera session
    serves recording and live; a masked camera's live view never shows the raw stream, nor is it encoded twice."""
    masks = mask_polygons(camera)
    return RecorderSpec(
        stream=PacketSpec(camera_id=camera.id, url=camera.main_stream),
        root=root,
        segment_seconds=segment_seconds,
        masks=masks,
        clock=clock,
        live_tap=tap_path(data_dir, camera.id) if data_dir is not None else None,
        dome=dome,
    )


def settled(config: VigieConfig) -> VigieConfig:
    """``config``, unless a restore on its data folder lacks entries a published head vouches for, or its chain did
    not verify: the operator settles it first (``vigie backup restore``, docs/backup.md), before the database is
    even opened; the service never starts on it silently."""
    unsettled = pending_restore(config.storage.data_dir)
    if unsettled is not None:
        raise ServiceError(unsettled)
    return config


def enabled_cameras(config: VigieConfig) -> tuple[list[CameraPlacement], dict[str, CameraAccount]]:
    """The enabled cameras, each named account put into its stream URLs from the credentials store (never from the
    configuration file), and those accounts by name (for the domes' ONVIF services); the store is read once. A
    missing account or an unusable store stops the start with what to do."""
    placements = [p for p in config.placements() if p.camera.enabled]
    try:
        accounts = camera_accounts(config, placements)
    except (CameraAccountError, KeyStorageError) as err:
        raise ServiceError(str(err)) from None
    return with_camera_accounts(placements, accounts), accounts


class VigieService:
    """The running platform: camera workers under a supervisor, one writer thread, the audit chain, the HTTP API.

    Analysis on a camera runs only where the governance gate (built in each worker from the database) allows it;
    cameras in ``simulated_cameras`` show generated footage and are open to analysis under the same stop switches.
    """

    def __init__(
        self,
        config: VigieConfig,
        *,
        simulated_cameras: frozenset[str] = frozenset(),
        clock: Clock = system_clock,
        new_database: bool = False,
        supervisor_type: type[CameraSupervisor] = CameraSupervisor,
    ) -> None:
        """``clock`` is the one clock of the service: every part built here reads the time from it.
        ``new_database``: start even if the database is empty where the data folder shows a previous life
        (``vigie serve --new-database``), recorded as ``database.new`` in the new chain. ``supervisor_type``: the
        single host's supervisor, built with every camera's specs as in production (``bench/metropole.py`` gives
        one that starts a generator of the workers' messages instead of their processes)."""
        self.config, self._supervisor_type = settled(config), supervisor_type
        self.clock = clock
        self.simulated = simulated_cameras
        engine = create_engine_for(config.storage.database_url)
        database_file = sqlite_file(engine)
        existed = database_file is None or (database_file.is_file() and database_file.stat().st_size > 0)
        migrate(engine)
        self.watch = DatabaseWatch(engine)
        self.journal = WriteJournal(journal_dir(config.storage.data_dir))
        self._audit_store = SqlAuditStore(engine)
        self._new_database = self._check_previous_life(database_file, existed, new_database)
        self.audit = open_audit_sink(config, engine, clock)
        self.alive_path = config.storage.data_dir / ALIVE_FILE
        self.events, self.status = SqlEventRepo(engine), SqlCameraStatusRepo(engine)
        self.entries, self._accounts = enabled_cameras(config)
        self.cameras = [
            CameraInfo(
                p.camera.id,
                p.camera.name,
                p.commune.id,
                p.site.id,
                p.camera.kind,
                p.camera.id in simulated_cameras,
                location=camera_location(p.camera),
                tags=p.camera.tags,
            )
            for p in self.entries
        ]
        policies = {
            p.camera.id: AggregationPolicy(cooldown=timedelta(seconds=p.camera.analysis.motion.cooldown_s))
            for p in self.entries
        }
        retention = AuditRetention(SqlAuditStore(engine), self.audit, config.governance.audit_retention_days)
        self.segments_root = spool_dir(config)
        self.segments = SqlSegmentIndex(engine)
        self.store = store = open_segment_store(config)
        # on a cluster the node that wrote a segment uploads it (vigie.cluster.host): reports arrive stored
        uploads_here = is_remote(config) and config.cluster is None
        self.uploader = SegmentUploader(self.segments_root, store, self.segments) if uploads_here else None
        min_free = config.storage.min_free_mb * 1024 * 1024
        purger = build_purger(config, engine, store, min_free_bytes=min_free, audit=self.audit, clock=clock)
        jobs = [
            Periodic(AUDIT_RETENTION_EVERY_S, retention),
            Periodic(PURGE_EVERY_S, lambda _now: purger.run(), apart=True),  # not in the writer's round
            # the sensors' bookmarks go with their footage (L3), their statistics after their own period
            Periodic(PURGE_EVERY_S, sensor_retention(config, engine, self.audit).run, apart=True),
            # filmed persons' requests of access (L19): the service, and the erasure of their personal data
            self._open_access_requests(engine),
        ]
        if self.uploader is not None:
            jobs.append(Periodic(UPLOAD_RETRY_EVERY_S, self.uploader.requeue))
        jobs.append(Periodic(ALIVE_EVERY_S, lambda now: write_alive(self.alive_path, now), writes=False))
        self.exports = build_export_service(config, engine, self.audit, clock, store=store, index=self.segments)
        keep_packages = timedelta(days=config.storage.export_package_days)
        jobs.append(Periodic(EXPORT_PURGE_EVERY_S, lambda _now: self.exports.purge_packages(keep_packages)))
        self.monitor = self._monitor(engine)
        self.alerts, self.plates = self._alerts_and_plates(engine, jobs)
        self.ptz = self._ptz(jobs, engine)
        self.sink = WorkerMessageSink(
            EventAggregator(self.events, per_camera=policies),
            self._camera_events(jobs).status(self._published(self.status)),
            self.audit,
            jobs=jobs,
            segments=self.segments,
            uploader=self.uploader,
            alerts=self.alerts,
            statistics=SqlStatisticsRepo(engine),
            clock=clock,
            journal=self.journal,
            watch=self.watch,
            reconcile=self.index_recent_recordings,
            events_batch=self.events.batch,
            observers=self._observers(),
            plates=self.plates,
        )
        self.supervisor = self._supervisor(
            DatabaseGateFactory(config, simulated_cameras, clock), SqlLiveEndpoints(engine)
        )
        playback = PlaybackService(
            self.segments,
            store,
            self.audit,
            [c.id for c in self.cameras],
            clock,
            url_secret=shared_key(config, PLAYBACK_URLS),  # a URL signed by one API process plays on any
        )
        self.accounts = open_auth_service(config, engine, self.audit, clock)
        try:
            sign_on = open_sign_on(config, self.accounts, clock, pending=SqlPendingSignOns(engine))
        except SignOnConfigError as err:
            raise ServiceError(str(err)) from None
        # every configured camera's authorisation (L1): live, alert images and the public page ask it
        self.authorisations = CameraAuthorisations.of(
            [p.camera for p in config.placements()], clock, standing=self._mask_refusals, signage=self._signage
        )
        self.live = open_live_service(
            [p.camera for p in self.entries],
            self.audit,
            clock,
            self.authorisations,
            data_dir=config.storage.data_dir,
            # cluster mode: the recorders' taps are on the nodes, read through their relays (issue 17)
            relayed=None if config.cluster is None else (self.live_endpoints, shared_key(config, LIVE_TAPS)),
        )
        services = ApiServices(
            events=EventService(self.events),
            # one health read a second for the process's camera lists and health view (vigie.api.camera_lists)
            cameras=(
                cameras := CameraService(
                    self.cameras,
                    self.status,
                    authorisations=self.authorisations,
                    signage=site_panels(config.communes, [c.id for c in self.cameras]),  # the public page's (L7)
                    status_max_age_s=1.0,
                )
            ),
            auth=self.accounts,
            alerts=self.alerts,
            playback=playback,
            live=self.live,
            sites=open_site_service(config, {c.id for c in self.cameras}),
            recordings=RecordingService(SqlSegmentHistory(engine), self.audit),
            governance=open_governance(config, engine, self.audit, clock, simulated_cameras=simulated_cameras),
            audit=AuditService(self.audit, SqlAuditReader(engine), SqlUserRepo(engine)),
            exports=self.exports,
            snapshots=SnapshotService(
                self.alerts, self.segments, store, self.audit, clock=clock, authorisations=self.authorisations
            ),
            oidc=sign_on,
            health=HealthService([("database", self._database_ready), ("storage", self._storage_ready)]),
            system_health=SystemHealthService(
                cameras,
                self.supervisor,
                self.recording_gaps,  # what `vigie serve`'s monitor wrote: the same in every process
                self._disks,
                clock,
                # what the database knows in every process; the connections' live state where they run (serve)
                integrations=integration_sources(self.config, self.mqtt, self.webhooks, self.sensors),
            ),
            metrics=self._metrics_access(),
            plates=self.plates,
            ptz=self.ptz,
            speakers=self._speakers(),
            sensor_links=self.sensor_links,
            sensor_statistics=sensor_statistics(config, engine, self.audit),
            webhooks=self.webhook_administration,
            # cases (issue 22): the holds they place are the CLI's holds, on this server's segment index
            cases=(
                case_service := CaseService(
                    SqlCaseRepo(engine),
                    self.audit,
                    clock,
                    holds=HoldService(self.segments, SqlHoldRepo(engine), self.audit, clock),
                )
            ),
            # forensic object search within a case (issue 22): the camera's configured model on its recordings
            case_search=open_case_search(
                case_service,
                SqlCaseObjects(engine),
                [p.camera for p in self.entries],
                self._camera_model,
                self.segments,
                store,
                self.audit,
                clock,
                SqlCaseSearches(engine),
            ),
            # a case's own bookmarks (issue 22): kept with the case file, not purged when it closes
            case_bookmarks=CaseBookmarkService(case_service, SqlCaseBookmarks(engine), self.audit, clock),
            camera_groups=CameraGroupService(SqlCameraGroups(engine), clock),
            # the console's saved layouts and video-wall outputs (issue 24)
            layouts=LayoutService(SqlLayouts(engine), SqlWallOutputs(engine), self.audit, clock),
            access_requests=self.access_requests,
            # the console's map (issue 24): the city's basemap, the cameras' fields of view, the site plans
            map=open_map_service(config, {c.id for c in self.cameras}, engine, self.audit, clock),
        )
        self.api_services = services
        """What the API can reach: every part is wired here (a test checks none is left out)."""
        self.app = create_app(services, STATIC_DIR, secure_cookies=config.api.secure_cookies)

    def _open_access_requests(self, engine: Engine) -> Periodic:
        """Build ``self.access_requests`` (L19); answers its purge (personal data erased ``keep_days`` after a
        request ended), run with the retention purge's round."""
        self.access_requests: AccessRequestService = open_access_requests(
            self.config, engine, self.audit, self.clock, self._copy_maker()
        )
        return Periodic(PURGE_EVERY_S, self.access_requests.purge, apart=True)

    def _copy_maker(self) -> CopyMaker:
        """What makes the redacted copies of access requests: the configured cameras' footage from the segment
        index and store, signed with the audit chain's key, redacted with ``privacy.redaction_model`` (loaded at the
        first copy: a server without it starts, and preparing a copy says what to install)."""
        registry = ModelRegistry(self.config.storage.data_dir / "models", self.audit, clock=self.clock)
        return open_copy_maker(self.config, self.segments, self.store, self.audit.signer(), registry, self.clock)

    def _camera_model(self, camera_id: str) -> ModelSpec | None:
        """The registered model a camera's configuration names (None: none), for the forensic search of cases."""
        camera = next((p.camera for p in self.entries if p.camera.id == camera_id), None)
        if camera is None:
            return None
        registry = ModelRegistry(self.config.storage.data_dir / "models", self.audit, clock=self.clock)
        return model_spec(camera, registry)

    def _mqtt(self, engine: Engine) -> MqttBridge | None:
        """The MQTT bridge (``mqtt.enabled``, issue 21), started by :meth:`start`; API processes build it too: their
        confirmations write the outbox, which ``vigie serve``'s publisher reads."""
        try:
            return open_mqtt(self.config, engine, self.clock)
        except MqttSetupError as err:
            raise ServiceError(str(err)) from None

    def _webhooks(self, engine: Engine) -> WebhookBridge | None:
        """The webhook bridge (``webhooks.enabled``, issue 21), its senders started by :meth:`start`; API processes
        build it too: their confirmations write the deliveries, which ``vigie serve``'s senders send."""
        try:
            return open_webhooks(self.config, engine, self.audit, self.clock)
        except WebhookSetupError as err:
            raise ServiceError(str(err)) from None

    def _speakers(self) -> SpeakerService:
        """The loudspeakers of the ``speakers`` section (issue 21), played by a logged-in person only: the sessions
        are the accounts' (a principal without a session open now is refused), a linked alert must be one the person
        sees. Stateless: API processes play them too."""
        try:
            self.speakers = open_speaker_service(
                self.config, self.audit, self.accounts, alert_lookup=self.alerts.get_for
            )
        except SpeakerSetupError as err:
            raise ServiceError(str(err)) from None
        return self.speakers

    def _sensors(self, engine: Engine, ptz: PtzService) -> tuple[SensorLinkService, SensorSubscriber | None]:
        """The sensors' link rules and subscriber (``sensors.enabled``, issue 21; the rules drive the domes through
        :attr:`ptz`), the subscriber started by :meth:`start` (``vigie serve`` only: an API process reads the link
        events the feed shows, and subscribes to nothing)."""
        links = sensor_links(self.config, engine, self.audit, self.clock, ptz)
        try:
            return links, open_sensors(self.config, engine, links, self.clock)
        except MqttSetupError as err:
            raise ServiceError(str(err)) from None

    def _published(self, status: SqlCameraStatusRepo) -> CameraStatusRepo:
        """The cameras' health store, each state it records published over MQTT when enabled."""
        return status if self.mqtt is None else self.mqtt.camera_status(status)

    def _observers(self) -> tuple[MessageObserver, ...]:
        """What reads the worker messages as they pass: the monitor, and the stream alarms of MQTT and webhooks when
        enabled."""
        return (self.monitor, *(bridge for bridge in (self.mqtt, self.webhooks) if bridge is not None))

    def close_domes(self) -> None:
        """End the ONVIF sessions of the domes opened so far."""
        self.tracking.close()  # each session ends (audited) and its dome is stopped
        for dome in self._domes:
            dome.close()

    def _ptz(self, jobs: list[Periodic], engine: Engine) -> PtzService:
        """The domes of the cameras with ONVIF settings, opened at their first command; tours and returns home
        checked every :data:`PTZ_TICK_EVERY_S` in a thread of their own (a dome's answer never holds the writer).
        The sensors' link rules, which may send a dome to a preset, are built with them (:meth:`_sensors`)."""
        service, self._domes = open_ptz_service(self.entries, self._accounts, self.audit, self.clock)
        self.sensor_links, self.sensors = self._sensors(engine, service)
        gate = service_gate(self.config, self.simulated, self.clock)  # built at the first designation
        self.tracking = open_autotracking(service, self.entries, gate, self.clock, refusal=self.camera_refusal)
        jobs.append(Periodic(PTZ_TICK_EVERY_S, service.tick, apart=True))
        return service

    def _camera_events(self, jobs: list[Periodic]) -> CameraEvents:
        """The cameras' own events (ONVIF): tampering a stream alarm (L18), motion only under an activation (L22);
        routed on the sink's thread at its rounds, subscribed to at :meth:`start`."""
        gate = service_gate(self.config, self.simulated, self.clock)
        emit = lambda message: self.sink(message)  # noqa: E731, PLW0108 (the sink is built after this)
        self.camera_events = open_camera_events(self.entries, self._accounts, self.clock, gate, jobs, emit=emit)
        return self.camera_events

    def _alerts_and_plates(self, engine: Engine, jobs: list[Periodic]) -> tuple[AlertService, PlateService]:
        """The alerts, and the plate-read store (LAPI, issue 18): reads stored and matched for state tenants under
        an activation, a match raising an alert; its L35 purge joins the service's periodic jobs. With MQTT, a
        confirmation writes its message to the outbox in its own transaction (L28), and wakes the publisher; with
        webhooks, likewise its deliveries."""
        confirmed = None if self.mqtt is None else self.mqtt.confirmed
        webhooks_of = None if self.webhooks is None else self.webhooks.confirmed
        alerts = SqlAlertRepo(engine, on_confirmed=confirmed, webhooks_of=webhooks_of)
        plates = SqlPlateRepo(engine)
        dispatchers = tuple(bridge for bridge in (self.mqtt, self.webhooks) if bridge is not None)
        priorities = self.config.alerts.policy()
        priorities.check_modules([module.id for module in load_catalogue().modules])
        alert_service = AlertService(
            alerts,
            self.audit,
            self.clock,
            dispatchers=dispatchers,
            on_verdict=self.monitor.verdict,
            priorities=priorities,
        )
        gate = service_gate(self.config, self.simulated, self.clock)
        plate_service = open_plate_service(self.config, plates, self.audit, self.clock, alert_service, gate=gate)
        jobs.append(Periodic(PLATES_PURGE_EVERY_S, plate_service.purge, apart=True))
        return alert_service, plate_service

    def camera_refusal(self, camera_id: str) -> str | None:
        """Why a camera may not record or stream today (its prefectoral authorisation, L1; a dome whose privacy
        masks cannot follow it, L6; no signage record, so not commissioned, L7), or None; today is the Paris day of
        the service's clock. The supervisor asks before every start and on every round, and writes the reason into
        the camera's health."""
        return self._refusals.refusal(camera_id)

    def _supervisor(self, gate: GateFactory, live_endpoints: SqlLiveEndpoints) -> CameraSupervisor | ClusterSupervisor:
        self.live_endpoints = live_endpoints
        """Where each camera's live tap is served in cluster mode (written here, read by every API process)."""
        self._authorisations = {p.camera.id: p.camera.authorisation for p in self.entries}
        self._mask_refusals = dome_mask_refusals(self.entries)
        self._signage = camera_signage(self.config.placements())  # L7: a camera without a panel is not commissioned
        self._refusals = CameraAuthorisations(self._authorisations, self.clock, self._mask_refusals, self._signage)
        for reason in self._mask_refusals.values():
            log.warning("%s", reason)
        for camera_id, auth in self._authorisations.items():
            message = check_authorisation(camera_id, auth, legal_day(self.clock)).message
            if message:
                log.warning("%s", message)
            unsigned = self._refusals.signage_refusal(camera_id)
            if unsigned:
                log.warning("%s", unsigned)

        registry = ModelRegistry(self.config.storage.data_dir / "models", self.audit, clock=self.clock)
        domes = {p.camera.id: dome_mask_spec(p.camera, self._accounts) for p in self.entries}
        analysis = [
            replace(
                worker_spec(p.camera, gate, model_spec(p.camera, registry), self.clock, p.commune.id),
                dome=domes[p.camera.id],
            )
            for p in self.entries
        ]
        seconds = self.config.storage.segment_seconds
        data_dir = self.config.storage.data_dir
        recorders = [
            recorder_spec(p.camera, self.segments_root, seconds, self.clock, data_dir=data_dir, dome=domes[p.camera.id])
            for p in self.entries
        ]
        # the workers' stream alarms merged with what the cameras report of the same condition: one episode each
        workers = merged_stream_alarms(self.camera_events.router, self.sink)
        if self.config.cluster is not None:
            return ClusterSupervisor(
                [*analysis, *recorders],
                workers,
                config=self.config,
                settings=self.config.cluster,
                tick=self.sink.tick,
                refusal=self.camera_refusal,
                on_exit=self.sink.worker_exited,
                on_placement=self._placed,
                on_live=self._live_served,
                clock=self.clock,
                stall_timeout_s=self.config.workers.stall_timeout_s,
                grouping=grouping(self.config.workers),
            )
        return self._supervisor_type(
            [*analysis, *recorders],
            workers,
            tick=self.sink.tick,
            refusal=self.camera_refusal,
            on_exit=self.sink.worker_exited,
            clock=self.clock,
            stall_timeout_s=self.config.workers.stall_timeout_s,
            grouping=grouping(self.config.workers),
        )

    def _placed(self, change: PlacementChange) -> None:
        """A camera group started on, or moved to, a node of the cluster: logged by the supervisor; for analysis,
        audited per camera (where a camera's analysis ran is part of what a DPO answers for)."""
        if not change.analysis:
            return
        for camera_id in change.cameras:
            self.sink.keep(
                AuditEvent(
                    SERVICE_ACTOR,
                    AuditAction.ANALYSIS_PLACED,
                    camera_id,
                    {
                        "camera_id": camera_id,
                        "group": change.group,
                        "from_node": change.from_node or "",
                        "to_node": change.to_node or "",
                        "reason": change.reason,
                    },
                    change.at,
                )
            )

    def _live_served(self, group: str, cameras: tuple[str, ...], host: str | None, port: int) -> None:
        """Where a recording group's live relay is now, for every API process (None: nowhere, its readers wait)."""
        if host is None:
            self.live_endpoints.clear(cameras, group)
        else:
            self.live_endpoints.put(group, cameras, host, port, self.clock())

    def run(self, *, api_only: bool = False) -> int:
        """Serve until interrupted (Ctrl-C or SIGTERM), then stop the workers, close open events and gates, and
        sign a checkpoint of the audit chain. ``api_only`` (``vigie api``): serve the API alone, one of several
        stateless API processes beside the one ``vigie serve`` that runs cameras and the periodic jobs."""
        api = self.config.api
        raise_open_file_limit()  # a socket per camera and more: systemd's default soft limit is 1,024
        try:
            tls = uvicorn_tls(api.tls)  # HTTPS served directly (L15): checked before anything starts
        except TlsSetupError as err:
            log.error("%s; nothing was started", err)
            return 2
        server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host=api.host,
                port=api.port,
                log_level="info",
                access_log=False,
                **tls,
                # X-Forwarded-For/-Proto from the configured proxies only (uvicorn trusts 127.0.0.1 by default).
                proxy_headers=bool(api.trusted_proxies),
                forwarded_allow_ips=list(api.trusted_proxies) or None,
                # Live views never end by themselves: give open responses this long, then cut them.
                timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
                # WebSockets carry H.264 and JPEG, which do not compress: deflating them per viewer cost CPU only.
                ws_per_message_deflate=False,
            )
        )
        previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        if api_only:
            self.start_api()
        else:
            self.start()
        log.info("Vigie console on %s://%s:%d/", "https" if tls else "http", api.host, api.port)
        try:
            server.run()
        except KeyboardInterrupt:
            # uvicorn re-raises the signal it handled once it has shut down: that is the normal way out.
            log.info("stopping")
        finally:
            if api_only:
                self.stop_api()
            else:
                self.stop()
            signal.signal(signal.SIGTERM, previous)
        return 0

    def start_api(self) -> None:
        """An API process alone: nothing to close or reconcile, no camera, no periodic job (``vigie serve`` runs
        those, once for the installation); what it shares with the others is in the database and the keys folder.
        No dome either: a dome's lock, tours, return home and auto-tracking live in ``vigie serve``, so two
        processes driving one dome would fight; its PTZ routes answer 503 naming where to route them."""
        self.api_services = replace(self.api_services, ptz=None)
        self.app.state.services = self.api_services
        self.close_domes()
        self._fail_abandoned_searches()
        log.info("API process only: cameras, domes, purges and heartbeats are left to `vigie serve`")

    def stop_api(self) -> None:
        """Stop an API process: live views closed, its exports stopped (those not started fail with a reason)."""
        self.live.shutdown()
        self.exports.close()
        self.speakers.close()
        if self.api_services.case_search is not None:
            self.api_services.case_search.close()  # a search running stops at its next batch (job failed)
        self.access_requests.close()  # copies waiting fail; the one being made fails when it returns

    def start(self) -> None:
        """Everything before serving: close what a killed previous run left open, record the start, reconcile the
        recordings, start the workers (whose gates may then open). A new database (``--new-database``) first says
        so in its chain; writes a previous run kept in the journal (a database outage) are written before all."""
        self._begin_new_database()
        self._replay_journal()
        self.close_unclean_run()
        self.audit.append(
            AuditEvent(
                SERVICE_ACTOR,
                AuditAction.SERVICE_STARTED,
                "service",
                {
                    "version": __version__,
                    "cameras": [c.id for c in self.cameras],
                    "simulated_cameras": sorted(self.simulated),
                    "config_sha256": config_fingerprint(self.config),
                },
            )
        )
        self.reconcile_recordings()
        self._fail_abandoned_searches()
        self._forget_removed_webhooks()
        if self.mqtt is not None:
            self.mqtt.start()  # connects in the background: a broker away delays nothing
        if self.webhooks is not None:
            self.webhooks.start()  # a thread per endpoint; deliveries left by the last run are sent first
        if self.sensors is not None:
            self.sensors.start()  # the same: readings arrive once connected
        self.supervisor.start()
        self.camera_events.start()

    def _fail_abandoned_searches(self) -> None:
        """The case searches a stopped process left queued or running marked failed (audited); a failure is logged
        (they are failed when next read)."""
        try:
            self.access_requests.fail_abandoned()
        except Exception:
            log.exception("access requests: copies left by a stopped server could not be marked failed")
        if self.api_services.case_search is None:
            return
        try:
            self.api_services.case_search.fail_abandoned()
        except Exception:
            log.exception("case searches: those left by a stopped server could not be marked failed")

    def _forget_removed_webhooks(self) -> None:
        """The delivery rows of webhook endpoints no longer configured deleted (logged, audited with the counts);
        a failure is logged and tried at the next start: it must not keep the cameras from recording."""
        try:
            self.webhook_administration.forget_removed_endpoints()
        except Exception:
            log.exception("webhooks: the rows of removed endpoints could not be deleted; tried at the next start")

    def stop(self) -> None:
        """A clean stop: workers stopped, open events and gates closed, ``service.stopped``, a signed checkpoint."""
        if self.sensors is not None:
            self.sensors.stop()  # the readings queued handed over, the open statistics buckets written
        self.live.shutdown()
        self.close_domes()
        self.speakers.close()
        self.camera_events.stop()
        self.exports.close()
        if self.api_services.case_search is not None:
            self.api_services.case_search.close()  # a search running stops at its next batch (job failed)
        self.access_requests.close()  # copies waiting fail; the one being made fails when it returns
        self.supervisor.stop()
        self.sink.close()
        if self.mqtt is not None:
            self.mqtt.stop()  # what is in flight gets a few seconds; the rest waits in the outbox
        if self.webhooks is not None:
            self.webhooks.stop()  # the attempt in flight ends; what waits is sent at the next start
        self.sink.flush_kept()  # an outage that ended: its entries (and its end) before the stop
        self.sink.keep(AuditEvent(SERVICE_ACTOR, AuditAction.SERVICE_STOPPED, "service", {}, self.clock()))
        if self.sink.flush_kept():
            self.audit.checkpoint()
        else:
            log.error(
                "the database refuses writes: %d write(s) stay in %s, written at the next start",
                len(self.journal),
                self.journal.path,
            )

    def _check_previous_life(
        self, database_file: Path | None, existed: bool, new_database: bool
    ) -> PreviousLife | None:
        """D10: refuse an empty database where the data folder shows a previous life, unless ``new_database``."""
        if self._audit_store.head() is not None:
            if new_database:
                log.warning("--new-database ignored: the database already holds an audit chain")
            return None
        life = previous_life(
            keys_dir=keys_dir(self.config),
            heads_file=heads_file(self.config),
            segments_root=spool_dir(self.config),
            journal_file=self.journal.path,
            database_file=database_file,
            database_existed=existed,
        )
        if life and not new_database:
            where = str(database_file) if database_file is not None else "configured in storage.database_url"
            raise ServiceError(refusal_message(where, life))
        return life or None

    def _begin_new_database(self) -> None:
        """The first entry of a chain started on purpose on a new database: what came before, as far as known."""
        life, self._new_database = self._new_database, None
        if life is not None:
            self.audit.append(new_database_event(life, SERVICE_ACTOR))

    def _replay_journal(self) -> None:
        """Write what a previous run kept for the database (it stopped during an outage, or lost its database)."""
        writer = self.sink.writer
        if writer is None or len(self.journal) == 0:
            return
        kept = len(self.journal)
        written = writer.replay_all()
        log.warning("%d of %d write(s) kept by a previous run in %s written", written, kept, self.journal.path)

    def index_recent_recordings(self, since: datetime) -> dict[str, int]:
        """After a database outage: index the segment files recorded since it began that the index lacks (their
        message was lost or refused). Recorders keep running: partial files are not touched. Counts by camera."""
        if self.uploader is not None:
            return {}  # the spool and the uploader's own retries keep every file until it is indexed
        margin = timedelta(seconds=2 * self.config.storage.segment_seconds)
        counts: dict[str, int] = {}
        for entry in self.entries:
            camera_id = entry.camera.id
            found = index_recent(
                self.segments_root, camera_id, self.segments, since - margin, self.clock(), settle_s=SETTLE_S
            )
            if found:
                counts[camera_id] = len(found)
                log.warning("%d segment(s) of camera %s indexed from disk after the outage", len(found), camera_id)
        return counts

    def _database_ready(self) -> Check:
        writer = self.sink.writer
        outage = writer.outage if writer is not None else None
        return database_check(self.watch, lambda: None if outage is None else outage.error, lambda: len(self.journal))

    def _storage_ready(self) -> Check:
        pending = len(self.uploader.pending) if self.uploader is not None else 0
        min_free = self.config.storage.min_free_mb * 1024 * 1024
        return storage_check(self.segments_root, self.config.storage.data_dir, min_free, pending)

    def _monitor(self, engine: Engine) -> ServiceMonitor:
        """Metrics and recording-gap alarms (issue 17), read from every worker message by the sink; the alarms
        written to the database for every process's health view (only by `vigie serve`: an API process's sink
        never runs), not tried while the sink's writes are refused. The MQTT bridge is built first (None unless
        `mqtt.enabled`): the gap changes written go to its outbox too; and the webhook bridge (None unless
        `webhooks.enabled`): to its deliveries too."""
        self.mqtt = self._mqtt(engine)
        self.webhooks = self._webhooks(engine)
        self.webhook_administration = open_webhook_administration(self.config, engine, self.audit, self.clock)
        """Re-enabling endpoints, and forgetting at :meth:`start` the rows of those removed (issue 21)."""
        self.recording_gaps = ledger = SqlRecordingGaps(engine)
        """The recording-gap alarms `vigie serve` writes and every process's health view reads (issue 17)."""
        gaps = GapWatch(self.config.storage.segment_seconds)
        return ServiceMonitor(
            [c.id for c in self.cameras],
            gaps,
            clock=self.clock,
            refusal=self.camera_refusal,
            ledger=self._reported(ledger),
            writable=lambda: (writer := self.sink.writer) is None or writer.writable(),
        )

    def _reported(self, ledger: SqlRecordingGaps) -> GapLedger:
        """The gap ledger, each change it writes reported over MQTT and webhooks when enabled."""
        reported: GapLedger = ledger
        for bridge in (self.webhooks, self.mqtt):
            if bridge is not None:
                reported = bridge.gap_ledger(reported)
        return reported

    def _disks(self) -> list[Disk]:
        """Free space of the recordings' folder (the spool, with a remote store) and of the data folder."""
        min_free = self.config.storage.min_free_mb * 1024 * 1024
        return [
            disk_space("recordings", self.segments_root, min_free),
            disk_space("data", self.config.storage.data_dir, 0),
        ]

    def _metrics_access(self) -> MetricsAccess | None:
        """``/metrics`` for whoever holds the token of ``api.metrics_token_file``; None when it is not set."""
        token_file = self.config.api.metrics_token_file
        if token_file is None:
            return None
        try:
            token = token_file.read_text(encoding="utf-8")
        except OSError as err:
            raise ServiceError(f"api.metrics_token_file {token_file}: cannot read it ({err.strerror})") from None
        registry = metrics_registry(self.monitor, self.supervisor)
        registry.register(self.camera_events.collector)
        if self.mqtt is not None:
            registry.register(MqttCollector(self.mqtt))
        if self.webhooks is not None:
            registry.register(WebhooksCollector(self.webhooks))
        if self.sensors is not None:
            registry.register(SensorCollector(self.sensors, self.sensor_links))
        try:
            return MetricsAccess(token, lambda: exposition(registry))
        except ValueError as err:
            raise ServiceError(f"api.metrics_token_file {token_file}: {err}") from None

    def close_unclean_run(self) -> UncleanStop | None:
        """If the last run ended without ``service.stopped`` (``kill -9``, power cut, OOM killer), close in the audit
        what it left open, before any new gate opens: a ``gate.closed`` (reason ``unclean_stop``) for each gate at
        the last time that run was seen alive — its heartbeat file or its own last entry, whichever is later — then
        ``service.unclean_stop`` saying so. The compliance report then shows those modules stopping there, not
        running through the outage. It died between that time and ``ALIVE_EVERY_S`` later."""
        started = self._audit_store.last(AuditAction.SERVICE_STARTED)
        if started is None:
            return None
        heartbeat, pid = read_alive(self.alive_path), alive_pid(self.alive_path)
        fresh = heartbeat is not None and self.clock() - heartbeat < timedelta(seconds=3 * ALIVE_EVERY_S)
        if fresh and pid is not None and pid != os.getpid() and process_exists(pid):
            log.warning(
                "the last run (pid %d, heartbeat %s) is still alive: a second service on the same data folder? "
                "Nothing of it is closed",
                pid,
                self.alive_path,
            )
            return None
        found = unclean_stop(self._audit_store.records(from_seq=started.seq), heartbeat)
        if found is None:
            return None
        for gate in found.gates:
            activation = int(gate.activation_id) if gate.activation_id.isdigit() else None
            closing = GateTransition(gate.module, gate.camera_id, False, activation, UNCLEAN_STOP, found.last_seen)
            self.audit.append(transition_event(closing))
        closed = [f"{g.module}@{g.camera_id}" for g in found.gates]
        self.audit.append(
            AuditEvent(
                SERVICE_ACTOR,
                AuditAction.SERVICE_UNCLEAN_STOP,
                "service",
                {
                    "previous_start_seq": found.started_seq,
                    "last_seen": found.last_seen.isoformat(),
                    "last_seen_from": found.last_seen_from,
                    "alive_every_s": ALIVE_EVERY_S,
                    "gates_closed": closed,
                },
            )
        )
        log.warning(
            "the previous run (started %s) ended without a clean stop; last seen alive %s (%s); closed: %s",
            found.started_at.isoformat(),
            found.last_seen.isoformat(),
            found.last_seen_from,
            ", ".join(closed) or "no open gate",
        )
        return found

    def reconcile_recordings(self) -> None:
        """Before any recorder starts: recover or quarantine what a crash left, index stray segment files, mark
        indexed segments whose file is gone as missing. One camera's trouble never stops the others.

        With a remote store the spool is uploaded first (what can be: the store may be down), reconciliation then
        counts the keys in the store as present, and what it recovered or indexed from the spool is uploaded
        right after (or by the periodic retry)."""
        self.segments_root.mkdir(parents=True, exist_ok=True)
        self._flush_spool()
        for entry in self.entries:
            camera_id = entry.camera.id
            try:
                elsewhere = frozenset(self.store.keys(f"{camera_id}/")) if self.uploader is not None else frozenset()
                report = reconcile_camera(
                    self.segments_root, camera_id, self.segments, self.clock(), elsewhere=elsewhere
                )
            except Exception:
                log.exception("reconciling the segments of camera %s failed", camera_id)
                continue
            counts = report.summary()
            if counts:
                log.warning("segments of camera %s reconciled: %s", camera_id, counts)
        self._flush_spool()

    def _flush_spool(self) -> None:
        if self.uploader is None:
            return
        try:
            moved = self.uploader.flush(grace_s=0)
        except Exception:
            log.exception("uploading the segment spool failed; retried every %.0f s", UPLOAD_RETRY_EVERY_S)
            return
        if moved:
            log.info("%d segment(s) uploaded from the spool", moved)


def config_fingerprint(config: VigieConfig) -> str:
    """SHA-256 of the configuration as validated (canonical JSON): recorded at every start, so an auditor sees
    when the configuration changed between two starts. Only the digest is stored, never the stream URLs."""
    return hashlib.sha256(canonical_json(config.model_dump(mode="json"))).hexdigest()


def write_alive(path: Path, now: datetime) -> None:
    """Say the service is alive at ``now`` (its clock): a small file rewritten in place, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps({"at": now.isoformat(), "pid": os.getpid()}) + "\n", encoding="utf-8")
    partial.replace(path)


def read_alive(path: Path) -> datetime | None:
    """When the service last said it was alive, or None (no file, or one that cannot be read as written)."""
    try:
        at = datetime.fromisoformat(str(json.loads(path.read_text(encoding="utf-8"))["at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return at if at.tzinfo is not None else None


def alive_pid(path: Path) -> int | None:
    """The process id the heartbeat names, or None."""
    try:
        pid = json.loads(path.read_text(encoding="utf-8"))["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if isinstance(pid, int) and pid > 0 else None


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    """SIGTERM (systemd, docker stop) shuts down like Ctrl-C: workers stopped, open events closed."""
    raise KeyboardInterrupt


def grouping(workers: WorkerSettings) -> Grouping:
    """How the configuration's ``workers`` section groups cameras into processes and runs their detectors."""
    detector = workers.detector
    return Grouping(
        workers.recording_cameras_per_process,
        workers.analysis_cameras_per_process,
        SharedDetectorSettings(
            BatchingConfig(
                max_batch=detector.max_batch,
                max_wait_s=detector.max_wait_ms / 1000,
                workers=detector.inference_workers,
            ),
            intra_op_threads=detector.intra_op_threads,
            providers=tuple(detector.providers),
        ),
    )
