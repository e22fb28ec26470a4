"""Checks of what the plugin needs from its environment, each made where the need arises.

The supported versions are the package's declared dependencies (``pyproject.toml``, read back
from the installed metadata, since a wheel carries no ``pyproject.toml``), so they are written
down once.  Everything here uses the standard library only: the ultralytics check runs while
``ultralytics.nn.tasks`` finishes importing.
"""

import operator
import re
import warnings
from importlib import metadata

from ._errors import RepViTError

DISTRIBUTION = "yolo-repvit"
_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq,
            "!=": operator.ne}
_checked = False  # the ultralytics range is checked once per process


def version_tuple(text):
    """``"8.4.190"`` -> ``(8, 4, 190)``; pre-release and local parts are ignored."""
    return tuple(int(n) for n in re.findall(r"\d+", str(text).split("+")[0])[:3])


def declared_spec(package, requirements):
    """The clauses of ``package`` among ``Requires-Dist`` strings, lower bound first: ``">=8.3.0,<8.5"``."""
    for requirement in requirements or ():
        name, rest = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", requirement).groups()
        if name.lower() == package and "extra ==" not in rest:
            clauses = [c.strip(" ()") for c in rest.split(";")[0].split(",") if c.strip(" ()")]
            return ",".join(sorted(clauses, key=lambda clause: not clause.startswith(">")))
    return None


def in_range(version, spec):
    """Whether ``version`` meets every clause of ``spec``; ValueError for what this cannot compare."""
    have = version_tuple(version)
    if not have:
        raise ValueError(f"not a release number: {version!r}")
    for clause in filter(None, spec.split(",")):
        match = re.fullmatch(r"(>=|<=|==|!=|<|>)\s*(\d+(?:\.\d+)*)", clause.strip())
        if not match:
            raise ValueError(f"unsupported version clause {clause!r}")
        bound = version_tuple(match.group(2))
        width = max(len(have), len(bound))  # so that 8.5 == 8.5.0
        if not _COMPARE[match.group(1)](have + (0,) * (width - len(have)), bound + (0,) * (width - len(bound))):
            return False
    return True


def warn_if_unsupported(version):
    """Warn once per process if ultralytics ``version`` is outside the declared range."""
    global _checked
    if _checked:
        return
    _checked = True
    try:
        ours = metadata.distribution(DISTRIBUTION)
        spec = declared_spec("ultralytics", ours.requires)
        if not spec or in_range(version, spec):
            return
    except (metadata.PackageNotFoundError, ValueError):  # not installed, or a version we cannot read: say nothing
        return
    warnings.warn(
        f"yolo-repvit {ours.version} supports ultralytics{spec}, but ultralytics {version} is installed; RepViT "
        f"models may fail to build, train or export. Install a supported release (pip install "
        f"'ultralytics{spec}') or a yolo-repvit release that supports ultralytics {version}.",
        RuntimeWarning,
        stacklevel=2,
    )


def declared_minimum(package):
    """The lower bound this distribution declares for ``package`` (e.g. ``"1.0.9"``), or None if not installed."""
    try:
        spec = declared_spec(package, metadata.requires(DISTRIBUTION))
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return None
    found = re.search(r">=\s*([\w.]+)", spec or "")
    return found.group(1) if found else None


def timm_fix():
    """The command that installs a timm this package is tested with."""
    minimum = declared_minimum("timm")
    return f"pip install -U 'timm>={minimum}'" if minimum else "pip install -U timm"


def import_timm(needs="Backbone layers"):
    """The ``timm`` module, or one error saying what to install.

    ``needs`` names what asked for it (e.g. "RepViT layers"), so the message says why timm matters.
    """
    minimum = declared_minimum("timm")
    try:
        import timm
    except ImportError as error:
        raise RepViTError(f"{needs} are built with timm, which is not installed. Fix: {timm_fix()}") from error
    if minimum and version_tuple(timm.__version__) < version_tuple(minimum):
        raise RepViTError(f"timm {timm.__version__} is older than the timm>={minimum} yolo-repvit is tested with. "
                          f"Fix: {timm_fix()}")
    return timm
