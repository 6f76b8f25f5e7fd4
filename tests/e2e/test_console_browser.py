"""The console in Debian's Chromium against two real ``airrc serve`` processes: a FLASH notice appears on the
duty officer's board without a reload, is acknowledged from the keyboard alone with a personal signature,
and the sender's board shows who acknowledged it; every page passes axe with nothing serious, in en and zh."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest

from airrc.console import i18n
from airrc.console.tables import ConsoleSession
from airrc.store.db import utcnow
from tests.e2e.conftest import cli, wait_until
from tests.e2e.test_hotline import OFFICER_PW, _send, _started

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
# Without these, Chromium keeps calling out to Google's hosts, which a closed network refuses.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "test-output" / "console"


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        # Never skipped: the console is tested in a real browser or the suite fails (as PostgreSQL is).
        pytest.fail("Debian's chromium is required: make test installs it (scripts/ensure-chromium.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/console/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console/dashboard")


def _serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def test_flash_notice_live_on_the_board_acknowledged_by_keyboard(cluster, tmp_path, browser):
    us, cn = _started(cluster, tmp_path, ("us-con", "cn-con"), flash_seconds=300)
    channel_id = cli("hotline", "open", "cn-con", home=us.home).stdout.strip()
    officer = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai").new_page()
    _sign_in(officer, cn.url, "olga", OFFICER_PW)
    officer.goto(f"{cn.url}/console/hotline")
    officer.wait_for_selector("#live-status[data-connected='1']", state="attached")
    officer.evaluate("window.__sameDocument = true")

    message_id = _send(us, channel_id)
    sent = time.monotonic()
    card = officer.locator(f"#msg-{message_id}")
    card.wait_for(timeout=15_000)
    appeared = time.monotonic() - sent
    # Live: the page was never reloaded (the marker set before the notice is still there).
    assert officer.evaluate("window.__sameDocument") is True
    assert "FLASH" in card.inner_text()
    print(f"FLASH notice on the board {appeared:.2f} s after the sender's CLI returned")
    # The countdown runs in the viewer's page, and times show in the viewer's zone with UTC on hover.
    assert "left" in card.locator(".countdown").inner_text()
    assert card.locator("time").first.get_attribute("title").endswith("UTC")

    # Keyboard alone: Tab to the password field of this notice, type, Enter.
    field_id = card.locator("input[type=password]").get_attribute("id")
    for _ in range(60):
        officer.keyboard.press("Tab")
        if officer.evaluate("document.activeElement.id") == field_id:
            break
    else:
        pytest.fail("the acknowledgement's password field is not reachable by Tab")
    officer.keyboard.type(OFFICER_PW)
    officer.keyboard.press("Enter")
    officer.locator(f"#row-{message_id}").filter(has_text="olga").wait_for(timeout=15_000)
    assert officer.locator(f"#msg-{message_id}").count() == 0

    sender = browser.new_context(locale="en-US").new_page()
    _sign_in(sender, us.url, "admin", "us-con-admin-password")
    sender.goto(f"{us.url}/console/hotline")
    wait_until(
        lambda: "olga" in sender.locator(f"#row-{message_id}").inner_text(),
        timeout=30,
        what="the acknowledgement on the sender's board",
    )
    assert "acknowledged" in sender.locator(f"#row-{message_id}").inner_text()

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for language in ("en", "zh"):
        for name in ("dashboard", "hotline"):
            sender.goto(f"{us.url}/console/{name}")
            assert _serious_violations(sender) == [], (language, name)
            sender.screenshot(path=str(SCREENSHOTS / f"{name}-{language}.png"), full_page=True)
        if language == "en":
            sender.get_by_label("Language").select_option("zh")
            sender.get_by_role("button", name="Switch").click()
            sender.wait_for_url(f"{us.url}/console/hotline")
            assert sender.locator("html").get_attribute("lang") == "zh-Hans"
            assert sender.get_by_role("heading", name="热线面板").count() == 1
        else:
            # No English console string is left on a zh page (names, codes and formats are data).
            shown = sender.locator("body").inner_text()
            english = [m for m in i18n.catalog("en") if len(m) > 5 and re.search(re.escape(m), shown)]
            assert english == [], name


def test_the_browser_is_refused_without_password_csrf_role_or_a_live_session(cluster, browser):
    node = cluster.add("us-refuse")
    cli(
        "user",
        "add",
        "otto",
        "--role",
        "observer",
        "--password-stdin",
        home=node.home,
        stdin="an observer password\n",
    )
    cluster.start()
    page = browser.new_context(locale="en-US").new_page()
    page.goto(f"{node.url}/console/hotline")
    assert page.url.startswith(f"{node.url}/console/login?reason=auth.unauthenticated")
    page.get_by_label("User name").fill("otto")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert "auth.bad_credentials" in page.get_by_role("alert").inner_text()

    _sign_in(page, node.url, "otto", "an observer password")
    page.goto(f"{node.url}/console/hotline")
    assert "auth.forbidden" in page.get_by_role("alert").inner_text()
    # The browser's own cookie, but no CSRF token: another site's form gets this far and no further.
    forged = page.request.post(f"{node.url}/console/language", form={"language": "zh"})
    assert forged.status == 403
    assert "console.csrf" in forged.text()

    opened = cluster.open("us-refuse")
    try:
        with opened.store.session() as session:
            for row in session.query(ConsoleSession):
                row.last_seen_at = utcnow() - timedelta(minutes=opened.settings.console_idle_minutes + 1)
    finally:
        opened.close()
    page.goto(f"{node.url}/console/dashboard")
    assert page.url.startswith(f"{node.url}/console/login?reason=console.session_expired")
    assert page.locator(".notice").inner_text().startswith("Your session ended")
