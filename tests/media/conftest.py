"""The in-process three-node network of the hotline tests, reused for media signals."""

from tests.hotline.conftest import backend, net  # noqa: F401 - fixtures
