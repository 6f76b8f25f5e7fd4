"""Federation between sovereign nodes: pinned peers (delivery comes with the Federation issue)."""

from airrc.federation.peers import PinnedCard, TrustStore, parse_card_chain

__all__ = ["PinnedCard", "TrustStore", "parse_card_chain"]
