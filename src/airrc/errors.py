"""The one exception tree of airrc.

Every error carries a stable dotted ``code``; the API and the CLI show the code and the message, never
internals. Each code has one HTTP status, from one table here (:func:`http_status`: by code where listed, else by
class); the API layer only applies it. Every error class of the code base is defined in this module.

    Error
    ├── ConfigError                 config.*
    ├── InputError                  input.*, request.*
    │   ├── RequestTooLarge         request.too_large
    │   ├── HotlineError            hotline.*
    │   │   └── TranscriptError     hotline.bad_transcript
    │   ├── HotlineFormatError      hotline.bad_field, hotline.unknown_format, …
    │   ├── ExchangeError           exchange.*
    │   ├── MediaError              media.* (images and video that cannot be hashed)
    │   └── StixError               stix.*
    ├── CryptoError                 crypto.*
    │   ├── SignatureInvalid        crypto.bad_signature
    │   └── SealError               crypto.seal_*
    ├── TrustError                  trust.*
    │   ├── UnknownIssuer           trust.unknown_issuer
    │   └── CardRotationRefused     trust.rotation_refused
    ├── StatementError              statement.*
    ├── LedgerError                 ledger.*
    │   ├── ProofError              ledger.bad_proof, ledger.inconsistent, …
    │   ├── NoteError               ledger.malformed_note, …
    │   ├── StaleSize               ledger.stale_size
    │   └── InconsistentCheckpoint  ledger.inconsistent
    ├── FederationError             federation.* (a peer's answer, delivery)
    │   ├── FederationAuthError     federation.bad_signature, federation.replayed, … (RFC 9421 profile)
    │   └── FederationBusy          federation.busy
    ├── TaxiiError                  taxii.*
    ├── ControlError                control.*
    │   ├── Denied                  control.denied
    │   └── Expired                 control.expired
    ├── StandardsError              standards.*
    ├── StoreError                  store.*
    ├── AuthError                   auth.*
    │   ├── Forbidden               auth.forbidden
    │   └── Throttled               auth.throttled, auth.locked_out
    ├── NotFound                    *.not_found, *.unknown_*
    └── Conflict                    *.conflict / *.exists
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "HTTP_STATUS_BY_CLASS",
    "HTTP_STATUS_BY_CODE",
    "AuthError",
    "CardRotationRefused",
    "ConfigError",
    "Conflict",
    "ControlError",
    "CryptoError",
    "Denied",
    "Error",
    "ExchangeError",
    "Expired",
    "FederationAuthError",
    "FederationBusy",
    "FederationError",
    "Forbidden",
    "HotlineError",
    "HotlineFormatError",
    "InconsistentCheckpoint",
    "InputError",
    "LedgerError",
    "MediaError",
    "NotFound",
    "NoteError",
    "ProofError",
    "RequestTooLarge",
    "SealError",
    "SignatureInvalid",
    "StaleSize",
    "StandardsError",
    "StatementError",
    "StixError",
    "StoreError",
    "TaxiiError",
    "Throttled",
    "TranscriptError",
    "TrustError",
    "UnknownIssuer",
    "first_problem",
    "http_status",
]


class Error(Exception):
    """Root of airrc's errors: a stable ``code`` and a message safe to show to a peer or user."""

    default_code = "airrc.error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.details = details

    def diagnostics(self) -> str:
        """One line for a terminal: the code and the explanation."""
        return f"error[{self.code}]: {self.message}"

    def __str__(self) -> str:
        return self.message


class ConfigError(Error):
    default_code = "config.invalid"


class InputError(Error):
    default_code = "input.invalid"


class RequestTooLarge(InputError):
    default_code = "request.too_large"


class CryptoError(Error):
    default_code = "crypto.error"


class SignatureInvalid(CryptoError):
    default_code = "crypto.bad_signature"


class SealError(CryptoError):
    default_code = "crypto.seal_open_failed"


class TrustError(Error):
    default_code = "trust.error"


class UnknownIssuer(TrustError):
    default_code = "trust.unknown_issuer"


class CardRotationRefused(TrustError):
    default_code = "trust.rotation_refused"


class StatementError(Error):
    default_code = "statement.invalid"


class LedgerError(Error):
    default_code = "ledger.error"


class ProofError(LedgerError):
    default_code = "ledger.bad_proof"


class ControlError(Error):
    default_code = "control.error"


class HotlineError(InputError):
    default_code = "hotline.error"


class TranscriptError(HotlineError):
    default_code = "hotline.bad_transcript"


class HotlineFormatError(InputError):
    default_code = "hotline.bad_field"


class ExchangeError(InputError):
    default_code = "exchange.invalid"


class MediaError(InputError):
    default_code = "media.invalid"


class StixError(InputError):
    default_code = "stix.invalid"


class NoteError(LedgerError):
    default_code = "ledger.malformed_note"


class StaleSize(LedgerError):
    """The submitter's old size is not the size we last cosigned; ``size`` tells it which is."""

    default_code = "ledger.stale_size"

    def __init__(self, size: int) -> None:
        super().__init__(f"the latest cosigned size is {size}")
        self.size = size
        # Set when the refused checkpoint also contradicts the one cosigned at ``size`` (a split view).
        self.evidence: Any = None
        self.peer: Any = None


class InconsistentCheckpoint(LedgerError):
    """A signed checkpoint that contradicts what we cosigned; carries the evidence row to keep and the
    peer's card (typed loosely here: both are types of layers above this one)."""

    default_code = "ledger.inconsistent"

    def __init__(self, message: str, evidence: Any, peer: Any) -> None:
        super().__init__(message)
        self.evidence = evidence
        self.peer = peer


class FederationError(Error):
    default_code = "federation.error"


class FederationAuthError(FederationError):
    """A node-to-node request or response that fails the signing profile."""

    default_code = "federation.bad_signature"


class FederationBusy(FederationError):
    default_code = "federation.busy"


class TaxiiError(Error):
    default_code = "taxii.error"


class Denied(ControlError):
    default_code = "control.denied"


class Expired(ControlError):
    default_code = "control.expired"


class StandardsError(Error):
    default_code = "standards.error"


class StoreError(Error):
    default_code = "store.error"


class AuthError(Error):
    default_code = "auth.unauthenticated"


class Forbidden(AuthError):
    default_code = "auth.forbidden"


class Throttled(AuthError):
    """A login refused before its password is checked: too many recent failures, or locked out."""

    default_code = "auth.throttled"

    def __init__(self, message: str, *, retry_after: int, code: str = "auth.throttled") -> None:
        super().__init__(message, code=code, retry_after=retry_after)
        self.retry_after = retry_after


class NotFound(Error):
    default_code = "resource.not_found"


class Conflict(Error):
    default_code = "resource.conflict"


# Most specific first: the first class that matches decides the status.
HTTP_STATUS_BY_CLASS: tuple[tuple[type[Error], int], ...] = (
    (RequestTooLarge, 413),
    (FederationAuthError, 401),
    (Throttled, 429),
    (Forbidden, 403),
    (AuthError, 401),
    (NotFound, 404),
    (Conflict, 409),
    (StoreError, 503),
    (InputError, 422),
    (StatementError, 422),
    (CryptoError, 422),
    (TrustError, 422),
    (LedgerError, 422),
    (ControlError, 422),
    (StandardsError, 422),
    # A peer's answer we could not use: the failure is upstream of this node.
    (FederationError, 502),
    (TaxiiError, 400),
)
HTTP_STATUS_BY_CODE: dict[str, int] = {
    "input.malformed_json": 400,
    "input.number_out_of_range": 400,
    "input.nul_character": 400,
    "input.bad_parameter": 400,
    "ledger.malformed_request": 400,
    "ledger.unknown_log": 404,
    "ledger.not_cosigned": 404,
    "ledger.bad_signature": 403,
    "ledger.bad_size": 400,
    "ledger.bad_index": 400,
    "ledger.bad_range": 400,
    "ledger.stale_size": 409,
    "ledger.note_too_large": 413,
    "federation.unsigned": 401,
    "federation.unknown_key": 401,
    "federation.bad_signature": 401,
    "federation.stale": 401,
    "federation.under_covered": 401,
    "federation.bad_digest": 401,
    "federation.replayed": 401,
    "federation.no_nonce": 401,
    "federation.batch_too_large": 413,
    "federation.busy": 503,
    # A peer's answer that fails its checks, signature included: the failure is upstream of this node.
    "federation.bad_response": 502,
    # Unknown referents are 404 wherever they are named, a route's path or a request's body.
    "hotline.unknown_channel": 404,
    "hotline.unknown_message": 404,
    "standards.unknown_plan": 404,
    "taxii.unknown_collection": 404,
    "control.unknown_decision": 404,
    "control.unknown_category": 422,
    "control.duplicate_vote": 409,
    "control.closed": 409,
    "control.expired": 409,
    "control.authorization_reused": 409,
    "control.not_a_requester": 403,
    "control.ai_cannot_vote": 403,
    "control.requester_cannot_vote": 403,
    "auth.key_locked": 403,
    "store.not_migrated": 503,
    "console.assets_missing": 503,
    "exchange.bad_query": 400,
    "taxii.not_acceptable": 406,
    "taxii.unsupported_media_type": 415,
    "taxii.bad_cursor": 400,
    "taxii.bad_filter": 400,
    "taxii.bad_envelope": 400,
}


def http_status(error: Error) -> int:
    """The HTTP status for an airrc error: by code where one is listed, else by class."""
    if error.code in HTTP_STATUS_BY_CODE:
        return HTTP_STATUS_BY_CODE[error.code]
    for cls, status in HTTP_STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    return 500


def first_problem(exc: Any, default: str = "value") -> tuple[str, str]:
    """(dotted location, message) of a pydantic ``ValidationError``'s first error, for a one-line message."""
    errors = exc.errors()
    if not errors:
        return default, "invalid"
    err = errors[0]
    return ".".join(str(part) for part in err["loc"]) or default, str(err["msg"])
