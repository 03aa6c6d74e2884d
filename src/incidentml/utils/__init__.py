"""Utilities shared across incidentml: model files, the estimator check suite."""

from ._persistence import load_model_file, read_manifest, save_model_file

__all__ = ["load_model_file", "read_manifest", "save_model_file"]
