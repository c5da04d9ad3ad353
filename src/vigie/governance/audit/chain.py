"""The audit chain service: appends entries and, every so often, a signed checkpoint of the chain so far.

A checkpoint is an ordinary entry (``audit.checkpoint``, actor ``system:audit``) whose details are
``{covers_seq, covers_hash, key_id, signature}``; the signature is over the canonical JSON of
``{covers_seq, covers_hash, key_id}``. Because each hash covers all the entries before it, a signed
checkpoint vouches for the whole history up to ``covers_seq``: rewriting it would need the private key.

The checkpoint of an entry whose ``seq`` is a multiple of ``checkpoint_every`` is stored in the same transaction,
immediately after it: entry ``k`` (unless it is itself a checkpoint) is always followed by the checkpoint of ``k``,
which is what ``vigie audit verify`` requires. Each checkpoint the chain writes is also published as a signed
**head** (``head.py``) to the heads file the DPO archives, so that a later cut or rewrite is detected.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

from vigie.domain.audit import AuditAction, AuditEvent, AuditRecord
from vigie.governance.audit.head import HeadArchive, sign_head
from vigie.governance.audit.signing import AuditKeyring, AuditSigner
from vigie.governance.audit.store import AuditStore

log = logging.getLogger(__name__)

SYSTEM_ACTOR: Final = "system:audit"
CHECKPOINT_TARGET: Final = "audit-log"


def checkpoint_payload(covers_seq: int, covers_hash: str, key_id: str) -> dict[str, object]:
    """The signed part of a checkpoint's details."""
    return {"covers_seq": covers_seq, "covers_hash": covers_hash, "key_id": key_id}


def rotation_payload(old_key_id: str, new_key_id: str, new_public_key_pem: str) -> dict[str, object]:
    """The part of a key rotation entry the old key signs, endorsing the new key."""
    return {"old_key_id": old_key_id, "new_key_id": new_key_id, "new_public_key_pem": new_public_key_pem}


class AuditChain:
    """Implements ``vigie.domain.ports.AuditSink``: every append is chained, stored and periodically signed.

    Any number of chains (threads, processes) may share one store: the store serialises appends. The checkpoint of
    an entry whose ``seq`` is a multiple of ``checkpoint_every`` is stored with it, at the next ``seq``, whatever
    the number of writers.
    """

    def __init__(
        self,
        store: AuditStore,
        keyring: AuditKeyring,
        checkpoint_every: int = 100,
        *,
        clock: Callable[[], datetime],
        heads: HeadArchive | None = None,
        head_every: timedelta | None = None,
    ) -> None:
        """``heads``: where published heads are appended (none: they are only kept in memory and returned);
        ``head_every``: publish a head at the first entry appended that long after this chain's last head (or its
        first entry); none: only at checkpoints and on demand."""
        if checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be at least 1, got {checkpoint_every}")
        self.store = store
        self.keyring = keyring
        self.checkpoint_every = checkpoint_every
        self.clock = clock
        self.heads = heads
        self.head_every = head_every
        self._registered_key: str | None = None
        self._last_head: dict[str, Any] | None = None
        self._last_head_at: datetime | None = None
        self._publishing = threading.Lock()

    def append(self, event: AuditEvent) -> AuditRecord:
        """Chain and store ``event``; a signed checkpoint follows it, in the same transaction, when its ``seq`` is a
        multiple of ``checkpoint_every``. Never drops: raises. Publishes a head after a checkpoint, or when the last
        one is older than ``head_every``."""
        now = self.clock()
        record, checkpoint = self.store.append_then(event, now, self._checkpoint_after)
        if checkpoint is not None:
            self.signer()  # registers the key in the store (outside the append's transaction)
            self._publish(checkpoint)
        elif self._head_due(now) and self._publishing.acquire(blocking=False):
            try:  # one thread publishes; the others go on appending
                self._last_head_at = now  # a failure is tried again after head_every, not at every entry
                self.publish_head()
            except Exception:  # the entry is stored: a head that could not be made is logged, and tried again later
                log.exception("could not publish a head of the audit chain after seq %d", record.seq)
            finally:
                self._publishing.release()
        return record

    def checkpoint(self) -> AuditRecord | None:
        """Sign the current head now (service stop, before an export); ``None`` when the log is empty.

        When the head already is a checkpoint it is returned as is; a new checkpoint is published as a head.
        """
        head = self.store.head()
        if head is None:
            return None
        if head.action == AuditAction.AUDIT_CHECKPOINT:
            return head
        checkpoint = self._checkpoint_of(head)
        self._publish(checkpoint)
        return checkpoint

    def publish_head(self) -> dict[str, Any] | None:
        """Checkpoint the chain if needed and return the signed head over that checkpoint, published to the heads
        file (``None`` when the log is empty). Calling it again with nothing appended meanwhile returns the same
        head without writing anything."""
        checkpoint = self.checkpoint()
        if checkpoint is None:
            return None
        if self._last_head is not None and self._last_head["seq"] == checkpoint.seq:
            return self._last_head
        return self._publish(checkpoint)

    def latest_head(self) -> dict[str, Any] | None:
        """The last head published: this chain's, or the heads file's latest (any process), or ``None``."""
        archived = self.heads.latest() if self.heads is not None else None
        mine = self._last_head
        if archived is None or (mine is not None and mine["seq"] >= archived["seq"]):
            return mine
        return archived

    def signer(self) -> AuditSigner:
        """The current signing key, registered in the store."""
        signer = self.keyring.current_signer()
        if self._registered_key != signer.key_id:
            self.store.add_public_key(signer.key_id, signer.public_key_pem, self.clock())
            self._registered_key = signer.key_id
        return signer

    def rotate_key(self, actor: str = SYSTEM_ACTOR) -> AuditRecord:
        """Sign the head with the old key, switch to a new key and record the rotation in the chain.

        The rotation entry carries both key ids, the new public key and an endorsement of it by the old key.
        """
        self.checkpoint()
        old = self.signer()
        new_key_id = self.keyring.rotate()
        new = self.signer()
        now = self.clock()
        self.store.retire_public_key(old.key_id, now)
        payload = rotation_payload(old.key_id, new_key_id, new.public_key_pem)
        event = AuditEvent(
            actor,
            AuditAction.AUDIT_KEY_ROTATED,
            CHECKPOINT_TARGET,
            {**payload, "endorsement": old.sign(payload)},
        )
        return self.append(event)

    def _checkpoint_of(self, record: AuditRecord) -> AuditRecord:
        self.signer()
        return self.store.append(self._checkpoint_event(record), now=self.clock())

    def _checkpoint_after(self, record: AuditRecord) -> AuditEvent | None:
        """Called by the store inside the append's transaction: the checkpoint that must follow ``record``."""
        if record.seq % self.checkpoint_every != 0 or record.action == AuditAction.AUDIT_CHECKPOINT:
            return None
        return self._checkpoint_event(record)

    def _checkpoint_event(self, record: AuditRecord) -> AuditEvent:
        # The keyring only (files): registering the key in the store would write to the database, which must not
        # happen inside the store's append transaction; append() registers it just after.
        signer = self.keyring.current_signer()
        payload = checkpoint_payload(record.seq, record.hash, signer.key_id)
        details = {**payload, "signature": signer.sign(payload)}
        return AuditEvent(SYSTEM_ACTOR, AuditAction.AUDIT_CHECKPOINT, CHECKPOINT_TARGET, details)

    def _publish(self, checkpoint: AuditRecord) -> dict[str, Any]:
        """Sign a head over ``checkpoint`` and append it to the heads file. A file that cannot be written is
        logged, not raised: the entries are stored already, and the next head will cover them."""
        now = self.clock()
        head = sign_head(self.signer(), checkpoint, now, self.checkpoint_every)
        self._last_head, self._last_head_at = head, now
        if self.heads is not None:
            try:
                self.heads.publish(head)
            except OSError as err:
                log.error("cannot append the audit head of seq %d to %s: %s", checkpoint.seq, self.heads.path, err)
        return head

    def _head_due(self, now: datetime) -> bool:
        """Whether ``head_every`` has passed since this chain's last head, or since its first entry: a short-lived
        command never publishes on time alone (its checkpoints and exports do), the service does."""
        if self.head_every is None:
            return False
        if self._last_head_at is None:
            self._last_head_at = now
            return False
        return now - self._last_head_at >= self.head_every
