"""Federation between sovereign nodes: pinned peers, RFC 9421 signing, outbox, inbox, catch-up."""

from airrc.federation.context import FederationContext
from airrc.federation.httpsig import FederationAuthError, sign_request, verify_request
from airrc.federation.inbox import Inbox
from airrc.federation.outbox import Outbox
from airrc.federation.peers import PinnedCard, TrustStore, parse_card_chain

__all__ = [
    "FederationAuthError",
    "FederationContext",
    "Inbox",
    "Outbox",
    "PinnedCard",
    "TrustStore",
    "parse_card_chain",
    "sign_request",
    "verify_request",
]
