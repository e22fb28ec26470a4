"""The YAML files the plugin ships, found the way a user finds them: ultralytics resolves them by bare name.

Only public behaviour is relied on (``import yolo_repvit`` makes ``check_yaml`` resolve the shipped
names), so the benchmarks keep working whatever the package's internal modules are called.
"""

from functools import cache
from pathlib import Path

import yaml


@cache
def folder():
    """The folder of the shipped YAMLs: that of one resolved by bare name, since they all ship side by side."""
    from ultralytics.utils.checks import check_yaml

    import yolo_repvit  # noqa: F401  makes ultralytics resolve the shipped names

    return Path(check_yaml("yolo11-repvit.yaml")).parent


def names():
    """The file names of every shipped YAML, sorted: model configs and training arguments alike."""
    return sorted(p.name for p in folder().glob("*.yaml"))


def load(name):
    """The parsed contents of the shipped YAML ``name``, e.g. ``repvit-scratch.yaml``."""
    return yaml.safe_load((folder() / name).read_text())
