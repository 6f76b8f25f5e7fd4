"""HTTP API: the app factory (:mod:`airrc.api.app`) and the slow-client guard for serving it."""
