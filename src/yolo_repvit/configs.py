"""The model YAMLs shipped with the plugin, found by bare name from any working directory."""

from pathlib import Path

CONFIG_DIR = Path(__file__).with_name("cfg")


def shipped_config(file):
    """Path of our config for a bare file name such as ``yolo11-repvit.yaml``, else None."""
    path = Path(str(file))
    if path.parent != Path(".") or not path.name:
        return None
    candidate = CONFIG_DIR / path.name
    return candidate if candidate.is_file() else None


def shipped_configs():
    return sorted(p.name for p in CONFIG_DIR.glob("*.yaml"))


def variant_configs():
    """The per-variant detection configs: ``{"repvit_m0_9": "yolo11-repvit-m0_9.yaml", ...}``."""
    from .variants import VARIANTS

    names = {f"yolo11-repvit-{v.removeprefix('repvit_')}.yaml": v for v in VARIANTS}
    return {variant: name for name, variant in names.items() if (CONFIG_DIR / name).is_file()}
