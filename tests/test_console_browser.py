"""The console in a real browser: Debian's headless chromium, driven by Playwright, against `agenttrail serve`.

The store is the demo's (``agenttrail demo``: a fleet, a rogue agent, a leaked
token), served by `agenttrail serve` in its own process, plus two tenants'
trails emitted through the SDK while it runs. An analyst searches the trail and
opens a chain; the admin acknowledges a flag and revokes a token, and the pages
show it by themselves (live refresh); stored markup stays text; a tenant's
token sees its tenant alone. No page may trip the Content-Security-Policy.

Locally these tests skip when ``/usr/bin/chromium`` is missing; under
``CI=true`` that is a failure, since ``.ci/run`` installs it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from agenttrail.console.screenshots import CHROMIUM, launch, sign_in
from agenttrail.producers.trail import connect
from tests.console_data import SCRIPT_NAME, Seeded, seed_tenant
from tests.fixtures import client_settings, serve_in, wait_for
from tests.test_cli import agenttrail

pytestmark = pytest.mark.browser

ADMIN = "admin-token-for-tests"
ACME_TOKEN = "acme-analyst-" + "a" * 24
DEMO_EVENTS = "1500"


def require_chromium() -> None:
    """Skip without Debian's chromium (or Playwright), except under CI=true, where it must be there."""
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:  # pragma: no cover - a test extra
            missing = "the playwright package is not installed (pip install -e '.[test]')"
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {missing}: .ci/run must install it before the tests.")
    if missing:
        pytest.skip(f"{missing}; the browser tests run under CI=true")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()
    workdir = tmp_path_factory.mktemp("console-demo")
    ran = agenttrail("demo", "--events", DEMO_EVENTS, cwd=workdir, timeout=300)
    assert ran.returncode == 0, ran.stderr
    servers = serve_in(workdir)
    start = next(servers)
    server = start(AGENTTRAIL_API_TOKENS=json.dumps([
        {"name": "acme-analyst", "sha256": hashlib.sha256(ACME_TOKEN.encode()).hexdigest(), "tenant": "acme"}]))
    settings = client_settings(server)
    seeded = {tenant: seed_tenant(settings, tenant) for tenant in ("acme", "globex")}
    spare = connect(tenant="acme", agent_id="deployer-acme", agent_version="1.0.0", region="eu-west-1",
                    principal="human:acme-bob", settings=settings)
    with spare.action("deploy.release", "v42") as act:
        fingerprint = act.use_token("at_acme_deploy_" + "d" * 24, issuer="https://idp.example")
    spare.close()
    yield {"server": server, "seeded": seeded, "spare_token": fingerprint}
    next(servers, None)


@pytest.fixture(scope="module")
def browser(demo: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def open_page(browser: Any, demo: dict[str, Any], token: str, name: str = "") -> tuple[Any, list[str]]:
    """A signed-in page of a fresh browser context, and the console messages it logs (CSP reports among them)."""
    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.on("pageerror", lambda error: messages.append(str(error)))
    sign_in(page, demo["server"].url, token, name)
    return page, messages


def no_violations(messages: list[str]) -> None:
    assert not [m for m in messages if "Content Security Policy" in m or "Error" in m], messages


def test_an_analyst_searches_the_trail_and_opens_a_chain(browser: Any, demo: dict[str, Any]) -> None:
    page, messages = open_page(browser, demo, ADMIN)
    seeded: Seeded = demo["seeded"]["acme"]
    page.fill("input[name=agent]", "planner-acme")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/ui/trail?*agent=planner-acme*")
    agents = page.locator("#trail-results tbody tr td:nth-child(3) a").all_inner_texts()
    assert agents and set(agents) == {"planner-acme"}
    page.click(f"a[href='/ui/events/{seeded.chain[2]}']")
    page.wait_for_url(f"**/ui/events/{seeded.chain[2]}")
    assert page.locator("h1").inner_text().startswith("llm.call")
    rows = page.locator("#event-chain tbody tr")
    assert rows.count() == len(seeded.chain) and "asked" in (rows.nth(2).get_attribute("class") or "")
    assert page.locator("#event-chain svg rect").count() == len(seeded.chain), "a timing bar per node"
    assert "Integrity:" in page.locator(".integrity").inner_text()
    page.click("#event-chain tbody tr:first-child .twisty")
    assert all(rows.nth(i).is_hidden() for i in range(1, rows.count())), "collapsing the root hides its subtree"
    page.click("#event-chain tbody tr:first-child .twisty")
    assert rows.nth(3).is_visible()
    page.goto(demo["server"].url + "/ui/spend?bucket=hour&since=1d")
    assert page.evaluate("document.querySelectorAll('canvas[data-chart]').length") == 2
    assert page.evaluate("Array.from(document.querySelectorAll('canvas[data-chart]'))"
                         ".every((canvas) => Chart.getChart(canvas) !== undefined)"), "Chart.js drew both charts"
    no_violations(messages)


def test_the_admin_acknowledges_a_flag_and_the_page_drops_it_by_itself(browser: Any, demo: dict[str, Any]) -> None:
    page, messages = open_page(browser, demo, ADMIN, "dana")
    page.goto(demo["server"].url + "/ui/anomalies")
    flag = page.locator("article.flag").first
    flag_id = flag.get_attribute("data-flag")
    flag.locator("input[name=note]").fill("seen it: the demo's rogue agent")
    flag.locator("button[type=submit]").click()
    expect(flag.locator(".result")).to_contain_text("Acknowledged")
    page.locator("#live.on").wait_for()
    page.wait_for_function("id => !document.querySelector(`article[data-flag=\"${id}\"]`)", arg=flag_id,
                           timeout=30_000)  # the live refresh, no reload: the flag is no longer open
    page.goto(demo["server"].url + "/ui/anomalies?status=acknowledged")
    acked = page.locator(f"article.flag[data-flag='{flag_id}']")
    assert "Acknowledged by human:dana: seen it: the demo's rogue agent" in acked.inner_text()
    no_violations(messages)


def test_the_admin_revokes_a_token_only_after_confirming_with_a_reason(browser: Any, demo: dict[str, Any]) -> None:
    page, messages = open_page(browser, demo, ADMIN, "dana")
    url = f"{demo['server'].url}/ui/tokens/{demo['spare_token']}"
    wait_for(lambda: page.goto(url) and page.locator("form.revoke").count(), "the spare token to be stored")
    page.click("form.revoke button[type=submit]")
    assert not page.locator("dialog#confirm").is_visible(), "no reason, no confirmation: the form asks for one"
    page.fill("form.revoke input[name=reason]", "leaked in a public gist")
    page.check("form.revoke input[name=tree]")
    page.click("form.revoke button[type=submit]")
    assert demo["spare_token"] in page.locator("#confirm-text").inner_text()
    page.click("dialog#confirm button[value=cancel]")
    expect(page.locator("dialog#confirm")).to_be_hidden()
    assert page.locator("form.revoke .result").inner_text() == "", "cancelled: nothing sent"
    page.fill("form.revoke input[name=reason]", "leaked in a public gist")
    page.click("form.revoke button[type=submit]")
    page.click("dialog#confirm button[value=ok]")
    page.locator(".status-line .badge.revoked").wait_for(timeout=30_000)  # live refresh
    history = page.locator("#token-status table").last.inner_text()
    assert "leaked in a public gist" in history and "human:dana" in history
    no_violations(messages)


def test_stored_script_renders_as_text_and_never_runs(browser: Any, demo: dict[str, Any]) -> None:
    page, messages = open_page(browser, demo, ADMIN)
    event_id = demo["seeded"]["acme"].payload_event
    page.goto(f"{demo['server'].url}/ui/events/{event_id}")
    assert page.locator("h1 .sub").inner_text() == SCRIPT_NAME
    assert "<img src=x onerror=" in page.locator("dl.fields").inner_text()
    page.goto(f"{demo['server'].url}/ui/trail?tenant=acme")
    assert SCRIPT_NAME in page.locator("#trail-results").inner_text()
    assert page.evaluate("window.__pwned") is None
    no_violations(messages)


def test_a_tenant_token_sees_only_its_tenant_and_cannot_change_anything(browser: Any, demo: dict[str, Any]) -> None:
    page, messages = open_page(browser, demo, ACME_TOKEN)
    url = demo["server"].url
    tenants = page.locator("#trail-results tbody tr td:nth-child(2)").all_inner_texts()
    assert tenants and set(tenants) == {"acme"}
    for path in ("/ui/anomalies?status=all", "/ui/spend", "/ui/tokens"):
        page.goto(url + path)
        text = page.locator("main").inner_text()
        assert "globex" not in text and "umbrella" not in text and "initech" not in text, path
    assert page.locator("form.write").count() == 0, "a reader is offered no change"
    status = page.evaluate("""async (fingerprint) => (await fetch('/ui/tokens/revoke', {method: 'POST',
        headers: {'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
        body: new URLSearchParams({fingerprint, reason: 'x'})})).status""", demo["seeded"]["acme"].tokens[0])
    assert status == 401
    no_violations(messages)
