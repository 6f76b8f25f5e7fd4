"""Federation between sovereign nodes: RFC 9421 signing, outbox, inbox, catch-up, peer HTTP."""

from airrc.federation.context import FederationContext
from airrc.federation.httpsig import FederationAuthError, sign_request, verify_request
from airrc.federation.inbox import Inbox
from airrc.federation.outbox import Outbox

__all__ = [
    "FederationAuthError",
    "FederationContext",
    "Inbox",
    "Outbox",
    "sign_request",
    "verify_request",
]
