"""Build hook: ship the repository's bundled samples (top-level ``datasets/``) inside the wheel.

Everything else about the package is declared in ``pyproject.toml``. The samples stay at the top
level of the repository for people reading it; this copies them to ``incidentml/datasets/data/``
of the built package, where :func:`incidentml.datasets.data_home` finds them once installed.
"""

from pathlib import Path
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

SAMPLES = Path(__file__).resolve().parent / "datasets"
PATTERNS = ("*.csv", "*.json", "README.md")


class BuildWithSamples(build_py):
    """``build_py`` that also copies the bundled samples into the package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the samples from the checkout itself
            return
        target = Path(self.build_lib) / "incidentml" / "datasets" / "data"
        target.mkdir(parents=True, exist_ok=True)
        files = sorted(p for pattern in PATTERNS for p in SAMPLES.glob(pattern))
        if not any(p.suffix == ".csv" for p in files):
            raise SystemExit(f"No bundled samples found in {SAMPLES}: build from a full checkout or sdist.")
        for src in files:
            shutil.copy2(src, target / src.name)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not self.editable_mode:
            target = Path(self.build_lib) / "incidentml" / "datasets" / "data"
            outputs += [str(target / p.name) for pattern in PATTERNS for p in SAMPLES.glob(pattern)]
        return outputs


setup(cmdclass={"build_py": BuildWithSamples})
