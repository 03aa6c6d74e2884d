"""The bottom layer every part of incidentml reads: time, points, table schemas and model files.

Nothing here imports another incidentml subpackage, so detectors, incidents, triage and the
command line can all build on it.

- Timestamps: :func:`to_seconds` and :func:`to_seconds_array` turn every accepted form into
  float seconds since the epoch (NaN = unknown).
- Points: :func:`as_point` (one ``x`` dict) and :func:`as_columns` (a batch).
- Schemas: :class:`LongSchema` (``series_id``, ``timestamp``, ``value``), :func:`validate_long_frame`,
  :func:`validate_metric_frame`, :func:`metric_columns`, :func:`column_seconds`, :func:`require_columns`.
- Model files: :func:`save_model_file`, :func:`load_model_file`, :func:`read_manifest` and
  :class:`PersistenceMixin` (``save``/``load`` of every model type).
- Output files: :func:`atomic_write_text` (a temporary file, fsynced, renamed: never a half file).
"""

from ._files import atomic_write_text
from ._persistence import PersistenceMixin, load_model_file, read_manifest, save_model_file
from ._points import as_columns, as_point
from ._schema import (
    LongSchema,
    column_seconds,
    metric_columns,
    require_columns,
    validate_long_frame,
    validate_metric_frame,
)
from ._time import parse_times, seconds_to_datetime64, to_seconds, to_seconds_array

__all__ = [
    "LongSchema",
    "PersistenceMixin",
    "as_columns",
    "as_point",
    "atomic_write_text",
    "column_seconds",
    "metric_columns",
    "load_model_file",
    "parse_times",
    "seconds_to_datetime64",
    "read_manifest",
    "require_columns",
    "save_model_file",
    "to_seconds",
    "to_seconds_array",
    "validate_long_frame",
    "validate_metric_frame",
]
