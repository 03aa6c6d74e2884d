"""OnlineTriage: triage that learns from analysts' corrections, one ticket at a time."""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from river import compose, feature_extraction, naive_bayes
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from .._validation import Interval, validate_params
from ..evaluation import abstention_threshold
from ..exceptions import DataError, InvalidParameterError, SchemaError
from ..utils import PersistenceMixin
from ._drift import RETRAIN_SIGNALS, DriftEvent, TriageDriftMonitor
from ._head import _is_missing_label
from ._model import TriageModel
from ._text import normalize_text

__all__ = ["OnlineTriage"]

#: Prequential records needed before the abstention cut is learnt from the corrections.
_MIN_CUT_RECORDS = 100
#: New-label and known-label corrections needed before the blend gate is fitted.
_MIN_GATE = 3


def _tokens(text: str) -> list[str]:
    """Words and word pairs of a normalised text (module level, so models pickle)."""
    words = text.split()
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


class _Target:
    """The online state of one target: the river model, the blend gate, the cut and the drift monitor."""

    def __init__(self, name: str, known: Sequence[str], alpha: float, cut: float, window: int, detector: Any) -> None:
        self.name = name
        self.known = tuple(str(k) for k in known)
        self.known_set = frozenset(self.known)
        self.model = compose.Pipeline(
            feature_extraction.BagOfWords(tokenizer=_tokens, lowercase=False, strip_accents=False),
            naive_bayes.MultinomialNB(alpha=alpha))
        self.counts: dict[str, int] = {}
        self.gate_x: deque[tuple[float, float]] = deque(maxlen=100_000)
        self.gate_y: deque[bool] = deque(maxlen=100_000)
        self.gate: LogisticRegression | None = None
        self.base_cut = cut
        self.cut = cut
        self.records: deque[tuple[float, bool]] = deque(maxlen=window)
        self.monitor = TriageDriftMonitor(name, detector=detector, known_labels=self.known)
        self.n_learned = 0

    def online_proba(self, doc: str) -> dict[str, float]:
        if not self.counts:
            return {}
        return {str(k): float(v) for k, v in self.model.predict_proba_one(doc).items()}  # type: ignore[arg-type]


class OnlineTriage(PersistenceMixin):
    """Triage that learns from analysts' corrections, without a retrain; river models underneath.

    Each target (category, priority, team...) gets a river text model (word and word-pair counts
    of the normalised text into a multinomial naive Bayes) that learns every correction at once
    with :meth:`learn_one`. Started from a fitted :class:`~incidentml.TriageModel`, it *blends*
    with it: the batch model keeps deciding between the labels it knows, and the online model
    adds the labels it does not know (a new category, a new team). How much weight the new labels
    get is a small logistic *gate* learnt on the corrections themselves, from the online model's
    probability of a new label and the batch model's confidence, each taken *before* the
    correction was learnt (prequential stacking). Until a new label has been corrected three
    times the gate is the online model's own probability. So, before anything new appears, the
    predictions are exactly the batch model's; after, a new label is picked up within tens of
    corrections.

    The abstention cut ("ask a human") starts as the batch model's and, once 100 corrections of a
    target have been seen, is relearnt every ``refresh_every`` corrections from the most recent
    ``window`` ones (the lowest confidence at which decided tickets reached ``target_precision``),
    so it follows drift. Without a batch model, a target abstains until then.

    Drift is watched per target (:class:`~incidentml.triage.TriageDriftMonitor`, river's ADWIN by
    default): accuracy on the corrections, the confidence given, the label mix, new labels.
    :attr:`retrain_due` says when a retrain is due, with the evidence in :attr:`drift_events_`;
    :meth:`retrain` refits a batch model from the stored corrections (and any past table you
    give) and keeps the old one unless the new one validates at least as well.

    .. versionadded:: 0.3

    Parameters
    ----------
    base : TriageModel or None, default=None
        A fitted batch model to start from and blend with. ``None`` learns from corrections only.
    text : str, list of str or None, default=None
        The text fields of a dict ticket. ``None``: the base model's text columns, or, without a
        base model, every string field of the ticket (a string ticket is its text).
    alpha : float, default=0.1
        Additive smoothing of the naive Bayes models.
    target_precision : float, default=0.9
        Precision the decided tickets should reach when the cut is relearnt from corrections.
    window : int, default=2000
        Most recent corrections per target the abstention cut is learnt from.
    refresh_every : int, default=50
        Corrections of a target between refits of its gate and cut (a correction with a new
        label refits the gate at once while it has fewer than 50 such corrections).
    drift_detector : river drift detector or None, default=None
        Detector cloned for every drift signal; ``None`` uses ``river.drift.ADWIN()``.
    max_history : int, default=100000
        Corrections kept for :meth:`retrain` and :meth:`history` (the oldest are dropped first).

    Attributes
    ----------
    base_ : TriageModel or None
        The batch model in use (replaced by :meth:`retrain` when a new one validates better).
    targets_ : list of str
        Targets known: the base model's, then those seen in corrections.
    n_learned_ : int
        Corrections learnt.
    drift_events_ : list of DriftEvent
        Every drift event seen (see :class:`~incidentml.triage.DriftEvent`).

    Examples
    --------
    >>> model = OnlineTriage()
    >>> for text, y in [("printer jammed", "hardware"), ("vpn is down", "network"),
    ...                 ("printer out of toner", "hardware"), ("wifi keeps dropping", "network")] * 3:
    ...     model.learn_one(text, {"category": y})
    >>> model.predict_one("the printer is broken")["category"]
    'hardware'
    >>> sorted(model.predict_proba_one("vpn down again")["category"].items())[1][0]
    'network'
    """

    _model_kind = "incidentml.OnlineTriage"

    _parameter_constraints: dict[str, list[Any]] = {
        "base": [TriageModel, None],
        "text": [str, list, tuple, None],
        "alpha": [Interval(float, 0, None, closed="neither")],
        "target_precision": [Interval(float, 0, 1, closed="right")],
        "window": [Interval(int, 10, None)],
        "refresh_every": [Interval(int, 1, None)],
        "max_history": [Interval(int, 1, None)],
    }

    def __init__(self, base: TriageModel | None = None, *, text: str | Sequence[str] | None = None,
                 alpha: float = 0.1, target_precision: float = 0.9, window: int = 2000, refresh_every: int = 50,
                 drift_detector: Any = None, max_history: int = 100_000) -> None:
        self.base = base
        self.text = text
        self.alpha = alpha
        self.target_precision = target_precision
        self.window = window
        self.refresh_every = refresh_every
        self.drift_detector = drift_detector
        self.max_history = max_history
        validate_params(self)
        if base is not None:
            base._check_fitted()
        self._start(base)

    # ---------------------------------------------------------------------------- set-up and params
    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor's parameters (scikit-learn style).

        Parameters
        ----------
        deep : bool, default=False
            Ignored (the base model is returned as it is); kept for scikit-learn's signature.

        Returns
        -------
        dict of str to object

        Examples
        --------
        >>> params = OnlineTriage(alpha=0.5, window=100).get_params()
        >>> params["alpha"], params["window"], params["base"]
        (0.5, 100, None)
        """
        return {"base": self.base, "text": self.text, "alpha": self.alpha, "target_precision": self.target_precision,
                "window": self.window, "refresh_every": self.refresh_every, "drift_detector": self.drift_detector,
                "max_history": self.max_history}

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.get_params().items() if k != "base"}
        base = "TriageModel(...)" if self.base is not None else "None"
        return f"OnlineTriage(base={base}, " + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    def _start(self, base: TriageModel | None) -> None:
        self.base_ = base
        self._targets: dict[str, _Target] = {}
        if base is not None:
            for name, est in base.estimators_.items():
                self._targets[name] = self._new_target(name, [str(c) for c in est.classes_], float(est.threshold_))
        self._history: deque[dict[str, Any]] = deque(maxlen=self.max_history)
        self.n_learned_ = 0
        self.drift_events_: list[DriftEvent] = []
        self._retrain_pending: list[DriftEvent] = []

    def _new_target(self, name: str, known: Sequence[str], cut: float) -> _Target:
        return _Target(name, known, self.alpha, cut, self.window, self.drift_detector)

    @property
    def targets_(self) -> list[str]:
        """Targets known: the base model's, then those seen in corrections, in order of arrival.

        Examples
        --------
        >>> model = OnlineTriage()
        >>> model.targets_
        []
        >>> model.learn_one("vpn is down", {"team": "netops"})
        >>> model.learn_one("disk full", {"category": "storage"})
        >>> model.targets_
        ['team', 'category']
        """
        return list(self._targets)

    @property
    def retrain_due(self) -> bool:
        """Whether accuracy fell, the label mix moved or a new label appeared since the last retrain.

        Examples
        --------
        >>> from incidentml import OnlineTriage
        >>> model = OnlineTriage()
        >>> for text, y in [("printer jammed", "hardware"), ("vpn is down", "network"),
        ...                 ("printer out of toner", "hardware"), ("wifi keeps dropping", "network")] * 15:
        ...     model.learn_one(text, {"category": y})
        >>> model.retrain_due  # two labels appeared since the start
        True
        >>> _ = model.retrain(min_corrections=50)
        >>> model.retrain_due
        False
        """
        return bool(self._retrain_pending)

    @property
    def retrain_evidence_(self) -> list[DriftEvent]:
        """The events that made the retrain due (cleared by a retrain that replaces the model).

        Examples
        --------
        >>> from incidentml import OnlineTriage
        >>> model = OnlineTriage()
        >>> for text, y in [("printer jammed", "hardware"), ("vpn is down", "network"),
        ...                 ("printer out of toner", "hardware"), ("wifi keeps dropping", "network")] * 15:
        ...     model.learn_one(text, {"category": y})
        >>> [(ev.signal, ev.label) for ev in model.retrain_evidence_]
        [('new_label', 'hardware'), ('new_label', 'network')]
        """
        return list(self._retrain_pending)

    # ---------------------------------------------------------------------------------- the ticket
    def _text_fields(self) -> list[str] | None:
        if self.text is not None:
            return [self.text] if isinstance(self.text, str) else list(self.text)
        if self.base_ is not None:
            return list(self.base_.text_columns_)
        return None

    def _record(self, ticket: Any) -> dict[str, Any]:
        if isinstance(ticket, Mapping):
            return dict(ticket)
        if isinstance(ticket, (str, bytes)) or ticket is None:
            fields = self._text_fields()
            return {(fields[0] if fields else "text"): ticket}
        to_ticket = getattr(ticket, "to_ticket", None)
        if callable(to_ticket):
            return dict(to_ticket())
        msg = (f"A ticket must be a string, a dict of fields or an object with to_ticket(); got "
               f"{type(ticket).__name__}. Pass the ticket's text or a dict such as "
               "{'title': ..., 'description': ...}.")
        raise SchemaError(msg)

    def _doc(self, record: Mapping[str, Any]) -> str:
        fields = self._text_fields()
        values = ([record.get(f) for f in fields] if fields is not None
                  else [v for v in record.values() if isinstance(v, (str, bytes))])
        return " ".join(t for t in (normalize_text(v) for v in values) if t)

    def _empty(self, record: Mapping[str, Any], doc: str) -> bool:
        if doc:
            return False
        feats = self.base_.feature_columns_ if self.base_ is not None else []
        return not any(not _is_missing_label(record.get(c)) for c in feats)

    # ----------------------------------------------------------------------------------- predicting
    def _predict_target(self, tg: _Target, doc: str, base_out: Any, empty: bool
                        ) -> tuple[dict[str, float], str | None, float, bool, str, tuple[float, float] | None]:
        """Blended probabilities, label, confidence, abstain, source and the gate's features."""
        po = tg.online_proba(doc)
        if base_out is None:  # a target only the corrections know
            if not po:
                return {}, None, 0.0, True, "online", None
            label = max(po, key=lambda k: (po[k], k))
            conf = po[label]
            return po, label, conf, bool(empty or conf < tg.cut), "online", None
        classes, proba, j, conf_b, _ = base_out
        new = {k: v for k, v in po.items() if k not in tg.known_set}
        m_new = float(sum(new.values()))
        feats = (_logit(m_new), _logit(conf_b))
        if not new or m_new <= 0.0:
            g = 0.0
        elif tg.gate is None:
            g = m_new
        else:
            g = float(tg.gate.predict_proba(np.array([feats]))[0, 1])
        blended = {str(c): float((1.0 - g) * p) for c, p in zip(classes, proba, strict=True)}
        label, conf, source = str(classes[j]), float((1.0 - g) * conf_b), "batch"
        for k, v in new.items():
            blended[k] = g * v / m_new if m_new > 0.0 else 0.0
        if new and m_new > 0.0:
            best = max(new, key=lambda k: (new[k], k))
            if blended[best] > conf:
                label, conf, source = best, blended[best], "online"
        return blended, label, conf, bool(empty or conf < tg.cut), source, feats

    def _all_outputs(self, ticket: Any) -> tuple[dict[str, Any], str, dict[str, Any]]:
        record = self._record(ticket)
        doc = self._doc(record)
        empty = self._empty(record, doc)
        base_outs = self.base_._outputs_one(record) if self.base_ is not None else {}
        out = {name: self._predict_target(tg, doc, base_outs.get(name), empty) for name, tg in self._targets.items()}
        return record, doc, out

    def predict_proba_one(self, ticket: Any) -> dict[str, dict[str, float]]:
        """Blended probabilities of every label, per target: ``{target: {label: p}}``.

        Parameters
        ----------
        ticket : str, dict or Incident
            The ticket's text, a dict of fields, or anything with ``to_ticket()`` (a predicted
            :class:`~incidentml.Incident`).

        Returns
        -------
        dict of str to dict of str to float

        Examples
        --------
        >>> from incidentml import OnlineTriage
        >>> model = OnlineTriage()
        >>> for text, y in [("printer jammed", "hardware"), ("vpn is down", "network"),
        ...                 ("printer out of toner", "hardware"), ("wifi keeps dropping", "network")] * 15:
        ...     model.learn_one(text, {"category": y})
        >>> proba = model.predict_proba_one("the printer is broken")["category"]
        >>> sorted(proba), max(proba, key=proba.get), round(sum(proba.values()), 6)
        (['hardware', 'network'], 'hardware', 1.0)
        """
        _, _, out = self._all_outputs(ticket)
        return {name: o[0] for name, o in out.items()}

    def predict_one(self, ticket: Any) -> dict[str, Any]:
        """Triage one ticket: for each target ``NAME``, ``NAME`` (label), ``NAME_confidence``,
        ``NAME_abstain`` (ask a human) and ``NAME_source`` (``"batch"`` or ``"online"``).

        Does not learn (safe from many threads). A target that no correction has reached yet
        and no base model knows is absent; one with no label yet has ``None`` and abstains.

        Parameters
        ----------
        ticket : str, dict or Incident
            The ticket's text, a dict of fields, or anything with ``to_ticket()``.

        Returns
        -------
        dict

        Examples
        --------
        >>> from incidentml import OnlineTriage
        >>> model = OnlineTriage()
        >>> for text, y in [("printer jammed", "hardware"), ("vpn is down", "network"),
        ...                 ("printer out of toner", "hardware"), ("wifi keeps dropping", "network")] * 15:
        ...     model.learn_one(text, {"category": y})
        >>> out = model.predict_one("the printer is broken")
        >>> out["category"], out["category_source"], sorted(out)
        ('hardware', 'online', ['category', 'category_abstain', 'category_confidence', 'category_source'])
        """
        _, _, out = self._all_outputs(ticket)
        res: dict[str, Any] = {}
        for name, (_, label, conf, abstain, source, _) in out.items():
            res[name] = label
            res[f"{name}_confidence"] = conf
            res[f"{name}_abstain"] = abstain
            res[f"{name}_source"] = source
        return res

    def predict_many(self, frame: pd.DataFrame) -> pd.DataFrame:
        """:meth:`predict_one` for every row of ``frame`` (same index); identical answers by construction.

        Parameters
        ----------
        frame : DataFrame
            One ticket per row (a Series is taken as a frame of one text column).

        Returns
        -------
        DataFrame
            The columns of :meth:`predict_one`, with the index of ``frame``.

        Examples
        --------
        >>> import pandas as pd
        >>> from incidentml import OnlineTriage
        >>> model = OnlineTriage()
        >>> for text, y in [("printer jammed", "hardware"), ("vpn is down", "network"),
        ...                 ("printer out of toner", "hardware"), ("wifi keeps dropping", "network")] * 15:
        ...     model.learn_one(text, {"category": y})
        >>> model.predict_many(pd.DataFrame({"text": ["vpn down", "printer jam"]}))["category"].tolist()
        ['network', 'hardware']
        """
        frame = self._frame(frame)
        rows = [self.predict_one(rec) for rec in frame.to_dict("records")]
        return pd.DataFrame(rows, index=frame.index)

    # ------------------------------------------------------------------------------------ learning
    def _labels(self, labels: Any) -> dict[str, str]:
        if not isinstance(labels, Mapping):
            msg = (f"labels must be a dict of target to label, e.g. {{'category': 'network'}}; got "
                   f"{type(labels).__name__}.")
            raise SchemaError(msg)
        out = {}
        for k, v in labels.items():
            if not isinstance(k, str):
                msg = f"labels keys must be target names (strings); got {k!r}. Use e.g. {{'category': 'network'}}."
                raise SchemaError(msg)
            if not _is_missing_label(v):
                out[k] = str(v)
        return out

    def learn_one(self, ticket: Any, labels: Mapping[str, Any]) -> None:
        """Learn one correction: the analyst's labels of one ticket.

        The prediction the model would have made is recorded first (for the gate, the cut, the
        drift monitors and :meth:`retrain`'s comparison), then every model learns the labels.

        Parameters
        ----------
        ticket : str, dict or Incident
            As for :meth:`predict_one`.
        labels : dict
            Target to label, e.g. ``{"category": "network", "team": "noc"}``. Missing or ``None``
            labels are skipped; a target never seen before is added.

        Examples
        --------
        >>> model = OnlineTriage()
        >>> model.learn_one("vpn is down", {"category": "network", "team": "netops"})
        >>> model.targets_, model.n_learned_
        (['category', 'team'], 1)
        """
        labels = self._labels(labels)
        if not labels:
            return None
        record, doc, outs = self._all_outputs(ticket)
        predicted: dict[str, Any] = {}
        for name, y in labels.items():
            tg = self._targets.get(name)
            if tg is None:
                tg = self._targets[name] = self._new_target(name, [], math.inf)
                outs[name] = ({}, None, 0.0, True, "online", None)
            _, label, conf, _, _, feats = outs[name]
            predicted[name] = label
            correct = None if label is None else label == y
            if correct is not None:
                tg.records.append((conf, bool(correct)))
            is_new_label = y not in tg.known_set
            if feats is not None:
                tg.gate_x.append(feats)
                tg.gate_y.append(is_new_label)
            tg.model.learn_one(doc, y)  # type: ignore[arg-type]  # BagOfWords reads a string
            tg.counts[y] = tg.counts.get(y, 0) + 1
            tg.n_learned += 1
            events = tg.monitor.update(correct=correct, confidence=conf if label is not None else None, label=y)
            self.drift_events_.extend(events)
            self._retrain_pending.extend(e for e in events if e.signal in RETRAIN_SIGNALS)
            self._refresh(tg, refit_gate=is_new_label and feats is not None and sum(tg.gate_y) <= 50)
        self._history.append({"ticket": record, "labels": labels, "predicted": predicted})
        self.n_learned_ += 1
        return None

    def _refresh(self, tg: _Target, *, refit_gate: bool) -> None:
        due = tg.n_learned % self.refresh_every == 0
        if (refit_gate or due) and tg.gate_y:
            y = np.fromiter(tg.gate_y, dtype=bool)
            if y.sum() >= _MIN_GATE and (~y).sum() >= _MIN_GATE:
                tg.gate = LogisticRegression(C=1.0).fit(np.array(tg.gate_x), y)
        if due and len(tg.records) >= _MIN_CUT_RECORDS:
            conf = np.array([c for c, _ in tg.records])
            correct = np.array([k for _, k in tg.records])
            tg.cut = abstention_threshold(correct, conf, target_precision=self.target_precision)

    def learn_many(self, frame: pd.DataFrame, targets: Mapping[str, str] | Sequence[str]) -> OnlineTriage:
        """:meth:`learn_one` for every row of ``frame`` in order (oldest first); returns ``self``.

        Parameters
        ----------
        frame : DataFrame
            One ticket per row (its text fields and any features).
        targets : dict or list of str
            Target name to label column (a list uses each column as its own name).

        Examples
        --------
        >>> import pandas as pd
        >>> corrections = pd.DataFrame({"text": ["printer jammed", "vpn is down", "printer out of toner", "wifi drops"],
        ...                             "label": ["hardware", "network", "hardware", "network"]})
        >>> model = OnlineTriage().learn_many(corrections, {"category": "label"})
        >>> model.n_learned_, model.predict_one("printer broken")["category"]
        (4, 'hardware')
        """
        frame = self._frame(frame)
        mapping = dict(targets) if isinstance(targets, Mapping) else {t: t for t in targets}
        missing = [c for c in mapping.values() if c not in frame.columns]
        if missing:
            msg = (f"learn_many: label column(s) {missing} not in the frame (columns: {list(frame.columns)[:10]}). "
                   "Pass targets={'category': 'your_label_column'}.")
            raise SchemaError(msg)
        label_cols = set(mapping.values())
        for rec in frame.to_dict("records"):
            ticket = {k: v for k, v in rec.items() if k not in label_cols}
            self.learn_one(ticket, {t: rec[c] for t, c in mapping.items()})
        return self

    @staticmethod
    def _frame(frame: Any) -> pd.DataFrame:
        if isinstance(frame, pd.Series):
            frame = frame.to_frame(frame.name if frame.name is not None else "text")
        if not isinstance(frame, pd.DataFrame):
            msg = f"Expected a DataFrame of tickets; got {type(frame).__name__}. Build one with pandas.DataFrame(...)."
            raise SchemaError(msg)
        if frame.columns.duplicated().any():
            dup = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
            msg = f"The ticket frame has duplicated column names {dup}; rename them so each column is named once."
            raise SchemaError(msg)
        return frame

    # ------------------------------------------------------------------------------- history, retrain
    def history(self) -> pd.DataFrame:
        """The stored corrections, oldest first: ticket fields, ``label_NAME`` and ``predicted_NAME`` per target.

        Returns
        -------
        DataFrame

        Examples
        --------
        >>> from incidentml import OnlineTriage
        >>> model = OnlineTriage()
        >>> for text, y in [("printer jammed", "hardware"), ("vpn is down", "network"),
        ...                 ("printer out of toner", "hardware"), ("wifi keeps dropping", "network")] * 15:
        ...     model.learn_one(text, {"category": y})
        >>> h = model.history()
        >>> h.columns.tolist(), len(h)
        (['text', 'label_category', 'predicted_category'], 60)
        """
        rows = []
        for h in self._history:
            row = dict(h["ticket"])
            row.update({f"label_{k}": v for k, v in h["labels"].items()})
            row.update({f"predicted_{k}": v for k, v in h["predicted"].items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def retrain(self, frame: pd.DataFrame | None = None, *, targets: Mapping[str, str] | Sequence[str] | None = None,
                validation: float = 0.2, min_corrections: int = 50) -> dict[str, Any]:
        """Refit the batch model from the stored corrections; keep the old one unless the new validates as well.

        The newest ``validation`` share of the corrections is held out. A candidate (a clone of
        the base model, or a default :class:`~incidentml.TriageModel`) is fitted on ``frame`` (past
        tickets, optional) plus the older corrections, and its accuracy on the held-out ones is
        compared, target by target, with what this model predicted for them when they arrived
        (before learning them). Only when the candidate is at least as accurate on every target is
        it refitted on everything and put in place (the online models then start again from it, and
        the pending retrain evidence is cleared).

        Parameters
        ----------
        frame : DataFrame, optional
            Past tickets to train on too (e.g. the base model's training table), with the label
            columns named by ``targets``.
        targets : dict or list of str, optional
            Target name to label column of ``frame`` (default: the target names).
        validation : float, default=0.2
            Share of the newest corrections held out.
        min_corrections : int, default=50
            Fewest stored corrections needed.

        Returns
        -------
        dict
            ``replaced`` (bool), ``old_accuracy`` and ``new_accuracy`` (per target),
            ``n_train``, ``n_validation`` and ``reason``.

        Examples
        --------
        >>> from incidentml import OnlineTriage
        >>> model = OnlineTriage()
        >>> for text, y in [("printer jammed", "hardware"), ("vpn is down", "network"),
        ...                 ("printer out of toner", "hardware"), ("wifi keeps dropping", "network")] * 15:
        ...     model.learn_one(text, {"category": y})
        >>> res = model.retrain(min_corrections=50)
        >>> res["replaced"], res["n_train"], res["n_validation"], type(model.base_).__name__
        (True, 48, 12, 'TriageModel')
        """
        if not 0 < validation < 1:
            msg = f"Parameter 'validation' of retrain must be in (0, 1); got {validation!r}. Use e.g. 0.2."
            raise InvalidParameterError(msg)
        hist = self.history()
        if len(hist) < min_corrections:
            msg = (f"retrain needs at least {min_corrections} stored corrections; this model holds {len(hist)}. "
                   "Learn more corrections first, or lower min_corrections.")
            raise DataError(msg)
        names = self.targets_
        mapping = {t: t for t in names} if targets is None else (
            dict(targets) if isinstance(targets, Mapping) else {t: t for t in targets})
        corr = hist.rename(columns={f"label_{t}": t for t in names})
        extra = [] if frame is None else [self._frame(frame).rename(columns={c: t for t, c in mapping.items()})]
        n_val = max(1, int(round(validation * len(corr))))
        train = pd.concat([*extra, corr.iloc[:-n_val]], ignore_index=True)
        val = corr.iloc[-n_val:]
        label_cols = [t for t in names if t in train.columns]
        pred_cols = [c for c in train.columns if c.startswith("predicted_")]
        text = self._text_fields()
        template = self.base_ if self.base_ is not None else TriageModel()

        def fit(table: pd.DataFrame) -> TriageModel:
            X = table.drop(columns=pred_cols)
            feats = list(self.base_.feature_columns_) if self.base_ is not None else None
            return clone(template).fit(X, targets=label_cols, text=text, features=feats)

        model = fit(train)
        predicted = model.predict(val.drop(columns=[*pred_cols, *label_cols]))
        old_acc, new_acc = {}, {}
        for t in label_cols:
            have = val[t].notna()
            if not have.any():
                continue
            y = val.loc[have, t].astype(str)
            old_acc[t] = float((val.loc[have, f"predicted_{t}"].astype(str) == y).mean())
            new_acc[t] = float((predicted.loc[have, t].astype(str) == y).mean())
        better = all(new_acc[t] >= old_acc[t] for t in new_acc)
        report = {"replaced": False, "old_accuracy": old_acc, "new_accuracy": new_acc, "n_train": len(train),
                  "n_validation": int(n_val)}
        if not better:
            worse = [t for t in new_acc if new_acc[t] < old_acc[t]]
            report["reason"] = f"the new model validated worse on {worse}; the current model is kept"
            return report
        final = fit(pd.concat([*extra, corr], ignore_index=True))
        history = copy.copy(self._history)
        self._start(final)
        self._history = history
        report.update(replaced=True, reason="the new model validated at least as well on every target")
        return report

    # -------------------------------------------------------------------------------- persistence
    def _manifest_extra(self) -> dict[str, Any]:
        return {"targets": self.targets_, "n_learned": int(self.n_learned_),
                "labels": {n: sorted(set(tg.known) | set(tg.counts)) for n, tg in self._targets.items()},
                "retrain_due": self.retrain_due}
