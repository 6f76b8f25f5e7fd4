"""People and AI systems of one node: accounts, roles, personal keys, tokens, login throttling."""

from airrc.principals.accounts import AuthenticatedPrincipal, KdfParams, Principals

__all__ = ["AuthenticatedPrincipal", "KdfParams", "Principals"]
