"""incidentml.report and ``incidentml report``: self-contained pages, what they say, safe saving."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser

import matplotlib
import numpy as np
import pandas as pd
import pytest

from incidentml import Incident, IncidentPredictor
from incidentml.cli import main
from incidentml.datasets import make_scenario, make_tickets
from incidentml.exceptions import DataError, SchemaError
from incidentml.report import Report, incidents_report, triage_report

matplotlib.use("Agg")


class _Page(HTMLParser):
    """Collects ids, in-page links, image sources, scripts and any URL pointing elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.anchors: list[str] = []
        self.images: list[str] = []
        self.scripts = 0
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "script":
            self.scripts += 1
        if tag == "img":
            self.images.append(a.get("src", ""))
        for key in ("href", "src", "action", "srcset", "poster", "data"):
            value = a.get(key)
            if value is None:
                continue
            if key == "href" and value.startswith("#"):
                self.anchors.append(value[1:])
            elif not value.startswith("data:image/"):
                self.external.append(value)


def check_self_contained(html: str) -> _Page:
    """The page's invariants: parses, no script, nothing loaded from elsewhere, every image a PNG, TOC resolves."""
    page = _Page()
    page.feed(html)
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert '<meta name="viewport"' in html
    assert page.scripts == 0
    assert page.external == []
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html), "CSS loads nothing from elsewhere"
    assert "@import" not in html
    for src in page.images:
        head, data = src.split(",", 1)
        assert head == "data:image/png;base64"
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.anchors and set(page.anchors) <= page.ids
    return page


@pytest.fixture(scope="module")
def labelled():
    return make_tickets(120, seed=3)


# ----------------------------------------------------------------------------------------------- triage
def test_triage_report_shows_metrics_plots_and_tickets(fitted, labelled):
    """Per target: the evaluate() metrics, three plots and the two ticket tables with their words."""
    page = triage_report(fitted, labelled)
    assert isinstance(page, Report)
    assert page.sections == ("Summary", "category", "team", "priority", "The model")
    assert page.n_images == 9 and page.notes == ()
    parsed = check_self_contained(page.html)
    assert len(parsed.images) == 9
    reports = fitted.evaluate(labelled)
    for name, rep in reports.items():
        assert f"{rep['accuracy']:.3f}" in page.html, name
    assert page.html.count("Most confidently wrong") == 3
    assert page.html.count("Least confident") == 3
    # the least confident ticket of 'category' is the first row of its table
    pred = fitted.predict(labelled)
    lowest = pred["category_confidence"].idxmin()
    section = page.html.split('id="target-category"')[1].split("Least confident")[1]
    assert f">{lowest + 1}</td>" in section.split("</tr>")[1]


def test_triage_report_most_wrong_are_wrong_and_most_confident_first(fitted, labelled):
    noisy = labelled.copy()
    noisy.loc[:9, "category"] = "Wrong label"  # ten tickets certainly mispredicted
    page = triage_report(fitted, noisy, top=5)
    wrong = page.html.split('id="target-category"')[1].split("Most confidently wrong")[1].split("Least confident")[0]
    confidences = [float(x) for x in re.findall(r'<td class="n">(\d\.\d\d)</td>', wrong)]
    assert len(confidences) == 5 and confidences == sorted(confidences, reverse=True)
    assert wrong.count("wrong</span>") == 5


def test_triage_report_without_labels_says_so(fitted, labelled):
    page = triage_report(fitted, labelled.drop(columns=["team"]))
    assert any("'team'" in n and "not in the data" in n for n in page.notes)
    assert "No labels for team in the data: predictions only." in page.html
    assert page.n_images == 6
    check_self_contained(page.html)


def test_triage_report_counts_unlabelled_rows(fitted, labelled):
    partly = labelled.copy()
    partly.loc[:4, "priority"] = np.nan
    page = triage_report(fitted, partly)
    assert any("5 of 120 tickets have no label in 'priority'" in n for n in page.notes)


def test_triage_report_ids(fitted, labelled):
    with_ids = labelled.assign(ticket_id=[f"T-{i:04d}" for i in range(len(labelled))])
    page = triage_report(fitted, with_ids)
    assert "<th class=\"n\">ticket_id</th>" in page.html and "T-00" in page.html
    with pytest.raises(SchemaError, match="id_col 'nope'"):
        triage_report(fitted, labelled, id_col="nope")


def test_triage_report_refuses_bad_input(fitted, labelled):
    from incidentml import TriageModel

    with pytest.raises(SchemaError, match="fitted TriageModel"):
        triage_report("model", labelled)
    with pytest.raises(Exception, match="not fitted|fit"):
        triage_report(TriageModel(), labelled)
    with pytest.raises(DataError, match="no rows"):
        triage_report(fitted, labelled.iloc[:0])
    with pytest.raises(SchemaError, match="DataFrame"):
        triage_report(fitted, labelled.to_dict("records"))
    with pytest.raises(SchemaError, match="'owner' is not one this model predicts"):
        triage_report(fitted, labelled, targets={"owner": "team"})
    with pytest.raises(DataError, match="top must be a positive integer"):
        triage_report(fitted, labelled, top=0)


# ----------------------------------------------------------------------------------------------- incidents
@pytest.fixture(scope="module")
def scenario():
    sc = make_scenario("multi_metric", seed=2)
    found = IncidentPredictor(limits=None).run(sc.frame, time_col="timestamp")
    assert found, "the scenario raises at least one incident"
    return sc, found


def test_incidents_report_from_objects_equals_from_jsonl(scenario):
    """The JSONL lines 'incidentml incidents' writes give the same page as the Incident objects."""
    sc, found = scenario
    a = incidents_report(found, sc.frame)
    lines = [json.loads(i.to_json()) for i in found]
    b = incidents_report(lines, sc.frame)
    strip = lambda h: re.sub(r"on \d{4}-\d\d-\d\d \d\d:\d\d UTC\.", "", h)  # noqa: E731 - the "made at" line
    assert strip(a.html) == strip(b.html)
    assert a.sections[0] == "Overview" and len(a.sections) == 1 + len(found)
    parsed = check_self_contained(a.html)
    assert len(parsed.images) == a.n_images >= 1 + len(found)
    for inc in found:
        assert 'id="incident-' in a.html and inc.id in a.html and inc.summary.split(".")[0] in a.html


def test_incidents_report_windows_follow_the_evaluation_rule(scenario):
    """Caught when raised within [onset - early_margin, end]; lead = onset - raised_at; misses listed."""
    sc, found = scenario
    first = min(found, key=lambda i: i.raised_at)
    onset = first.raised_at + 1800.0  # the incident was raised 30 minutes before this window
    far = first.raised_at + 30 * 86400.0
    windows = [(pd.Timestamp(onset, unit="s"), pd.Timestamp(onset + 3600, unit="s")), (far, far + 600)]
    page = incidents_report(found, sc.frame, windows=windows, early_margin=3600)
    assert "1 / 2" in page.html and "missed" in page.html
    assert "30 min early" in page.html
    late = incidents_report(found, sc.frame, windows=windows, early_margin=600)  # 30 min is too early now
    assert "0 / 2" in late.html


def test_incidents_report_triages_with_a_model(scenario, fitted):
    sc, found = scenario
    page = incidents_report(found, sc.frame, model=fitted)
    triage = page.html.split("<h3>Triage</h3>")[1]
    answer = fitted.predict_one(found[0].to_ticket())
    assert answer["category"] in triage.split("</section>")[0]
    without = incidents_report(found, sc.frame)
    assert "No triage model was given" in without.html


def test_incidents_report_draws_the_most_severe_and_says_what_it_left(scenario):
    sc, found = scenario
    page = incidents_report(found, sc.frame, max_incidents=0)
    assert any("without plots" in n for n in page.notes)
    assert page.n_images == len(page.html.split('id="overview"')[1].split("</section>")[0].split("<img")) - 1
    other = incidents_report([{**json.loads(found[0].to_json()), "entity": "elsewhere"}], sc.frame,
                             entity_col=None)
    assert other.n_images >= 1  # without entity_col every row belongs to every entity


def test_incidents_report_entities_and_missing_rows():
    t = pd.date_range("2024-01-01", periods=600, freq="1min")
    rng = np.random.default_rng(0)
    frame = pd.concat([pd.DataFrame({"timestamp": t, "host": h, "cpu": rng.normal(50, 1, 600)}) for h in ("a", "b")])
    frame.loc[(frame.host == "a") & (frame.index > 400) & (frame.index < 430), "cpu"] += 30
    found = IncidentPredictor().run(frame, time_col="timestamp", entity_col="host")
    ghost = Incident(id="ghost-1", entity="ghost", raised_at=t[100].timestamp(), onset=t[100].timestamp(),
                     metrics=[{"name": "cpu", "contribution": 1.0, "first_at": t[100].timestamp(), "peak": 1.0}])
    page = incidents_report(list(found) + [ghost], frame, entity_col="host")
    assert any("No metric rows for entity 'ghost'" in n for n in page.notes)
    check_self_contained(page.html)


def test_incidents_report_refuses_bad_input(scenario):
    sc, found = scenario
    with pytest.raises(SchemaError, match="time_col"):
        incidents_report(found, sc.frame, time_col="when")
    with pytest.raises(DataError, match="no rows"):
        incidents_report(found, sc.frame.iloc[:0])
    with pytest.raises(SchemaError, match="lacks \\['entity'\\]"):
        incidents_report([{"id": "x", "raised_at": 0, "onset": 0}], sc.frame)
    with pytest.raises(DataError, match="not a timestamp"):
        incidents_report([{"id": "x", "entity": "e", "raised_at": "yesterday", "onset": 0}], sc.frame)
    with pytest.raises(DataError, match="windows\\[0\\]"):
        incidents_report(found, sc.frame, windows=[(5, 1)])
    with pytest.raises(DataError, match="windows\\[0\\]"):
        incidents_report(found, sc.frame, windows=["2024-01-01"])
    with pytest.raises(DataError, match="max_incidents"):
        incidents_report(found, sc.frame, max_incidents=-1)
    with pytest.raises(SchemaError, match="TriageModel"):
        incidents_report(found, sc.frame, model="m")


def test_no_incidents_is_a_page_too(scenario):
    sc, _ = scenario
    page = incidents_report([], sc.frame)
    assert page.sections == ("Overview",) and page.n_images >= 1
    check_self_contained(page.html)


# ----------------------------------------------------------------------------------------------- saving
def test_save_is_atomic_and_refuses_inputs(tmp_path):
    page = Report(html="<!doctype html><html></html>", title="t")
    out = page.save(tmp_path / "r.html")
    assert out.read_text() == page.html
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left behind
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    with pytest.raises(DataError, match="one of the report's inputs"):
        page.save(data, inputs=[data])
    assert data.read_text() == "a\n1\n"
    with pytest.raises(DataError, match="not a regular file"):
        page.save(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        page.save(tmp_path / "missing" / "r.html")


def test_repr_html_is_sandboxed():
    r = Report(html='<!doctype html><p class="x">"hi"</p>', title="t")
    shown = r._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and 'sandbox=""' in shown and "&quot;hi&quot;" in shown


# ----------------------------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def files(tmp_path_factory, fitted, labelled, scenario):
    d = tmp_path_factory.mktemp("report")
    fitted.save(d / "model.incidentml")
    labelled.to_csv(d / "tickets.csv", index=False)
    sc, found = scenario
    sc.frame.to_csv(d / "m.csv", index=False)
    (d / "i.jsonl").write_text("".join(i.to_json() + "\n" for i in found))
    return d


def test_cli_triage_report(files, capsys):
    out = files / "t.html"
    assert main(["report", "--model", str(files / "model.incidentml"), "--data", str(files / "tickets.csv"),
                 "--out", str(out), "--top", "3"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    check_self_contained(out.read_text())


def test_cli_incidents_report(files, capsys):
    out = files / "i.html"
    windows = files / "w.json"
    windows.write_text(json.dumps({"windows": [["2024-01-01T00:00:00", "2024-01-01T01:00:00"]]}))
    assert main(["report", "--incidents", str(files / "i.jsonl"), "--input", str(files / "m.csv"),
                 "--model", str(files / "model.incidentml"), "--windows", str(windows), "--out", str(out)]) == 0
    html = out.read_text()
    check_self_contained(html)
    assert "known windows caught" in html and "No triage model was given" not in html


def test_cli_report_counts_bad_jsonl_lines(files, capsys):
    bad = files / "bad.jsonl"
    bad.write_text((files / "i.jsonl").read_text() + "not json\n{\"id\": 1}\n\n")
    assert main(["report", "--incidents", str(bad), "--input", str(files / "m.csv"), "--out",
                 str(files / "b.html")]) == 0
    assert "2 line(s)" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    ([], "give either --data"),
    (["--data", "{d}/tickets.csv", "--incidents", "{d}/i.jsonl"], "not both or neither"),
    (["--data", "{d}/tickets.csv"], "--data needs --model"),
    (["--incidents", "{d}/i.jsonl"], "--incidents needs --input"),
    (["--model", "{d}/model.incidentml", "--data", "{d}/tickets.csv", "--out", "{d}/tickets.csv"], "is also an input"),
    (["--incidents", "{d}/i.jsonl", "--input", "{d}/m.csv", "--out", "{d}/nowhere/r.html"], "does not exist"),
    (["--incidents", "{d}/missing.jsonl", "--input", "{d}/m.csv"], "--incidents: file"),
    (["--incidents", "{d}/i.jsonl", "--input", "{d}/m.csv", "--time-col", "when"], "--time-col: column 'when'"),
    (["--incidents", "{d}/i.jsonl", "--input", "{d}/m.csv", "--windows", "{d}/m.csv"], "--windows: "),
    (["--model", "{d}/model.incidentml", "--data", "{d}/m.csv"], "text column"),
])
def test_cli_report_errors_are_one_line(files, capsys, args, message):
    argv = ["report"] + [a.format(d=files) for a in args]
    if "--out" not in argv:
        argv += ["--out", str(files / "err.html")]
    before = (files / "tickets.csv").read_bytes()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert (files / "tickets.csv").read_bytes() == before
    assert not (files / "err.html").exists()
