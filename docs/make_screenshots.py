"""Screenshots of the two HTML reports for the README and docs (``docs/images/report_*.png``).

Runs the demo into a temporary folder and opens both pages in headless Chromium (Debian's
``chromium`` and ``chromium-driver``, driven by selenium from the ``dev`` extra)::

    .venv/bin/python docs/make_screenshots.py
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from incidentml.demo import main as demo

IMAGES = Path(__file__).parent / "images"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
# (page, file, width, height, scroll to the element with this id or None)
SHOTS = [("triage_report.html", "report_triage.png", 1100, 1500, None),
         ("triage_report.html", "report_triage_tickets.png", 1100, 1300, "target-category"),
         ("incidents_report.html", "report_incidents.png", 1100, 1500, None),
         ("incidents_report.html", "report_incidents_phone.png", 390, 844, "incident-5")]


def main() -> None:
    IMAGES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        with contextlib.redirect_stdout(io.StringIO()):
            demo(["--out", str(Path(tmp) / "demo")])
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in FLAGS + [f"--user-data-dir={Path(tmp) / 'profile'}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            for page, name, width, height, anchor in SHOTS:
                driver.set_window_size(width, height)
                driver.get((Path(tmp) / "demo" / page).resolve().as_uri())
                if anchor:
                    driver.execute_script("document.getElementById(arguments[0]).scrollIntoView()", anchor)
                png = Path(tmp) / name
                driver.save_screenshot(str(png))
                with Image.open(png) as im:
                    im.convert("RGB").quantize(colors=128).save(IMAGES / name, optimize=True)
                print(f"{IMAGES / name}: {(IMAGES / name).stat().st_size // 1024} KB")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
