"""The three in-process nodes of the hotline tests serve the exchange tests too."""

from tests.hotline.conftest import backend, net  # noqa: F401
