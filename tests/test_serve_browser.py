"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright, on a server
over a replayed warehouse. Every page loads with no failed request and no request off 127.0.0.1,
its charts render (inline SVG with data marks), and the filters change what is shown. A screenshot
of each page is taken; with NBADB_SCREENSHOT_DIR=docs/screenshots they are the README's (committed).
"""

from __future__ import annotations

import json
import re
import os
from html.parser import HTMLParser
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from urllib.parse import urlencode
from urllib.request import urlopen

import polars as pl
import pytest

from nbadb.config import BUNDLED_ARCHIVE, PROJECT_ROOT
from nbadb.engine import breakers
from nbadb.orchestrate.backfill import BackfillPlan, run_backfill, start_backfill
from nbadb.orchestrate.replay import replay
from nbadb.orchestrate.workspace import open_workspace
from nbadb.serve.app import ServeApp
from nbadb.serve.html import NAV
from nbadb.serve.plan import Cycle, CycleKind
from nbadb.warehouse.connection import warehouse

from serve_support import FakeClock, eastern, serve_settings, served

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# Pages whose data can be empty on this warehouse: they say so in text instead of drawing.
MAY_BE_EMPTY = {"/gaps"}


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


TODAY = date(2023, 11, 15)
GARBLED_ROWS = 30


def _archive_with_a_garbled_injury_feed(folder: Path) -> Path:
    """The bundled archive plus an injury file of TODAY whose player names were lost: its rows break
    the rule that a move names its player and go to quarantine when TODAY's morning publishes them."""
    for item in BUNDLED_ARCHIVE.iterdir():
        if item.name != "injuries":
            (folder / item.name).symlink_to(item)
    (folder / "injuries").mkdir()
    for item in (BUNDLED_ARCHIVE / "injuries").iterdir():
        (folder / "injuries" / item.name).symlink_to(item)
    teams = ["Cavaliers", "Grizzlies", "Hornets", "Celtics", "Lakers", "Knicks"]
    pl.DataFrame({
        "DATE": [TODAY] * GARBLED_ROWS, "TEAM": [teams[i % len(teams)] for i in range(GARBLED_ROWS)],
        "PLAYER": ["•"] * GARBLED_ROWS, "ACQUIRED": [None] * GARBLED_ROWS, "RELINQUISHED": ["•"] * GARBLED_ROWS,
        "NOTES": [f"placed on IL (feed row {i})" for i in range(GARBLED_ROWS)],
    }, schema_overrides={"ACQUIRED": pl.String}).write_parquet(folder / "injuries" / "injury_transactions_garbled_feed.parquet")
    return folder


@pytest.fixture(scope="module")
def dashboard(replayed_window, tmp_path_factory) -> Iterator[ServeApp]:
    """A server on a copy of the replayed window (three weeks of 2023-24 through every phase) on the
    evening of TODAY: a backfill of the earlier days, monitoring history, a forced-open breaker,
    TODAY's morning cycle run (with a garbled injury feed to quarantine) and alerts sent to a
    loopback receiver."""
    from conftest import copy_warehouse

    data_dir = copy_warehouse(replayed_window.data_dir, tmp_path_factory.mktemp("dashboard"))
    with open_workspace(BUNDLED_ARCHIVE, settings=serve_settings(data_dir)) as ws:
        plan = BackfillPlan(date(2023, 4, 3), date(2023, 4, 9), phases=frozenset({2, 3, 4}))
        assert run_backfill(ws, start_backfill(ws, plan), plan).status == "finished"
    archive = _archive_with_a_garbled_injury_feed(tmp_path_factory.mktemp("archive"))
    with warehouse(data_dir / "nba.duckdb") as con:
        breakers.force_open(con, "predictions.player_prop_predictions:gbm", "system", 600, eastern(2023, 11, 15, 1))
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    Thread(target=receiver.serve_forever, daemon=True).start()
    clock = FakeClock(eastern(2023, 11, 15, 18))
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    with served(data_dir, clock, archive=archive, alert_webhooks=hook) as app:
        for day in (date(2023, 11, 10), date(2023, 11, 13), date(2023, 11, 14)):
            app.run_now(Cycle(clock(), CycleKind.HEALTH, day))
        for day in (date(2023, 10, 30), date(2023, 11, 6), date(2023, 11, 13)):
            app.run_now(Cycle(clock(), CycleKind.WEEKLY, day))
        assert [(r.cycle_kind, r.status) for r in app.run_due()] == [("health", "done"), ("morning", "done")]
        yield app
    receiver.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Visit:
    """A browser page that records every request, and the ones that failed."""

    def __init__(self, browser, base: str) -> None:
        self.base = base
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))
        self.page.on("response", lambda r: self.failed.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)

    def open(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="load")

    def marks(self) -> int:
        return self.page.locator("svg.chart .mark").count()

    def column(self, name: str) -> list[str]:
        headers = [h.strip() for h in self.page.locator("table").last.locator("th").all_inner_texts()]
        index = headers.index(name)
        return [c.strip() for c in self.page.locator(f"table >> nth=-1 >> tbody tr td:nth-child({index + 1})").all_inner_texts()]

    def off_loopback(self) -> list[str]:
        return [u for u in self.requests if not u.startswith("http://127.0.0.1:")]


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where the screenshots go: NBADB_SCREENSHOT_DIR (relative to the project), else a temp folder."""
    chosen = os.environ.get("NBADB_SCREENSHOT_DIR")
    return PROJECT_ROOT / chosen if chosen else tmp_path_factory.mktemp("screenshots")


@pytest.mark.parametrize("path", [href for href, _ in NAV])
def test_every_page_loads_with_no_failed_request_none_off_loopback_and_its_charts_drawn(dashboard, browser, screenshots,
                                                                                        path):
    visit = Visit(browser, f"http://127.0.0.1:{dashboard.port}")
    visit.open(path)
    assert visit.failed == [] and visit.off_loopback() == [], (visit.failed, visit.off_loopback())
    assert visit.page.locator("h1").inner_text()
    if path in MAY_BE_EMPTY:
        assert visit.marks() > 0 or visit.page.locator(".empty").count() > 0
    else:
        assert visit.marks() > 0, f"{path}: no chart with data"
    screenshots.mkdir(parents=True, exist_ok=True)
    shot = screenshots / f"{path.strip('/') or 'overview'}.png"
    visit.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    visit.page.close()


def test_the_runs_filter_shows_only_the_chosen_status(dashboard, browser):
    visit = Visit(browser, f"http://127.0.0.1:{dashboard.port}")
    visit.open("/runs")
    visit.page.select_option("select[name=status]", "skipped")
    visit.page.click("form.filters button")
    visit.page.wait_for_load_state("load")
    assert "status=skipped" in visit.page.url
    statuses = visit.column("status")
    assert statuses and set(statuses) == {"skipped"}
    assert visit.marks() > 0 and visit.failed == []


def test_the_prediction_filters_show_only_the_chosen_call_and_target(dashboard, browser):
    visit = Visit(browser, f"http://127.0.0.1:{dashboard.port}")
    visit.open("/predictions")
    visit.page.select_option("select[name=target]", "pts")
    visit.page.select_option("select[name=call]", "PASS")
    visit.page.click("form.filters button")
    visit.page.wait_for_load_state("load")
    assert "target=pts" in visit.page.url and "call=PASS" in visit.page.url
    assert set(visit.column("call")) == {"PASS"} and set(visit.column("target")) == {"pts"}
    assert visit.page.locator("input[name=date]").input_value() == str(TODAY)  # today's predictions
    assert visit.failed == []


def test_the_predictions_page_of_a_day_without_games_says_so(dashboard):
    """Election Day 2023 had no game: the page said only "no rows: none"."""
    with urlopen(f"http://127.0.0.1:{dashboard.port}/predictions?date=2023-11-07") as response:
        page = response.read().decode()
    assert "no game is scheduled on 2023-11-07 (the published schedule): nothing to predict." in page
    with urlopen(f"http://127.0.0.1:{dashboard.port}/predictions?date=2023-11-08") as response:
        assert "no game is scheduled" not in response.read().decode()


def test_the_quarantine_filter_browses_one_table_and_pages_through_it(dashboard, browser):
    visit = Visit(browser, f"http://127.0.0.1:{dashboard.port}")
    visit.open("/quarantine")
    visit.page.select_option("select[name=table]", "raw.injuries")
    visit.page.select_option("select[name=limit]", "25")
    visit.page.click("form.filters button")
    visit.page.wait_for_load_state("load")
    first = visit.column("record key")
    assert set(visit.column("table name")) == {"raw.injuries"} and len(first) == 25
    assert set(visit.column("reason")) == {"PLAYER is named"}
    visit.page.click("text=next →")
    visit.page.wait_for_load_state("load")
    assert "page=2" in visit.page.url and len(visit.column("record key")) == GARBLED_ROWS - 25
    assert not set(visit.column("record key")) & set(first)
    assert visit.failed == []


def test_the_evaluation_filters_redraw_the_charts_for_one_season_and_target(dashboard, browser):
    visit = Visit(browser, f"http://127.0.0.1:{dashboard.port}")
    visit.open("/evaluation")
    visit.page.select_option("select[name=target]", "pts")
    visit.page.click("form.filters button")
    visit.page.wait_for_load_state("load")
    assert "target=pts" in visit.page.url
    weeks = visit.page.locator("svg.chart").first.locator(".mark").count()
    assert weeks >= 3 * 4  # four systems over the window's three-plus weeks
    assert "nothing to draw yet" in visit.page.inner_text("body")  # 2023-24's archive has no real prop lines
    assert visit.failed == []


def test_the_evaluation_page_writes_every_interval_as_the_report_does(dashboard, browser, run_cli):
    """The page wrote 3 significant digits ("0 [0, 2.22e-14]") where `nbadb report predictions` writes
    "+0.0 [+0.0, +0.0]": each accuracy row now reads on the page as it reads in the report."""
    visit = Visit(browser, f"http://127.0.0.1:{dashboard.port}")
    visit.open("/evaluation?season=2023-24")
    accuracy = visit.page.locator("table").filter(has_text="baseline MAE").first
    headers = [h.strip() for h in accuracy.locator("th").all_inner_texts()]
    rows = [dict(zip(headers, (c.strip() for c in r.locator("td").all_inner_texts())))
            for r in accuracy.locator("tbody tr").all()]
    report = run_cli(["report", "predictions", "--season", "2023-24"], dashboard.settings.data_dir)
    assert report.exit_code == 0, report.output
    lines = [" ".join(line.replace("│", " ").split()) for line in report.output.splitlines()]
    assert len(rows) == 16  # four systems, four targets
    for r in rows:
        cells = f"all {r['target']} {r['system']}", r["MAE"], r["baseline MAE"], r["gain %"]
        assert any(line.startswith(cells[0]) and all(c in line for c in cells[1:]) for line in lines), r
    assert visit.failed == []


class _Selects(HTMLParser):
    """Each drop-down of a page: its name, the values it offers and the one shown chosen (the first
    when none is marked, as a browser shows it)."""

    def __init__(self) -> None:
        super().__init__()
        self.offered: dict[str, list[str]] = {}
        self.chosen: dict[str, str] = {}
        self._name: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "select":
            self._name = a["name"]
            self.offered[self._name] = []
        elif tag == "option" and self._name:
            self.offered[self._name].append(a["value"] or "")
            if "selected" in a or len(self.offered[self._name]) == 1:
                self.chosen[self._name] = a["value"] or ""


def _selects(base: str, path: str) -> _Selects:
    parser = _Selects()
    with urlopen(base + path) as response:
        parser.feed(response.read().decode())
    return parser


def test_every_choice_a_filter_offers_is_the_choice_the_page_then_shows(dashboard):
    """Choosing "all" once showed the latest season on the evaluation page and 50 rows per page."""
    base = f"http://127.0.0.1:{dashboard.port}"
    mismatched, tried = [], 0
    for path, _ in NAV:
        page = _selects(base, path)
        for name, values in page.offered.items():
            for value in values:
                tried += 1
                shown = _selects(base, f"{path}?{urlencode({name: value})}").chosen[name]
                if shown != value:
                    mismatched.append((path, name, value, shown))
    assert tried > 20 and not mismatched, mismatched


def test_a_bad_filter_is_one_line_with_status_400(dashboard, browser):
    visit = Visit(browser, f"http://127.0.0.1:{dashboard.port}")
    response = visit.page.goto(f"{visit.base}/runs?since=yesterday")
    assert response.status == 400 and "since 'yesterday' is not a date" in visit.page.inner_text("body")


def test_the_weekly_mae_judges_every_system_on_the_baselines_rows_and_one_target_per_chart(dashboard):
    """The chart averaged the errors of every target together when none was chosen (points beside
    3-pointers made), and judged the other systems on players' first games of the season too, where
    the baseline (no season average yet) predicts nothing: a week's systems were not on the same rows."""
    base = f"http://127.0.0.1:{dashboard.port}"
    with urlopen(f"{base}/api/v1/evaluation?season=2023-24") as response:
        weekly = json.loads(response.read())["mae_by_week"]
    with dashboard.readers.reader() as con:
        # the baseline's error on the ensemble's rows of each target and week: equal when the rows are
        baseline_on_ensemble_rows = {
            (target, str(week)): (rows, mae) for target, week, rows, mae in con.execute("""
                SELECT target, date_trunc('week', game_date)::DATE, count(*), avg(abs(baseline_value - actual_value))
                FROM predictions.evaluation WHERE season = '2023-24' AND system = 'ensemble'
                  AND baseline_value IS NOT NULL GROUP BY ALL""").fetchall()}
        first_games = con.execute("""SELECT count(*) FROM predictions.evaluation
            WHERE season = '2023-24' AND system = 'ensemble' AND baseline_value IS NULL""").fetchall()[0][0]
    assert first_games > 0  # the window has first games the baseline cannot judge
    baseline = {(r["target"], r["week"]): (r["rows"], r["mae"]) for r in weekly if r["system"] == "baseline"}
    assert baseline.keys() == baseline_on_ensemble_rows.keys()
    for key, (rows, mae) in baseline.items():
        assert rows == baseline_on_ensemble_rows[key][0] and mae == pytest.approx(baseline_on_ensemble_rows[key][1])
    with urlopen(f"{base}/evaluation?season=2023-24") as response:
        page = response.read().decode()
    assert sorted({r["target"] for r in weekly}) == ["ast", "fg3m", "pts", "reb"]
    assert all(page.count(f"{target}: MAE per system per week") == 1 for target in ("ast", "fg3m", "pts", "reb"))



def _card(html: str, label: str) -> str:
    """The value of the card labelled `label` on a page, with its css class."""
    found = re.search(rf'<span class="muted">{re.escape(label)}</span><b class="(\w*)">([^<]*)</b>', html)
    assert found, f"no card {label!r}"
    return f"{found[2]} ({found[1]})"


def _health_cards(base: str) -> tuple[str, str]:
    """The overview's card of the latest check and the health page's card of the check now."""
    with urlopen(f"{base}/") as overview, urlopen(f"{base}/health") as now:
        return _card(overview.read().decode(), "health (latest check)"), _card(now.read().decode(), "now")


def test_the_health_cards_count_the_warnings_a_check_found_beside_its_problems(dashboard, early_november, tmp_path):
    """The overview's card said "healthy" over a check with warnings, and the health page's said
    "UNHEALTHY" without how many problems: each card counts both, from the check it shows."""
    from conftest import copy_warehouse

    assert _health_cards(f"http://127.0.0.1:{dashboard.port}") == ("1 problem (bad)", "1 problem (bad)")

    data_dir = copy_warehouse(early_november, tmp_path / "warned")
    with open_workspace(BUNDLED_ARCHIVE, settings=serve_settings(data_dir)) as ws:  # 11-06 and 11-07 skipped
        assert not any(day.failed for day in replay(ws, date(2023, 11, 8), date(2023, 11, 8)))
    clock = FakeClock(eastern(2023, 11, 9, 9))
    with served(data_dir, clock) as app:
        app.run_now(Cycle(clock(), CycleKind.HEALTH, date(2023, 11, 9)))
        with app.readers.reader() as con:
            [(healthy, warnings, findings)] = con.execute(
                "SELECT healthy, warnings, findings FROM ops.health_checks").fetchall()
        assert healthy and warnings == 1 and "2023-11-06 (nothing published); 2023-11-07" in findings
        assert _health_cards(f"http://127.0.0.1:{app.port}") == ("healthy, 1 warning (warn)",) * 2
        with app.lock:
            breakers.force_open(app.ws.con, "predictions.player_prop_predictions:gbm", "system", 600, clock())
        clock.set(eastern(2023, 11, 9, 9, 5))
        app.run_now(Cycle(clock(), CycleKind.HEALTH, date(2023, 11, 9)))
        assert _health_cards(f"http://127.0.0.1:{app.port}") == ("1 problem, 1 warning (bad)",) * 2
