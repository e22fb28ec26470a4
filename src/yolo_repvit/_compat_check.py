"""One warning, once per process, when the imported ultralytics is outside the supported range.

The range is the ``ultralytics`` requirement in ``pyproject.toml``'s ``dependencies``, read back
from the installed metadata (a wheel carries no ``pyproject.toml``), so it is written down once.
A release inside the range but newer than the ones the compatibility matrix tested (say 8.4.191)
passes silently.  It runs while ``ultralytics.nn.tasks`` finishes importing, so it uses the
standard library only and never raises.
"""

import operator
import re
import warnings
from importlib import metadata

from ._environment import DISTRIBUTION, version_tuple

_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq,
            "!=": operator.ne}
_checked = False


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
