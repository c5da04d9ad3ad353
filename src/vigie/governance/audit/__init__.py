"""The audit log (L11) as a governance service: chaining with signed checkpoints, signed exports, and the
offline verification an outside auditor runs without trusting the server.

Storage of the entries is behind the :class:`AuditStore` protocol (``vigie.storage.SqlAuditStore``).
"""

from vigie.governance.audit.chain import SYSTEM_ACTOR, AuditChain
from vigie.governance.audit.export import AuditExportError, ExportSummary, export_audit
from vigie.governance.audit.head import HeadArchive, HeadError, read_heads, sign_head
from vigie.governance.audit.signing import AuditKeyError, AuditKeyring, AuditSigner, key_id_of, load_public_key
from vigie.governance.audit.store import AuditStore
from vigie.governance.audit.verify import VerificationIssue, VerificationReport, verify_export

__all__ = [
    "SYSTEM_ACTOR",
    "AuditChain",
    "AuditExportError",
    "AuditKeyError",
    "AuditKeyring",
    "AuditSigner",
    "AuditStore",
    "ExportSummary",
    "HeadArchive",
    "HeadError",
    "VerificationIssue",
    "VerificationReport",
    "export_audit",
    "key_id_of",
    "load_public_key",
    "read_heads",
    "sign_head",
    "verify_export",
]
