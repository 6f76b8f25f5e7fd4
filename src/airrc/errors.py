"""The one exception tree of airrc.

Every error carries a stable dotted ``code``; the API and the CLI show the code and the message, never
internals. HTTP statuses are assigned in :mod:`airrc.api.app`, not here.

    Error
    ├── ConfigError                 config.*
    ├── InputError                  input.*, request.*
    │   └── RequestTooLarge         request.too_large
    ├── CryptoError                 crypto.*
    │   ├── SignatureInvalid        crypto.bad_signature
    │   └── SealError               crypto.seal_*
    ├── TrustError                  trust.*
    │   ├── UnknownIssuer           trust.unknown_issuer
    │   └── CardRotationRefused     trust.rotation_refused
    ├── StatementError              statement.*
    ├── LedgerError                 ledger.*
    │   └── ProofError              ledger.bad_proof, ledger.inconsistent, …
    ├── ControlError                control.*
    ├── StandardsError              standards.*
    ├── StoreError                  store.*
    ├── AuthError                   auth.*
    │   └── Forbidden               auth.forbidden
    ├── NotFound                    *.not_found
    └── Conflict                    *.conflict / *.exists
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthError",
    "CardRotationRefused",
    "ConfigError",
    "Conflict",
    "ControlError",
    "CryptoError",
    "Error",
    "Forbidden",
    "InputError",
    "LedgerError",
    "NotFound",
    "ProofError",
    "RequestTooLarge",
    "SealError",
    "SignatureInvalid",
    "StandardsError",
    "StatementError",
    "StoreError",
    "Throttled",
    "TrustError",
    "UnknownIssuer",
    "first_problem",
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


def first_problem(exc: Any, default: str = "value") -> tuple[str, str]:
    """(dotted location, message) of a pydantic ``ValidationError``'s first error, for a one-line message."""
    errors = exc.errors()
    if not errors:
        return default, "invalid"
    err = errors[0]
    return ".".join(str(part) for part in err["loc"]) or default, str(err["msg"])
