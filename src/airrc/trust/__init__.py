"""Pinned peers: the node cards this node trusts, their rotations, and lookups by id or name."""

from airrc.trust.peers import PinnedCard, TrustStore, parse_card_chain

__all__ = ["PinnedCard", "TrustStore", "parse_card_chain"]
