"""RepViT backbones for an unmodified ultralytics install.

``import yolo_repvit`` activates the plugin: RepViT rows resolve in model YAML, the shipped
configs resolve by bare name, ``fuse()`` reparameterises the backbone and multi-GPU workers
see the plugin too.  Activation is lazy: it imports neither ultralytics nor timm; the patches
are applied when ``ultralytics.nn.tasks`` is imported (at once if it already was), and timm is
imported when the first RepViT layer is built.
"""

from _yolo_repvit_autoload import when_imported

from .errors import RepViTError
from .variants import VARIANTS

__version__ = "0.1.0"
__all__ = ["VARIANTS", "RepViTError", "activate", "__version__"]


def activate():
    """Patch ultralytics for RepViT rows; idempotent, thread-safe, and called by ``import yolo_repvit``."""
    when_imported("ultralytics.nn.tasks", _on_tasks)
    when_imported("ultralytics.utils.dist", _on_dist)


def _on_tasks(tasks):
    from . import _ultralytics

    _ultralytics.install_tasks(tasks)


def _on_dist(dist):
    from . import _ultralytics

    _ultralytics.install_dist(dist)


activate()
