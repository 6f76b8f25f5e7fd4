"""HTTP API: the app factory (:mod:`airrc.api.app`), people, AI systems and tokens (:mod:`airrc.api.auth`)."""

from airrc.api.auth import AuthenticatedPrincipal, KdfParams, Principals

__all__ = ["AuthenticatedPrincipal", "KdfParams", "Principals"]
