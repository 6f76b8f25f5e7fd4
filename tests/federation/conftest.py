"""The in-process three-node network of the hotline tests, reused by the catch-up tests."""

from tests.hotline.conftest import backend, net  # noqa: F401 - fixtures
