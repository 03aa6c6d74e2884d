"""``incidentml detect``: the exact contract other tools call."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from incidentml.cli import main


def _metrics_csv(path, n=900):
    rng = np.random.default_rng(0)
    t = pd.date_range("2024-01-01", periods=n, freq="1min")
    X = 50 + rng.normal(0, 1, (n, 3))
    X[700:760, 0] += 12
    df = pd.DataFrame(X, columns=["m1", "m2", "m3"])
    df.insert(0, "timestamp", t.strftime("%Y-%m-%dT%H:%M:%S"))
    df["host"] = "web-1"
    df.to_csv(path, index=False)
    return df


def test_detect_writes_scores(tmp_path, capsys):
    df = _metrics_csv(tmp_path / "m.csv")
    assert main(["detect", "--input", str(tmp_path / "m.csv"), "--output", str(tmp_path / "d.csv"),
                 "--threshold", "0.45"]) == 0
    out = pd.read_csv(tmp_path / "d.csv")
    assert list(out.columns) == [*df.columns, "score", "is_anomaly", "top_metric"]
    assert len(out) == len(df) and (out["timestamp"] == df["timestamp"]).all()
    assert out["score"].between(0, 1).all()
    assert out.loc[700:720, "is_anomaly"].any() and out.loc[300:690, "is_anomaly"].mean() < 0.02
    assert out.loc[700:720].loc[out["is_anomaly"], "top_metric"].eq("m1").all()
    assert "ignoring non-numeric column(s) 'host'" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--time-col", "ts"], "--time-col: column 'ts' is not in"),
    (["--detector", "nope"], "--detector: unknown detector 'nope'"),
    (["--threshold", "3"], "--threshold must be between 0 and 1"),
])
def test_detect_bad_options(tmp_path, capsys, args, message):
    _metrics_csv(tmp_path / "m.csv", n=50)
    code = main(["detect", "--input", str(tmp_path / "m.csv"), "--output", str(tmp_path / "d.csv"), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1


def test_detect_empty_and_missing_files(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("")
    assert main(["detect", "--input", str(tmp_path / "empty.csv"), "--output", str(tmp_path / "o.csv")]) == 2
    assert main(["detect", "--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o.csv")]) == 2
    (tmp_path / "text.csv").write_text("timestamp,host\n2024-01-01,a\n")
    assert main(["detect", "--input", str(tmp_path / "text.csv"), "--output", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "is empty" in err and "does not exist" in err and "no numeric metric column" in err
    assert "Traceback" not in err
