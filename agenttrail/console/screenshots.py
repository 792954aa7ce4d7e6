"""The README's console screenshots, taken by Debian's chromium from a demo store.

``python -m agenttrail.console.screenshots``

It runs ``agenttrail demo`` into a temporary directory (or reads ``--db``),
serves that store's console on a free loopback port, signs in with a one-time
admin token, and saves a PNG of each main page into ``--out`` (by default
``agenttrail/console/screenshots/``, which is not package data). It needs the
``playwright`` package (the test extra) and ``/usr/bin/chromium``; it never
downloads a browser.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console

from agenttrail import sql
from agenttrail.api import create_app
from agenttrail.callers import Callers
from agenttrail.config import load_settings
from agenttrail.console.local import served
from agenttrail.consumers.store import open_store
from agenttrail.signing import trusted_public_key

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
HERE = Path(__file__).parent / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}


@contextmanager
def console_server(db: Path, admin_token: str) -> Iterator[str]:
    """The console (the API app, no materializer) over ``db``, reads needing ``admin_token``; yields its URL."""
    con = open_store(db, read_only=True)
    key_file = load_settings(db=db).signing_key_path
    app = create_app(con.cursor, callers=Callers(hashlib.sha256(admin_token.encode()).hexdigest(), []),
                     auth_reads=True, public_key=partial(trusted_public_key, None, key_file))
    try:
        with served(app) as url:
            yield url
    finally:
        con.close()


def launch(playwright: Any) -> Any:
    """Debian's chromium, headless, with nothing reaching for the network."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)


def sign_in(page: Any, url: str, token: str, name: str = "") -> None:
    page.goto(f"{url}/ui/login")
    page.fill("input[name=token]", token)
    page.fill("input[name=name]", name)
    page.click("form.signin button[type=submit]")
    page.wait_for_url(f"{url}/ui/trail")


def take(db: Path, out: Path) -> list[Path]:
    """One PNG per main page of the store ``db``, written into ``out``."""
    from playwright.sync_api import sync_playwright

    token = secrets.token_urlsafe(24)
    out.mkdir(parents=True, exist_ok=True)
    con = open_store(db, read_only=True)
    try:
        [(event_id, fingerprint, principal)] = con.execute(sql.text("screenshot_subjects")).fetchall()
    finally:
        con.close()
    pages = {"trail": "/ui/trail", "event": f"/ui/events/{event_id}", "anomalies": "/ui/anomalies?status=all",
             "spend": "/ui/spend?bucket=hour&since=1d", "tokens": f"/ui/tokens/{fingerprint}",
             "principal": f"/ui/principals/{principal}"}
    written = []
    with console_server(db, token) as url, sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport=VIEWPORT)
        sign_in(page, url, token, "analyst")
        for name, path in pages.items():
            page.goto(url + path)
            page.wait_for_load_state("networkidle")
            target = out / f"{name}.png"
            page.screenshot(path=str(target))
            written.append(target)
        browser.close()
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a store to show (default: a fresh `agenttrail demo` run)")
    parser.add_argument("--events", type=int, default=4000, help="events for the demo run")
    parser.add_argument("--out", type=Path, default=HERE, help="where the PNGs go")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="agenttrail-screenshots-") as work:
        db = args.db
        if db is None:
            from agenttrail.demo import run_demo

            db = Path(work) / "agenttrail.duckdb"
            run_demo(db, args.events, seed=1, console=console)
        for path in take(db, args.out):
            console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
