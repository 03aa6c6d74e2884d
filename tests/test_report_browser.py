"""The reports in a real browser: headless Chromium loads each page offline, decodes every image, logs no error.

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``, ``/usr/bin/chromedriver``) and
selenium (in the ``dev`` extra). ``.ci/run`` installs the browser when it is missing and sets
``INCIDENTML_BROWSER_TESTS=require``, so in CI a missing browser fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil

import matplotlib
import pytest

from incidentml import IncidentPredictor
from incidentml.datasets import make_scenario, make_tickets
from incidentml.report import incidents_report, triage_report

matplotlib.use("Agg")

CHROMIUM = os.environ.get("INCIDENTML_CHROMIUM", "/usr/bin/chromium")
DRIVER = os.environ.get("INCIDENTML_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars"]


def _browser_or_skip():
    missing = [p for p in (CHROMIUM, DRIVER) if not (os.path.exists(p) or shutil.which(p))]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[dev]')")
    if missing:
        reason = (f"no browser for the report test: missing {', '.join(missing)} "
                  "(apt-get install chromium chromium-driver)")
        if os.environ.get("INCIDENTML_BROWSER_TESTS") == "require":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    d = webdriver.Chrome(service=Service(DRIVER), options=options)
    d.set_page_load_timeout(60)
    d.set_script_timeout(60)
    yield d
    d.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory, fitted):
    d = tmp_path_factory.mktemp("pages")
    tickets = make_tickets(150, seed=5)
    tickets.loc[:6, "category"] = "mislabelled"
    triage = triage_report(fitted, tickets).save(d / "triage.html")
    sc = make_scenario("disk_fill", seed=3)
    found = IncidentPredictor(limits=sc.limit).run(sc.frame, time_col="timestamp")
    incidents = incidents_report(found, sc.frame, model=fitted, windows=[(sc.onset, sc.failure_at)]).save(
        d / "incidents.html")
    return {"triage": triage, "incidents": incidents}


_IMAGES = """
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.images);
Promise.all(imgs.map(i => i.decode().then(() => [true, i.naturalWidth, i.naturalHeight],
                                          e => [false, String(e), 0])))
  .then(done);
"""


def _network(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


@pytest.mark.parametrize("name", ["triage", "incidents"])
@pytest.mark.parametrize("width", [1280, 390])
def test_report_renders_in_chromium(driver, pages, tmp_path, name, width):
    """Loaded, every image decoded, no console error, nothing fetched, no sideways scroll on a phone."""
    path = pages[name]
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get_log("performance")
    driver.set_window_size(width, 900)
    driver.get(path.resolve().as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    assert driver.title
    decoded = driver.execute_async_script(_IMAGES)
    assert decoded, "the page shows images"
    assert all(ok and w > 0 and h > 0 for ok, w, h in decoded), decoded
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    fetched = [u for u in _network(driver) if u.startswith(("http:", "https:", "ws:", "wss:", "ftp:"))]
    assert fetched == []
    links = driver.execute_script(
        "return Array.from(document.querySelectorAll('a[href^=\"#\"]')).map(a => a.getAttribute('href'))")
    assert links and all(driver.execute_script("return !!document.getElementById(arguments[0])", h[1:])
                         for h in links)
    page_width = driver.execute_script("return document.documentElement.scrollWidth")
    assert page_width <= driver.execute_script("return window.innerWidth"), "the page scrolls sideways"
    shot = tmp_path / f"{name}-{width}.png"
    assert driver.save_screenshot(str(shot))
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size[0] > 0.9 * width - 40
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is None or len(colours) > 50, "the screenshot shows a page, not a blank"
