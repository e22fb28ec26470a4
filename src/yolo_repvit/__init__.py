"""RepViT and other timm backbones for an unmodified ultralytics install.

``import yolo_repvit`` activates the plugin: RepViT and Timm rows resolve in model YAML, the
shipped configs resolve by bare name, ``fuse()`` reparameterizes the backbone and multi-GPU
workers see the plugin too.  Activation is lazy: it imports neither ultralytics nor timm; the
patches are applied when ultralytics' modules are imported (at once if they already were), and
timm is imported when the first backbone row is built.

Public names (``__all__``): :func:`activate`, :func:`backbone`, :func:`compare`, :class:`RepViTError`,
``VARIANTS`` (the RepViT variants), :func:`make_dataset` and :func:`write_data_yaml`.  The layer
classes checkpoints hold live in :mod:`yolo_repvit.modules`; every other module is internal.
"""

import functools

from _yolo_repvit_autoload import PATCHED, when_imported

from ._errors import RepViTError
from ._release import __version__
from ._repvit_variants import VARIANTS

__all__ = ["VARIANTS", "RepViTError", "activate", "backbone", "compare", "make_dataset", "write_data_yaml",
           "__version__"]

# They import torch, numpy or ultralytics.
_LAZY = {"backbone": "_build", "compare": "_compare", "make_dataset": "_data", "write_data_yaml": "_data"}


def __getattr__(name):
    """Load the public functions that need torch or numpy on first use, so that importing the plugin stays cheap."""
    if name not in _LAZY:
        raise AttributeError(f"module 'yolo_repvit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)


def activate() -> None:
    """Patch ultralytics for backbone rows; idempotent, thread-safe, and called by ``import yolo_repvit``."""
    for module, installer in PATCHED.items():
        when_imported(module, functools.partial(_install, installer))


def _install(installer, module):
    from . import _ultralytics

    getattr(_ultralytics, installer)(module)


activate()
