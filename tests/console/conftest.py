"""The hotline's three in-process nodes serve the console tests too."""

from tests.hotline.conftest import backend, net  # noqa: F401 - fixtures
