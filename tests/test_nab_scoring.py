"""The NAB scorer: NAB's rules on hand-built corpora, the sweep optimizer, the honest split and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentml.cli import main
from incidentml.evaluation import (
    PROFILES,
    NABCorpus,
    NABFile,
    load_nab_corpus,
    nab_report,
    optimize_threshold,
    read_nab_results,
    scaled_sigmoid,
    score_corpus,
)
from incidentml.evaluation._nab import _two_folds
from incidentml.exceptions import DataError, InvalidParameterError, SchemaError

SHARED = Path(__file__).resolve().parents[2] / "shared"
MAX_TP = 0.9866142981514305


def stamps(n: int) -> np.ndarray:
    return np.datetime64("2024-01-01T00:00") + np.arange(n).astype("timedelta64[m]")


def one_file(n: int = 200, windows=((100, 119),)) -> NABCorpus:
    return NABCorpus({"cat/a.csv": NABFile(stamps(n), np.zeros(n), windows)})


def raw_at(corpus: NABCorpus, rows, profile: str = "standard") -> float:
    """Raw score of a detector that fires on exactly ``rows`` of the single file."""
    key = next(iter(corpus))
    s = np.zeros(corpus[key].n_rows)
    s[list(rows)] = 1.0
    return score_corpus({key: s}, corpus, profile, 0.5)["raw"]


def write_corpus(root: Path, files: dict[str, tuple[int, list[tuple[int, int]]]]) -> tuple[Path, Path]:
    """Write NAB-layout data CSVs and a windows JSON: {key: (n_rows, [(left, right), ...])}."""
    labels = {}
    for key, (n, windows) in files.items():
        ts = pd.date_range("2024-01-01", periods=n, freq="5min")
        path = root / "data" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(
            {"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), "value": np.arange(n, dtype=float)}
        ).to_csv(path, index=False)
        labels[key] = [
            [ts[a].strftime("%Y-%m-%d %H:%M:%S.%f"), ts[b].strftime("%Y-%m-%d %H:%M:%S.%f")]
            for a, b in windows
        ]
    (root / "windows.json").write_text(json.dumps(labels), encoding="utf-8")
    return root / "data", root / "windows.json"


def write_results(
    folder: Path, corpus: NABCorpus, scores: dict[str, np.ndarray], detector: str = "myDet"
) -> None:
    for key, s in scores.items():
        category, _, name = key.rpartition("/")
        (folder / category).mkdir(parents=True, exist_ok=True)
        pd.DataFrame(
            {
                "timestamp": pd.DatetimeIndex(corpus[key].timestamps).strftime("%Y-%m-%d %H:%M:%S"),
                "anomaly_score": s,
            }
        ).to_csv(folder / category / f"{detector}_{name}", index=False)


# --- the scaled sigmoid and per-row weights -------------------------------------------------


@pytest.mark.parametrize(
    "y, expected, tol",
    [
        (-1.0, 0.9866142981514305, 1e-15),
        (-0.5, 0.8482836399575131, 1e-15),
        (-0.1, 0.2449186624037092, 1e-15),
        (0.0, 0.0, 0.0),
        (0.1, -0.2449, 5e-5),
        (0.5, -0.8483, 5e-5),
        (1.0, -0.9866142981514303, 1e-15),
        (2.0, -0.99990920, 5e-9),
        (3.0, -0.99999939, 5e-9),
        (3.0001, -1.0, 0.0),
        (50.0, -1.0, 0.0),
    ],
)
def test_scaled_sigmoid_table(y, expected, tol):
    """The scaled sigmoid matches the table of nab-scoring.md section 4, and is exactly -1 beyond 3."""
    assert scaled_sigmoid(y) == pytest.approx(expected, abs=tol)


def test_scaled_sigmoid_vectorised():
    """Arrays give the same values as scalars."""
    ys = np.array([-1.0, -0.5, 0.0, 2.0, 4.0])
    np.testing.assert_array_equal(scaled_sigmoid(ys), [scaled_sigmoid(y) for y in ys])


@pytest.mark.parametrize("profile", list(PROFILES))
def test_first_row_of_window_earns_exactly_a_tp(profile):
    """An alert on a window's first row earns exactly A_TP."""
    assert raw_at(one_file(), [100], profile) == PROFILES[profile]["tp"]


@pytest.mark.parametrize("profile", list(PROFILES))
def test_last_row_of_window_earns_almost_nothing(profile):
    """An alert on a window's last row earns A_TP * sigma(-1/W) / sigma(-1): about 0.0063 A_TP for W = 400.

    (nab-scoring.md says "about 0.0025 A_TP when W is about 400"; sigma(-1/400) = tanh(1/160) = 0.00625.)
    """
    corpus = one_file(2000, ((1000, 1399),))
    raw = raw_at(corpus, [1399], profile)
    assert raw == pytest.approx(PROFILES[profile]["tp"] * scaled_sigmoid(-1 / 400) / MAX_TP, rel=1e-12)
    assert 0 < raw < 0.0064


def test_halfway_alert_earns_about_086():
    """An alert halfway through the window earns sigma(-0.5)/sigma(-1), about 0.86 A_TP."""
    corpus = one_file(2000, ((1000, 1399),))
    assert raw_at(corpus, [1200]) == pytest.approx(scaled_sigmoid(-0.5) / MAX_TP, rel=1e-12)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_fp_before_first_window_costs_a_fp(profile):
    """An alert before the first window costs exactly A_FP (the window is then missed: -A_FN)."""
    c = PROFILES[profile]
    assert raw_at(one_file(), [50], profile) == pytest.approx(-c["fp"] - c["fn"], abs=1e-15)


def test_fp_counted_per_row():
    """An alert that stays on is charged once per row."""
    assert raw_at(one_file(), [50, 51, 52]) == pytest.approx(-3 * 0.11 - 1.0, abs=1e-15)


def test_fp_right_after_window_costs_almost_nothing():
    """The row right after a window costs A_FP * sigma(1/(W-1)), close to 0; far later it costs A_FP."""
    corpus = one_file(400, ((100, 119),))
    just_after = raw_at(corpus, [120]) + 1.0  # remove the missed window's -A_FN
    assert just_after == pytest.approx(0.11 * scaled_sigmoid(1 / 19), rel=1e-12)
    assert -0.03 < just_after < 0
    one_window_later = raw_at(corpus, [119 + 19]) + 1.0
    assert one_window_later == pytest.approx(0.11 * scaled_sigmoid(1.0), rel=1e-12)
    assert raw_at(corpus, [300]) + 1.0 == pytest.approx(-0.11, abs=1e-15)  # beyond 3 window lengths


def test_fp_weighed_against_previous_window_not_next():
    """Between two windows an FP is measured from the previous window's right end."""
    corpus = one_file(600, ((100, 119), (300, 319)))
    raw = raw_at(corpus, [125]) + 2.0  # both windows missed
    assert raw == pytest.approx(0.11 * scaled_sigmoid(6 / 19), rel=1e-12)


def test_only_earliest_detection_in_window_counts():
    """More detections in a window add nothing and cost nothing."""
    corpus = one_file()
    assert raw_at(corpus, [105, 110, 119]) == raw_at(corpus, [105])
    assert raw_at(corpus, [105]) == pytest.approx(scaled_sigmoid(-15 / 20) / MAX_TP, rel=1e-12)


def test_probation_rows_are_ignored():
    """Detections in the first min(floor(0.15 N), 750) rows are neither rewarded nor penalised."""
    corpus = one_file()
    assert corpus["cat/a.csv"].probation == 30
    assert raw_at(corpus, [0, 10, 29]) == -1.0
    assert raw_at(corpus, [30]) == pytest.approx(-1.11, abs=1e-15)
    assert NABFile(stamps(10000), np.zeros(10000)).probation == 750


def test_window_inside_probation_is_neither_hit_nor_miss():
    """A window whose rows are all probationary is not scored (NAB drops it with those rows)."""
    corpus = one_file(200, ((5, 10), (100, 119)))
    r = score_corpus({"cat/a.csv": np.zeros(200)}, corpus, "standard", 0.5)
    assert r["raw"] == -1.0 and r["fn"] == 1 and r["tp"] == 0
    assert r["n_windows"] == 2  # but normalization still counts every window in the labels


def test_file_without_windows():
    """In a file with no windows every detected row costs the full A_FP."""
    corpus = NABCorpus(
        {
            "a/x.csv": NABFile(stamps(100), np.zeros(100)),
            "a/y.csv": NABFile(stamps(100), np.zeros(100), [(50, 59)]),
        }
    )
    s = {"a/x.csv": np.r_[np.zeros(90), np.ones(10)], "a/y.csv": np.r_[np.zeros(50), 1.0, np.zeros(49)]}
    r = score_corpus(s, corpus, "reward_low_FP_rate", 1.0)
    assert r["files"]["a/x.csv"] == {"raw": pytest.approx(-2.2), "tp": 0, "fn": 0, "fp": 10}
    assert r["files"]["a/y.csv"]["raw"] == 1.0
    assert r["raw"] == pytest.approx(-1.2)
    assert r["normalized"] == pytest.approx(100 * (-1.2 + 1) / 2)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_normalization_null_and_perfect(profile):
    """Nothing detected scores 0 and one alert on every window's first row scores 100."""
    corpus = NABCorpus(
        {
            "a/x.csv": NABFile(stamps(300), np.zeros(300), [(100, 119), (200, 229)]),
            "b/y.csv": NABFile(stamps(300), np.zeros(300), [(150, 160)]),
        }
    )
    null = {k: np.zeros(300) for k in corpus}
    assert score_corpus(null, corpus, profile, 0.5)["normalized"] == 0.0
    perfect = {k: np.zeros(300) for k in corpus}
    perfect["a/x.csv"][[100, 200]] = 1.0
    perfect["b/y.csv"][150] = 1.0
    assert score_corpus(perfect, corpus, profile, 0.5)["normalized"] == pytest.approx(100.0, abs=1e-12)


def test_threshold_is_inclusive():
    """A row is detected when its score is >= the threshold."""
    s = np.zeros(200)
    s[100] = 0.7
    assert score_corpus({"cat/a.csv": s}, one_file(), "standard", 0.7)["tp"] == 1
    assert score_corpus({"cat/a.csv": s}, one_file(), "standard", np.nextafter(0.7, 1))["tp"] == 0


# --- input validation -----------------------------------------------------------------------


def test_bad_inputs_raise_clear_errors():
    """NaN scores, missing or unknown files, a wrong length, an unknown profile and a non-number threshold."""
    corpus = one_file()
    s = np.zeros(200)
    s[42] = np.nan
    with pytest.raises(DataError, match=r"'cat/a.csv' at row 42"):
        score_corpus({"cat/a.csv": s}, corpus, "standard", 0.5)
    with pytest.raises(DataError, match=r"No anomaly scores for 'cat/a.csv'"):
        score_corpus({}, corpus, "standard", 0.5)
    with pytest.raises(DataError, match=r"'cat/zz.csv', which is not in the corpus"):
        score_corpus({"cat/a.csv": np.zeros(200), "cat/zz.csv": np.zeros(3)}, corpus, "standard", 0.5)
    with pytest.raises(DataError, match=r"shape \(199,\) but the file has 200 rows"):
        score_corpus({"cat/a.csv": np.zeros(199)}, corpus, "standard", 0.5)
    with pytest.raises(
        InvalidParameterError, match=r"'standard', 'reward_low_FP_rate', 'reward_low_FN_rate'.*'strict'"
    ):
        score_corpus({"cat/a.csv": np.zeros(200)}, corpus, "strict", 0.5)
    for bad in ("0.5", float("nan"), None, True):
        with pytest.raises(InvalidParameterError, match="'threshold' parameter must be a finite number"):
            score_corpus({"cat/a.csv": np.zeros(200)}, corpus, "standard", bad)
    with pytest.raises(InvalidParameterError, match="must be one of"):
        optimize_threshold({"cat/a.csv": np.zeros(200)}, corpus, "nope")


def test_overlapping_windows_are_refused():
    """Windows must be in time order and must not overlap."""
    with pytest.raises(DataError, match="overlap"):
        NABFile(stamps(100), np.zeros(100), [(10, 30), (30, 40)])
    with pytest.raises(DataError, match="not a row range"):
        NABFile(stamps(100), np.zeros(100), [(90, 100)])


def test_load_corpus_and_results(tmp_path):
    """Windows become inclusive row-index pairs; results are matched by <category>/<detector>_<file>.csv."""
    data, labels = write_corpus(tmp_path, {"c1/a.csv": (120, [(60, 70)]), "c2/b_a.csv": (100, [])})
    corpus = load_nab_corpus(data, labels)
    assert list(corpus) == ["c1/a.csv", "c2/b_a.csv"]
    assert corpus.windows == {"c1/a.csv": ((60, 70),), "c2/b_a.csv": ()}
    assert corpus.probation == {"c1/a.csv": 18, "c2/b_a.csv": 15}
    assert corpus.n_windows == 1 and corpus.n_rows == 220
    assert corpus.timestamps["c1/a.csv"].dtype.kind == "M"
    scores = {"c1/a.csv": np.linspace(0, 1, 120), "c2/b_a.csv": np.zeros(100)}
    write_results(tmp_path / "res", corpus, scores, "my_det")
    got = read_nab_results(tmp_path / "res", corpus)
    assert set(got) == set(corpus) and np.array_equal(got["c1/a.csv"], scores["c1/a.csv"])


def test_results_errors_name_the_file(tmp_path):
    """Missing results, row mismatches, NaN and mixed detectors are reported with the file and the fix."""
    data, labels = write_corpus(tmp_path, {"c1/a.csv": (120, [(60, 70)]), "c1/b.csv": (100, [])})
    corpus = load_nab_corpus(data, labels)
    res = tmp_path / "res"
    write_results(res, corpus, {"c1/a.csv": np.zeros(120)})
    with pytest.raises(DataError, match=r"No results file for 'c1/b.csv': expected .*<detector>_b.csv"):
        read_nab_results(res, corpus)
    pd.DataFrame({"timestamp": ["2024-01-01 00:00:00"], "anomaly_score": [0.0]}).to_csv(
        res / "c1" / "myDet_b.csv", index=False
    )
    with pytest.raises(DataError, match=r"myDet_b.csv' has 1 rows but the data file 'c1/b.csv' has 100"):
        read_nab_results(res, corpus)
    s = np.zeros(100)
    s[7] = np.nan
    write_results(res, corpus, {"c1/b.csv": s})
    with pytest.raises(DataError, match=r"myDet_b.csv.*row 7"):
        read_nab_results(res, corpus)
    write_results(res, corpus, {"c1/a.csv": np.zeros(120), "c1/b.csv": np.zeros(100)}, "other")
    with pytest.raises(DataError, match=r"several detectors \['myDet', 'other'\]"):
        read_nab_results(res, corpus)
    assert read_nab_results(res, corpus, detector="other")["c1/b.csv"].shape == (100,)
    (res / "c1" / "myDet_b.csv").unlink()
    (res / "c1" / "other_a.csv").unlink()
    with pytest.raises(DataError, match="come from detector"):
        read_nab_results(res, corpus)
    with pytest.raises(DataError, match="no 'c1' subfolder.*give one of them"):
        read_nab_results(tmp_path, corpus)
    bad = json.loads(labels.read_text())
    bad["c1/a.csv"] = [["2024-01-01 00:01:00", "2024-01-01 01:00:00"]]
    labels.write_text(json.dumps(bad))
    with pytest.raises(DataError, match=r"'2024-01-01 00:01:00' of 'c1/a.csv' matches no timestamp"):
        load_nab_corpus(data, labels)
    (data / "c1" / "a.csv").write_text("time,value\n2024-01-01 00:00:00,1\n")
    with pytest.raises(SchemaError, match="lacks column"):
        load_nab_corpus(data, labels)


# --- threshold optimization -----------------------------------------------------------------


@st.composite
def corpora(draw):
    """A small random corpus with scores drawn from few values (so ties are common)."""
    files, scores = {}, {}
    for i in range(draw(st.integers(1, 4))):
        n = draw(st.integers(20, 90))
        windows, left = [], draw(st.integers(0, n - 1))
        while left < n and len(windows) < 3:
            right = min(n - 1, left + draw(st.integers(0, 12)))
            windows.append((left, right))
            left = right + 1 + draw(st.integers(0, 30))
        if draw(st.booleans()):
            windows = []
        key = f"c{i % 2}/f{i}.csv"
        files[key] = NABFile(stamps(n), np.zeros(n), windows)
        levels = draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=6))
        scores[key] = np.array(draw(st.lists(st.sampled_from(levels), min_size=n, max_size=n)))
    return NABCorpus(files), scores


@given(corpora(), st.sampled_from(list(PROFILES)))
def test_optimize_matches_brute_force(data, profile):
    """The sweep returns the best threshold over every distinct score (plus 1.1), ties to the highest."""
    corpus, scores = data
    candidates = sorted({float(v) for s in scores.values() for v in s} | {1.1}, reverse=True)
    raws = [score_corpus(scores, corpus, profile, t)["raw"] for t in candidates]
    best = max(raws)
    expected = next(t for t, r in zip(candidates, raws, strict=True) if r >= best - 1e-9)
    threshold, raw = optimize_threshold(scores, corpus, profile)
    assert threshold == expected
    assert raw == pytest.approx(best, abs=1e-9)
    assert raw == score_corpus(scores, corpus, profile, threshold)["raw"]


@given(corpora())
def test_optimize_on_subset_uses_only_those_files(data):
    """With files=..., only those files' scores and windows matter."""
    corpus, scores = data
    first = next(iter(corpus))
    t, raw = optimize_threshold(scores, corpus, "standard", files=[first])
    sub = NABCorpus({first: corpus[first]})
    assert (t, raw) == optimize_threshold({first: scores[first]}, sub, "standard")


def test_optimize_ties_go_to_the_highest_threshold():
    """Later detections in an already-detected window do not change the score: the higher threshold wins."""
    s = np.zeros(200)
    s[100], s[105] = 0.9, 0.8
    assert optimize_threshold({"cat/a.csv": s}, one_file(), "standard") == (0.9, 1.0)
    nothing = np.zeros(200)  # with no useful detection the best is to detect nothing
    nothing[50] = 0.4
    assert optimize_threshold({"cat/a.csv": nothing}, one_file(), "standard") == (1.1, -1.0)


# --- the honest 2-fold score ----------------------------------------------------------------


def big_corpus() -> NABCorpus:
    files = {}
    for c, count in {"artA": 5, "artB": 6, "realC": 3, "realD": 1}.items():
        for i in range(count):
            files[f"{c}/s{i}.csv"] = NABFile(stamps(200), np.zeros(200), [(100 + i, 119 + i)])
    return NABCorpus(files)


def test_honest_split_is_deterministic_and_stratified():
    """The folds are fixed by seed 0, split each category evenly and differ in size by at most one file."""
    corpus = big_corpus()
    folds = _two_folds(corpus)
    assert folds == _two_folds(big_corpus())
    assert sorted(folds[0] + folds[1]) == sorted(corpus) and not set(folds[0]) & set(folds[1])
    assert abs(len(folds[0]) - len(folds[1])) <= 1
    for cat, count in {"artA": 5, "artB": 6, "realC": 3, "realD": 1}.items():
        n0 = sum(f.startswith(cat + "/") for f in folds[0])
        assert n0 in (count // 2, (count + 1) // 2)
    assert _two_folds(corpus, seed=1) != folds


def test_nab_report_structure_and_honest_computation():
    """Honest: each fold's threshold is applied to the other fold; the summed raw score is normalized."""
    corpus = big_corpus()
    rng = np.random.default_rng(3)
    scores = {k: np.round(rng.random(200), 2) for k in corpus}
    report = nab_report(scores, corpus)
    board, honest = report["scoreboard"], report["honest"]
    folds = honest["folds"]
    assert folds == _two_folds(corpus)
    for p, c in PROFILES.items():
        t, raw = optimize_threshold(scores, corpus, p)
        assert board["thresholds"][p] == t
        assert board[p] == pytest.approx(score_corpus(scores, corpus, p, t)["normalized"])
        t1, t2 = honest["thresholds"][p]
        assert t1 == optimize_threshold(scores, corpus, p, files=folds[0])[0]
        assert t2 == optimize_threshold(scores, corpus, p, files=folds[1])[0]
        raw = (
            score_corpus(scores, corpus, p, t1, files=folds[1])["raw"]
            + score_corpus(scores, corpus, p, t2, files=folds[0])["raw"]
        )
        n = corpus.n_windows
        assert honest[p] == pytest.approx(100 * (raw + c["fn"] * n) / (c["tp"] * n + c["fn"] * n))
        assert honest[p] <= board[p] + 1e-9  # the oracle threshold is never beaten


# --- command line ---------------------------------------------------------------------------


def cli(capsys, *args):
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def nab_dir(tmp_path):
    data, labels = write_corpus(tmp_path, {"c1/a.csv": (200, [(100, 119)]), "c2/b.csv": (150, [(60, 70)])})
    corpus = load_nab_corpus(data, labels)
    scores = {
        "c1/a.csv": np.r_[np.zeros(100), 0.9, np.zeros(99)],
        "c2/b.csv": np.r_[np.zeros(40), 0.95, np.zeros(109)],
    }
    write_results(tmp_path / "res", corpus, scores)
    return tmp_path, data, labels, corpus, scores


def test_cli_score(nab_dir, capsys):
    """'nab score' prints one JSON line with profile, threshold, raw and normalized."""
    root, data, labels, corpus, scores = nab_dir
    code, out, err = cli(
        capsys,
        "nab",
        "score",
        "--data",
        data,
        "--labels",
        labels,
        "--results",
        root / "res",
        "--profile",
        "standard",
        "--threshold",
        0.9,
        "--json",
        root / "s.json",
    )
    assert code == 0, err
    assert len(out.strip().splitlines()) == 1
    got = json.loads(out)
    want = score_corpus(scores, corpus, "standard", 0.9)
    assert {k: got[k] for k in ("profile", "threshold", "raw", "normalized")} == {
        k: want[k] for k in ("profile", "threshold", "raw", "normalized")
    }
    assert got["detector"] == "myDet" and json.loads((root / "s.json").read_text()) == got
    code, out, _ = cli(
        capsys,
        "nab",
        "score",
        "--data",
        data,
        "--labels",
        labels,
        "--results",
        root / "res",
        "--profile",
        "reward_low_FN_rate",
        "--optimize",
    )
    got = json.loads(out)
    assert (
        code == 0 and got["threshold"] == optimize_threshold(scores, corpus, "reward_low_FN_rate")[0] == 0.9
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"--data": "missing"}, "--data: folder"),
        ({"--results": "missing"}, "--results: folder"),
        ({"--labels": "missing.json"}, "--labels: file"),
        ({"--threshold": None}, "one of the arguments --threshold --optimize is required"),
        ({"--optimize": ""}, "not allowed with argument"),
        ({"--profile": "strict"}, "invalid choice: 'strict'"),
        ({"--threshold": "nan"}, "expects a finite number"),
    ],
)
def test_cli_errors_are_one_line(nab_dir, capsys, change, message):
    """Bad options exit with status 2 and one line on stderr naming the problem."""
    root, data, labels, _, _ = nab_dir
    opts = {
        "--data": data,
        "--labels": labels,
        "--results": root / "res",
        "--profile": "standard",
        "--threshold": 1,
    }
    for k, v in change.items():
        opts[k] = root / v if v not in (None, "", "strict", "nan") and k != "--profile" else v
    args = ["nab", "score"]
    for k, v in opts.items():
        if v is not None:
            args += [k] if v == "" else [k, v]
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


class _FakeDetector:
    calls: list = []

    def score_many(self, values, t=None):
        type(self).calls.append((values, t))
        return np.r_[0.0, np.abs(np.diff(values))] / (1.0 + np.abs(values).max())


def test_cli_run_writes_nab_layout(nab_dir, capsys, monkeypatch):
    """'nab run' feeds each series (values and timestamps only) to a fresh detector, writes NAB-layout
    results that 'nab score' reads back, and reports scoreboard, honest and speed."""
    import incidentml.anomaly

    root, data, labels, corpus, _ = nab_dir
    made = []
    _FakeDetector.calls = []
    monkeypatch.setattr(
        incidentml.anomaly, "make_detector", lambda name: made.append(name) or _FakeDetector()
    )
    code, out, err = cli(
        capsys,
        "nab",
        "run",
        "--data",
        data,
        "--labels",
        labels,
        "--detector",
        "fake",
        "--out",
        root / "out",
        "--json",
        root / "run.json",
        "--jobs",
        1,
    )
    assert code == 0, err
    got = json.loads(out)
    assert got == json.loads((root / "run.json").read_text())
    assert got["detector"] == "fake" and got["points_per_second"] > 0
    for part in ("scoreboard", "honest"):
        assert set(PROFILES) <= set(got[part]) and set(got[part]["thresholds"]) == set(PROFILES)
    assert all(len(v) == 2 for v in got["honest"]["thresholds"].values())
    # one fresh detector per file (plus a short warm-up call per file that loads compiled kernels)
    full = [(v, t) for v, t in _FakeDetector.calls if len(v) > 8]
    assert len(full) == 2 and set(made) == {"fake"}
    for values, t in full:
        assert values.ndim == 1 and values.dtype == float and t.dtype.kind == "M" and len(t) == len(values)
    written = pd.read_csv(root / "out" / "c1" / "fake_a.csv")
    assert list(written.columns) == ["timestamp", "value", "anomaly_score"] and len(written) == 200
    expected = _FakeDetector().score_many(corpus["c1/a.csv"].values)
    np.testing.assert_array_equal(written["anomaly_score"].to_numpy(), expected)
    code, out, _ = cli(
        capsys,
        "nab",
        "score",
        "--data",
        data,
        "--labels",
        labels,
        "--results",
        root / "out",
        "--profile",
        "standard",
        "--optimize",
    )
    assert code == 0 and json.loads(out)["normalized"] == pytest.approx(got["scoreboard"]["standard"])


def test_cli_run_reports_detector_failure(nab_dir, capsys, monkeypatch):
    """A detector returning the wrong number of scores is a one-line error naming the file."""
    import incidentml.anomaly

    class Short:
        def score_many(self, values, t=None):
            return np.zeros(len(values) - 1)

    root, data, labels, _, _ = nab_dir
    monkeypatch.setattr(incidentml.anomaly, "make_detector", lambda name: Short())
    code, _, err = cli(
        capsys,
        "nab",
        "run",
        "--data",
        data,
        "--labels",
        labels,
        "--detector",
        "short",
        "--out",
        root / "out",
        "--jobs",
        1,
    )
    assert code == 2 and len(err.strip().splitlines()) == 1 and "one score per point" in err


# --- the published numbers ------------------------------------------------------------------

PUBLISHED = {
    "windowedGaussian": {
        "standard": (1.0, 39.6495),
        "reward_low_FP_rate": (1.0, 20.8680),
        "reward_low_FN_rate": (1.0, 47.4100),
    },
    "bayesChangePt": {
        "standard": (0.984596, 17.7140),
        "reward_low_FP_rate": (0.994525, 3.2066),
        "reward_low_FN_rate": (0.981354, 32.2566),
    },
}
REOPTIMIZED = {"windowedGaussian": (39.6495, 20.8680, 47.4100), "bayesChangePt": (17.7140, 5.1330, 32.2566)}


@pytest.mark.skipif(
    not (SHARED / "datasets" / "nab-results").exists(), reason="needs ../shared/datasets (NAB)"
)
def test_reproduces_published_nab_scores():
    """Both published detectors score within 0.01 of NAB at NAB's stored thresholds, and re-optimized."""
    corpus = load_nab_corpus(
        SHARED / "datasets/nab/data", SHARED / "datasets/nab/labels/combined_windows.json"
    )
    assert len(corpus) == 58 and corpus.n_windows == 116 and corpus.n_rows == 365558
    for detector, table in PUBLISHED.items():
        scores = read_nab_results(SHARED / "datasets/nab-results" / detector, corpus)
        for (profile, (threshold, expected)), reopt in zip(table.items(), REOPTIMIZED[detector], strict=True):
            assert score_corpus(scores, corpus, profile, threshold)["normalized"] == pytest.approx(
                expected, abs=0.01
            )
            t, _ = optimize_threshold(scores, corpus, profile)
            assert score_corpus(scores, corpus, profile, t)["normalized"] == pytest.approx(reopt, abs=0.01)


def test_nab_report_one_file_has_no_honest_score():
    """With one file there is no second fold: honest scores are NaN with a warning, never a silent 0.0."""
    from incidentml.exceptions import IncidentMLWarning

    ts = np.datetime64("2024-01-01T00:00") + np.arange(100)
    corpus = NABCorpus({"demo/a.csv": NABFile(ts, np.zeros(100), [(40, 49)])})
    s = np.zeros(100)
    s[41] = 0.9
    with pytest.warns(IncidentMLWarning, match="needs at least two files"):
        report = nab_report({"demo/a.csv": s}, corpus)
    assert report["scoreboard"]["standard"] > 90
    assert all(np.isnan(report["honest"][p]) for p in PROFILES)
    assert np.isnan(report["honest"]["thresholds"]["standard"]).all()
