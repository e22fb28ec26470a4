"""The YAML files shipped with the plugin, found by bare name from any working directory.

They live in the repository's top-level ``cfg/`` folder; the wheel carries them as
``yolo_repvit/cfg`` (``pyproject.toml``), and a source tree or editable install reads the
folder itself, so no link is needed on any platform.
"""

from pathlib import Path

_PACKAGED = Path(__file__).with_name("cfg")
CONFIG_DIR = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "cfg"


def shipped_config(file):
    """Path of our file for a bare name such as ``yolo11-repvit.yaml``, else None."""
    path = Path(str(file))
    if path.parent != Path(".") or not path.name:
        return None
    candidate = CONFIG_DIR / path.name
    return candidate if candidate.is_file() else None


def shipped_configs():
    return sorted(p.name for p in CONFIG_DIR.glob("*.yaml"))
