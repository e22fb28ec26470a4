"""The supported ultralytics range: declared once in pyproject.toml, checked once at activation."""

import re
import warnings
from importlib import metadata
from pathlib import Path

import pytest

from conftest import OFF, run_python
from yolo_repvit import _versions as environment

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def pyproject_range():
    """The range as pyproject.toml declares it (what a wheel built from this checkout carries), read as text so
    that it needs neither Python 3.11's tomllib nor an installed package."""
    requirement = re.search(r'"(ultralytics[<>=!~][^"]*)"', PYPROJECT.read_text()).group(1)
    return environment.declared("ultralytics", [requirement])


@pytest.fixture
def declared():
    return pyproject_range()


@pytest.fixture
def unchecked(monkeypatch):
    monkeypatch.setattr(environment, "_checked", False)


def installed_with(monkeypatch, *requires):
    """Make the metadata lookup find a yolo-repvit 9.9 with these ``Requires-Dist`` entries."""
    fake = type("Dist", (), {"version": "9.9", "requires": list(requires)})
    monkeypatch.setattr(environment.metadata, "distribution", lambda name: fake)


def warnings_from(*versions):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for version in versions:
            environment.warn_if_unsupported(version)
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("version", ["8.3.0", "8.3.59", "8.3.253", "8.4.0", "8.4.139", "8.4.140", "8.4.190",
                                     "8.4.191", "8.4.300"])
def test_declared_range_holds_tested_and_newer_patch_releases(declared, version):
    assert environment.contains(declared, version)


@pytest.mark.parametrize("version", ["8.2.103", "8.5.0", "8.5", "9.0.0"])
def test_declared_range_excludes_other_minor_releases(declared, version):
    assert not environment.contains(declared, version)


def test_spec_is_the_ultralytics_entry_of_the_metadata_outside_extras():
    requires = ["ultralytics-thop>=2", "timm>=1.0.9", 'ultralytics>=8.4; extra == "test"', "ultralytics<8.5,>=8.3.0"]
    assert environment.show(environment.declared("ultralytics", requires)) == ">=8.3.0,<8.5"
    assert environment.show(environment.declared("Ultralytics", ["ultralytics (>=8.3.0)"])) == ">=8.3.0"
    assert environment.declared("ultralytics", ["ultralytics-thop>=2"]) is None


def test_outside_the_range_warns_once_naming_both_versions(unchecked, monkeypatch):
    installed_with(monkeypatch, "timm>=1.0.9", "ultralytics<8.5,>=8.3.0")
    caught = warnings_from("8.5.0", "8.5.0", "9.1.0")
    assert len(caught) == 1
    assert "ultralytics 8.5.0 is installed" in caught[0]
    assert "yolo-repvit 9.9 supports ultralytics>=8.3.0,<8.5" in caught[0]


def test_inside_the_range_is_silent(unchecked, monkeypatch):
    installed_with(monkeypatch, "ultralytics<8.5,>=8.3.0")
    assert warnings_from("8.4.191") == []


def test_no_metadata_or_unreadable_version_is_silent(unchecked, monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(environment.metadata, "distribution", missing)
    assert warnings_from("99.0.0") == []
    installed_with(monkeypatch, "ultralytics<8.5,>=8.3.0")
    monkeypatch.setattr(environment, "_checked", False)
    assert warnings_from("nightly") == []


def test_this_environment_is_supported():
    """The imported ultralytics lies in the declared range: checked against pyproject.toml itself, since the
    compatibility matrix runs the source tree, where no package metadata exists to warn from."""
    import ultralytics

    spec = pyproject_range()
    assert environment.show(spec).startswith(">=8.3.0") and environment.contains(spec, ultralytics.__version__), spec


def test_installed_metadata_declares_the_pyproject_range():
    try:
        requires = metadata.requires(environment.DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pytest.skip("yolo-repvit is not installed here (a source-tree run): no metadata to compare")
    assert environment.declared("ultralytics", requires) == pyproject_range()


def test_activation_warns_once_outside_the_supported_range():
    out = run_python("""
        import importlib, warnings
        import ultralytics
        ultralytics.__version__ = "8.2.0"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import yolo_repvit
            from ultralytics.nn import tasks
            yolo_repvit.activate()
            importlib.reload(yolo_repvit)
        print(sum("but ultralytics 8.2.0 is installed" in str(w.message) for w in caught))
    """, env=OFF)
    assert out.split("\n")[-2] == "1"
