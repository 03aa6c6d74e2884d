"""Fleet scale: score whole fleets of series in batch, on one machine or on a Dask cluster.

Input is the long format (``series_id``, ``timestamp``, ``value``, names overridable; an optional
``entity`` column groups series into hosts). :func:`score_fleet` gives a score per point and
:func:`predict_incidents` the incidents per entity, from a pandas DataFrame (all cores through
joblib) or a ``dask.dataframe.DataFrame`` (on the active ``dask.distributed`` client), with the
answers of the one-point streaming loop either way. :func:`score_files` reads CSV or Parquet
files chunk by chunk and writes one output file atomically. A *state directory* makes runs
incremental: each batch resumes every series where the last one stopped; its series are spread
over :data:`DEFAULT_PARTITIONS` (64) hash partitions unless told otherwise. Rows a run cannot use
are counted by reason in :class:`Skipped`, the reasons being the keys of :data:`SKIP_REASONS`
(``no_series``, ``no_time``, ``stale``).
"""

from ._api import predict_incidents, read_dask, score_files, score_fleet
from ._core import SKIP_REASONS, Skipped
from ._io import FrameWriter, expand_inputs, iter_chunks
from ._state import DEFAULT_PARTITIONS, PartitionState, StateStore, partition_of

__all__ = [
    "DEFAULT_PARTITIONS",
    "SKIP_REASONS",
    "FrameWriter",
    "PartitionState",
    "Skipped",
    "StateStore",
    "expand_inputs",
    "iter_chunks",
    "partition_of",
    "predict_incidents",
    "read_dask",
    "score_files",
    "score_fleet",
]
