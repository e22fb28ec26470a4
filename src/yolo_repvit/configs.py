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
