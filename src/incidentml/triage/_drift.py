"""Drift of a triage target: confidence, accuracy on corrections and the label mix, with river detectors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from river import base as river_base
from river import drift as river_drift

from .._validation import Interval, validate_params
from ..exceptions import InvalidParameterError

__all__ = ["DriftEvent", "TriageDriftMonitor"]

#: Signals whose drift makes a retrain due (a confidence shift alone is only reported).
RETRAIN_SIGNALS = frozenset({"accuracy", "label_mix", "new_label"})


@dataclass(frozen=True)
class DriftEvent:
    """One change seen on a triage target, with its evidence.

    Attributes
    ----------
    target : str
        The triage target (``category``, ``team``...).
    signal : str
        ``"accuracy"`` (share of corrections the model had right), ``"confidence"`` (the model's
        confidence on the tickets it learnt), ``"label_mix"`` (share of one label) or
        ``"new_label"`` (a label never seen before).
    at : int
        Number of corrections learnt when it was seen (1 = the first).
    detector : str
        The river drift detector that saw it (``"ADWIN"``...), or ``"first sight"`` for a new label.
    before, after : float or None
        The detector's estimate of the signal's mean before and after the change (for
        ``label_mix``, the label's share).
    label : str or None
        The label concerned (``label_mix`` and ``new_label``).
    retrain : bool
        Whether this event makes a retrain due (accuracy dropped, the label mix moved, a label appeared).
    message : str
        One sentence for a human.

    Examples
    --------
    >>> ev = TriageDriftMonitor("team").update(correct=None, confidence=None, label="dba")[0]
    >>> ev.signal, ev.label, ev.retrain, ev.detector
    ('new_label', 'dba', True, 'first sight')
    """

    target: str
    signal: str
    at: int
    detector: str
    before: float | None
    after: float | None
    label: str | None
    retrain: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The event as a plain dict (JSON-safe).

        Examples
        --------
        >>> import json
        >>> ev = TriageDriftMonitor("team").update(correct=None, confidence=None, label="dba")[0]
        >>> d = ev.to_dict()
        >>> d["target"], d["signal"], json.loads(json.dumps(d)) == d
        ('team', 'new_label', True)
        """
        return asdict(self)


def _detector_name(det: Any) -> str:
    return type(det).__name__


def _estimate(det: Any) -> float | None:
    est = getattr(det, "estimation", None)
    return None if est is None else float(est)


class TriageDriftMonitor:
    """Watch one triage target for drift: accuracy on corrections, confidence and the label mix.

    Each correction an analyst gives feeds three streams to river drift detectors (a clone of
    ``detector`` each): whether the model had the ticket right (accuracy), the confidence it
    gave (confidence), and for each of the ``max_labels`` most frequent labels whether the
    ticket has it (the label mix). A label never seen before is an event at once. Events that
    make a retrain due: a drop in accuracy, a move of the label mix, a new label. A confidence
    shift alone is reported but does not.

    Parameters
    ----------
    target : str
        Name of the target watched (used in the events).
    detector : river drift detector or None, default=None
        A ``river.drift`` detector (ADWIN, KSWIN, PageHinkley...); ``None`` uses
        ``river.drift.ADWIN(delta=delta)``.
    delta : float, default=0.002
        Confidence level of the default ADWIN (smaller: fewer, surer changes).
    max_labels : int, default=50
        Labels whose share is watched (the first ones seen; later ones only raise ``new_label``).
    known_labels : iterable of str, optional
        Labels known before the first correction (e.g. those of a fitted model): they raise no
        ``new_label`` event.

    Examples
    --------
    >>> mon = TriageDriftMonitor("category", known_labels=["hw", "net"])
    >>> events = []
    >>> for i in range(400):
    ...     events += mon.update(correct=i < 200 or i % 3 == 0, confidence=0.9, label="hw")
    >>> [(e.signal, e.retrain) for e in events]
    [('accuracy', True)]
    >>> mon.update(correct=False, confidence=0.4, label="printing")[0].signal
    'new_label'
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "delta": [Interval(float, 0, 1, closed="neither")],
        "max_labels": [Interval(int, 1, None)],
    }

    def __init__(self, target: str, *, detector: Any = None, delta: float = 0.002, max_labels: int = 50,
                 known_labels: Any = None) -> None:
        self.target = target
        self.detector = detector
        self.delta = delta
        self.max_labels = max_labels
        self.known_labels = known_labels
        validate_params(self)
        if detector is not None and not isinstance(detector, river_base.DriftDetector):
            msg = (f"Parameter 'detector' of TriageDriftMonitor must be a river drift detector (e.g. "
                   f"river.drift.ADWIN()) or None; got {type(detector).__name__}. Pass an instance from river.drift.")
            raise InvalidParameterError(msg)
        self.n_seen_ = 0
        self.events_: list[DriftEvent] = []
        self._seen = {str(v) for v in (known_labels or [])}
        self._accuracy = self._new()
        self._confidence = self._new()
        self._labels: dict[str, Any] = {}

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor's parameters (scikit-learn style).

        Parameters
        ----------
        deep : bool, default=False
            Ignored (the monitor has no nested estimators); kept for scikit-learn's signature.

        Returns
        -------
        dict of str to object

        Examples
        --------
        >>> params = TriageDriftMonitor("team", delta=0.01).get_params()
        >>> params["target"], params["delta"]
        ('team', 0.01)
        """
        return {"target": self.target, "detector": self.detector, "delta": self.delta,
                "max_labels": self.max_labels, "known_labels": self.known_labels}

    def _new(self) -> Any:
        if self.detector is None:
            return river_drift.ADWIN(delta=self.delta)
        return self.detector.clone()

    def _step(self, det: Any, value: float) -> tuple[bool, float | None, float | None]:
        before = _estimate(det)
        det.update(value)
        return bool(det.drift_detected), before, _estimate(det)

    def update(self, *, correct: bool | None, confidence: float | None, label: Any) -> list[DriftEvent]:
        """Feed one correction; return the events it revealed (usually none).

        Parameters
        ----------
        correct : bool or None
            Whether the model's prediction was the analyst's label (``None``: no prediction was made).
        confidence : float or None
            The confidence the model gave its prediction.
        label : str
            The analyst's label.

        Returns
        -------
        list of DriftEvent
            What this correction revealed; usually empty.

        Examples
        --------
        >>> mon = TriageDriftMonitor("team", known_labels=["network", "office"])
        >>> mon.update(correct=True, confidence=0.9, label="network")
        []
        >>> [ev.signal for ev in mon.update(correct=False, confidence=0.6, label="dba")]
        ['new_label']
        >>> mon.n_seen_
        2
        """
        self.n_seen_ += 1
        at, name, out = self.n_seen_, self.target, []
        label = str(label)
        if correct is not None:
            hit, before, after = self._step(self._accuracy, float(bool(correct)))
            if hit and (before is None or after is None or after < before):
                moved = (f"fell from {before:.0%} to {after:.0%}" if before is not None and after is not None
                         else "changed")
                out.append(DriftEvent(name, "accuracy", at, _detector_name(self._accuracy), before, after, None, True,
                                      f"{name}: accuracy on corrections {moved} (after {at} corrections); "
                                      "a retrain is due."))
        if confidence is not None:
            hit, before, after = self._step(self._confidence, float(confidence))
            if hit:
                moved = (f"{'fell' if after < before else 'rose'} from {before:.2f} to {after:.2f}"
                         if before is not None and after is not None else "changed")
                out.append(DriftEvent(name, "confidence", at, _detector_name(self._confidence), before, after, None,
                                      False, f"{name}: mean confidence {moved} (after {at} corrections)."))
        if label not in self._seen:
            self._seen.add(label)
            out.append(DriftEvent(name, "new_label", at, "first sight", None, None, label, True,
                                  f"{name}: new label {label!r} after {at} corrections; a retrain is due."))
        if label not in self._labels and len(self._labels) < self.max_labels:
            det = self._new()
            for _ in range(min(self.n_seen_ - 1, 200)):  # its share so far was 0 (bounded warm-up)
                det.update(0.0)
            self._labels[label] = det
        for lab, det in self._labels.items():
            hit, before, after = self._step(det, 1.0 if lab == label else 0.0)
            if hit:
                moved = (f" from {before:.1%} to {after:.1%}" if before is not None and after is not None else "")
                out.append(DriftEvent(name, "label_mix", at, _detector_name(det), before, after, lab, True,
                                      f"{name}: share of {lab!r} moved{moved} (after {at} corrections); "
                                      "a retrain is due."))
        self.events_.extend(out)
        return out

    def __iter__(self) -> Iterator[DriftEvent]:
        return iter(self.events_)
