"""Checks of what the plugin needs from its environment, each made where the need arises.

The supported versions are the package's declared dependencies (``pyproject.toml``, read back
from the installed metadata), so they are written down once.
"""

import re
from importlib import metadata

from .errors import RepViTError

DISTRIBUTION = "yolo-repvit"


def version_tuple(text):
    """``"8.4.190"`` -> ``(8, 4, 190)``; pre-release and local parts are ignored."""
    return tuple(int(n) for n in re.findall(r"\d+", str(text).split("+")[0])[:3])


def declared_minimum(package):
    """The lower bound this distribution declares for ``package`` (e.g. ``"1.0.9"``), or None if not installed."""
    try:
        requirements = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return None
    for requirement in requirements:
        name, rest = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", requirement).groups()
        found = re.search(r">=\s*([\w.]+)", rest)
        if name.lower() == package and found and "extra ==" not in rest:
            return found.group(1)
    return None


def timm_repvit_class():
    """timm's ``RepVit`` class, or one error saying what to install."""
    minimum = declared_minimum("timm")
    fix = f"pip install -U 'timm>={minimum}'" if minimum else "pip install -U timm"
    try:
        import timm
    except ImportError as error:
        raise RepViTError(f"RepViT layers are built with timm, which is not installed. Fix: {fix}") from error
    try:
        from timm.models.repvit import RepVit
    except ImportError as error:
        raise RepViTError(f"timm {timm.__version__} has no RepViT models. Fix: {fix}") from error
    if minimum and version_tuple(timm.__version__) < version_tuple(minimum):
        raise RepViTError(f"timm {timm.__version__} is older than the timm>={minimum} yolo-repvit is tested with. "
                          f"Fix: {fix}")
    return RepVit
