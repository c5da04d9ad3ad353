"""The audit chain service: appends entries and, every so often, a signed checkpoint of the chain so far.

A checkpoint is an ordinary entry (``audit.checkpoint``, actor ``system:audit``) whose details are
``{covers_seq, covers_hash, key_id, signature}``; the signature is over the canonical JSON of
``{covers_seq, covers_hash, key_id}``. Because each hash covers all the entries before it, a signed
checkpoint vouches for the whole history up to ``covers_seq``: rewriting it would need the private key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from vigie.domain.audit import AuditAction, AuditEvent, AuditRecord
from vigie.governance.audit.signing import AuditKeyring, AuditSigner
from vigie.governance.audit.store import AuditStore

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

    Any number of chains (threads, processes) may share one store: the store serialises appends. A checkpoint
    follows an entry whose ``seq`` is a multiple of ``checkpoint_every``, so with one writer there is one every
    ``checkpoint_every`` entries; with several, about as often.
    """

    def __init__(
        self,
        store: AuditStore,
        keyring: AuditKeyring,
        checkpoint_every: int = 100,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be at least 1, got {checkpoint_every}")
        self.store = store
        self.keyring = keyring
        self.checkpoint_every = checkpoint_every
        self.clock = clock
        self._registered_key: str | None = None

    def append(self, event: AuditEvent) -> AuditRecord:
        """Chain and store ``event``; add a signed checkpoint when its turn comes. Never drops: raises."""
        record = self.store.append(event, now=self.clock())
        if record.seq % self.checkpoint_every == 0 and record.action != AuditAction.AUDIT_CHECKPOINT:
            self._checkpoint_of(record)
        return record

    def checkpoint(self) -> AuditRecord | None:
        """Sign the current head now (service stop, before an export); ``None`` when the log is empty.

        When the head already is a checkpoint it is returned as is.
        """
        head = self.store.head()
        if head is None:
            return None
        if head.action == AuditAction.AUDIT_CHECKPOINT:
            return head
        return self._checkpoint_of(head)

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
        signer = self.signer()
        payload = checkpoint_payload(record.seq, record.hash, signer.key_id)
        details = {**payload, "signature": signer.sign(payload)}
        event = AuditEvent(SYSTEM_ACTOR, AuditAction.AUDIT_CHECKPOINT, CHECKPOINT_TARGET, details)
        return self.store.append(event, now=self.clock())
