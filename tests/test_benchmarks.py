"""The benchmark scripts run end to end in their reduced modes and write complete files (no timed assertions)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
PNG = b"\x89PNG\r\n\x1a\n"


def run_script(name, *args, cwd):
    done = subprocess.run([sys.executable, str(BENCHMARKS / name), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]


def table_rows(markdown):
    """The first Markdown table as lists of stripped cells, header first (the rule line dropped)."""
    text = markdown[markdown.index("\n|") + 1:]
    lines = text[:text.find("\n\n")].splitlines()
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[:1] + lines[2:]]


def test_quick_report_writes_a_full_table_and_a_plot(tmp_path):
    run_script("report.py", "--quick", "--out", str(tmp_path), cwd=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cpu-quick.md", "cpu-quick.png"]  # exports stay elsewhere
    assert (tmp_path / "cpu-quick.png").read_bytes()[:8] == PNG
    header, *rows = table_rows((tmp_path / "cpu-quick.md").read_text())
    assert header == ["config", "backbone", "params (M)", "GFLOPs@640", "PyTorch 64 (ms)", "ONNX Runtime 64 (ms)",
                      "training (img/s)", "time per GFLOP vs same-scale YOLO11, ONNX Runtime 64", "peak memory (MiB)",
                      "build (s)"]
    assert [row[:2] for row in rows] == [["`yolo11n.yaml`", "YOLO11"], ["`yolo11n-repvit.yaml`", "repvit_m0_6"]]
    assert all(len(row) == len(header) for row in rows)
    reference = rows[0]
    assert all(cell.endswith("(1.00x)") for cell in reference[4:7] + reference[8:])
    assert reference[7] == "1.00x"
    assert rows[1][2:4] == ["3.89", "10.1"]  # the README's figures for yolo11n-repvit.yaml


def test_learning_study_writes_curves_and_summary(tmp_path):
    run_script("learning.py", "--epochs", "2", "--images", "16", "--imgsz", "64", "--batch", "8", "--out",
               str(tmp_path), cwd=tmp_path)
    assert (tmp_path / "learning.png").read_bytes()[:8] == PNG
    text = (tmp_path / "learning.md").read_text()
    assert "python benchmarks/learning.py yolo11n.yaml yolo11n-repvit.yaml --epochs 2 --imgsz 64" in text
    header, *rows = table_rows(text)
    assert header[0] == "config" and [row[0] for row in rows] == ["`yolo11n.yaml`", "`yolo11n-repvit.yaml`"]
