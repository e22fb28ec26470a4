"""Checks of what the plugin needs from its environment, each made where the need arises.

The supported versions are the package's declared dependencies (``pyproject.toml``, read back
from the installed metadata, since a wheel carries no ``pyproject.toml``), so they are written
down once, and they are read with ``packaging``, which implements Python's version rules.
Nothing here imports ultralytics, torch or timm at module level: the ultralytics check runs
while ``ultralytics.nn.tasks`` finishes importing.
"""

import warnings
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ._errors import RepViTError

DISTRIBUTION = "yolo-repvit"
_checked = False  # the ultralytics range is checked once per process


def declared(package, requirements):
    """The ``SpecifierSet`` that ``Requires-Dist`` strings declare for ``package`` outside any extra, or None."""
    for text in requirements or ():
        requirement = Requirement(text)
        if canonicalize_name(requirement.name) != canonicalize_name(package):
            continue
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            return requirement.specifier
    return None


def installed_range(package):
    """What the installed yolo-repvit declares for ``package``, or None (not installed: a source-tree run)."""
    try:
        return declared(package, metadata.requires(DISTRIBUTION))
    except metadata.PackageNotFoundError:
        return None


def show(specifier):
    """``>=8.3.0,<8.5``: lower bound first, as people write a range (``str()`` sorts it the other way)."""
    return ",".join(sorted(map(str, specifier), key=lambda clause: not clause.startswith(">")))


def contains(specifier, version):
    """Whether ``version`` lies in ``specifier``; False for a version string that is no release number."""
    try:
        return specifier.contains(Version(str(version)), prereleases=True)
    except InvalidVersion:
        return False


def at_least(version, minimum):
    return Version(str(version)) >= Version(str(minimum))


def warn_if_unsupported(version):
    """Warn once per process if ultralytics ``version`` is outside the declared range."""
    global _checked
    if _checked:
        return
    _checked = True
    try:
        ours = metadata.distribution(DISTRIBUTION)
        Version(str(version))
    except (metadata.PackageNotFoundError, InvalidVersion):  # not installed, or a version we cannot read
        return
    spec = declared("ultralytics", ours.requires)
    if spec is None or contains(spec, version):
        return
    warnings.warn(
        f"yolo-repvit {ours.version} supports ultralytics{show(spec)}, but ultralytics {version} is installed; RepViT "
        f"models may fail to build, train or export. Install a supported release (pip install "
        f"'ultralytics{show(spec)}') or a yolo-repvit release that supports ultralytics {version}.",
        RuntimeWarning,
        stacklevel=2,
    )


def timm_fix():
    """The command that installs a timm this package is tested with."""
    spec = installed_range("timm")
    return f"pip install -U 'timm{show(spec)}'" if spec else "pip install -U timm"


def import_timm(needs="Backbone layers"):
    """The ``timm`` module, or one error saying what to install.

    ``needs`` names what asked for it (e.g. "RepViT layers"), so the message says why timm matters.
    """
    try:
        import timm
    except ImportError as error:
        raise RepViTError(f"{needs} are built with timm, which is not installed. Fix: {timm_fix()}") from error
    spec = installed_range("timm")
    if spec and not contains(spec, timm.__version__):
        raise RepViTError(f"timm {timm.__version__} does not satisfy timm{show(spec)}, which yolo-repvit is tested "
                          f"with. Fix: {timm_fix()}")
    return timm
