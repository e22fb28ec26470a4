"""The benchmark scripts run end to end in their reduced modes and write complete files (no timed assertions)."""

import importlib.util
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


def machine_facts(markdown):
    """Labels of the machine facts, which close every results file: ``- **CPU**: ...`` -> ``CPU``."""
    facts = markdown.rstrip().split("\n\n")[-1].splitlines()
    assert all(line.startswith("- **") for line in facts), facts
    return [line[4:line.index("**", 4)] for line in facts]


def test_quick_report_writes_a_full_table_and_a_plot(tmp_path):
    run_script("report.py", "--quick", "--out", str(tmp_path), cwd=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cpu-quick.md", "cpu-quick.png"]  # exports stay elsewhere
    assert (tmp_path / "cpu-quick.png").read_bytes()[:8] == PNG
    text = (tmp_path / "cpu-quick.md").read_text()
    assert "`python benchmarks/report.py --quick`" in text
    assert {"CPU", "torch", "ultralytics", "timm", "onnxruntime"} <= set(machine_facts(text))
    header, *rows = table_rows(text)
    assert header == ["config", "backbone", "params (M)", "GFLOPs@640", "PyTorch 64 (ms)", "ONNX Runtime 64 (ms)",
                      "training (img/s)", "time per GFLOP vs same-scale YOLO11, ONNX Runtime 64", "peak memory (MiB)",
                      "build (s)"]
    assert [row[:2] for row in rows] == [["`yolo11n.yaml`", "YOLO11"], ["`yolo11n-repvit.yaml`", "repvit_m0_6"],
                                         ["`yolo11n-convnext.yaml`", "convnext_atto"]]
    assert all(len(row) == len(header) for row in rows)
    reference = rows[0]
    assert all(cell.endswith("(1.00x)") for cell in reference[4:7] + reference[8:])
    assert reference[7] == "1.00x"
    assert rows[1][2:4] == ["3.89", "10.1"]  # docs/model-selection.md's figures for yolo11n-repvit.yaml


def test_quick_fuse_latency_writes_every_row(tmp_path):
    run_script("fuse_latency.py", "--quick", "--out", str(tmp_path), cwd=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["fuse_latency-quick.md"]
    text = (tmp_path / "fuse_latency-quick.md").read_text()
    assert "```bash\npython benchmarks/fuse_latency.py --quick\n```" in text
    assert {"CPU", "torch", "ultralytics", "timm", "onnxruntime"} <= set(machine_facts(text))
    header, *rows = table_rows(text)
    assert header == ["backbone", "network", "size", "runtime", "unfused ms", "fused ms", "speed-up"]
    networks, runtimes = ("backbone", "detector"), ("PyTorch", "ONNX Runtime")
    assert [row[:4] for row in rows] == [[name, net, "320", rt] for name in ("repvit_m0_6", "fastvit_t8")
                                         for net in networks for rt in runtimes]
    assert all(row[6].endswith("x") for row in rows)


def test_quick_startup_writes_every_measurement(tmp_path):
    run_script("startup.py", "--quick", "--out", str(tmp_path), cwd=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["startup-quick.md"]
    text = (tmp_path / "startup-quick.md").read_text()
    assert "```bash\npython benchmarks/startup.py --quick\n```" in text
    assert {"CPU", "torch", "ultralytics", "timm"} <= set(machine_facts(text))
    header, *rows = table_rows(text)
    assert header == ["measurement", "A", "B", "A - B", "A / B"]
    assert [row[0] for row in rows] == ["`python -c pass`, whole process",
                                        "`from ultralytics import YOLO` after `import torch`",
                                        "first build in a fresh process", "... of which importing timm",
                                        "... of which building", "second build, same process"]
    assert [row[1].split(":")[0] for row in rows[:3]] == ["hook on", "plugin active", "yolo11n-repvit"]
    assert rows[3][2] == "not imported"
    assert "Modules loaded with the hook on and not with it off: none" in text  # the hook imports nothing
    assert "After yolo11n's build timm was not imported." in text


def test_quick_model_selection_compares_through_the_engine_and_reports_every_model(tmp_path):
    run_script("model_selection.py", "--quick", "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out"),
               cwd=tmp_path)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["model_selection_screen-quick.md",
                                                     "model_selection_screen-quick.png"]
    assert (out / "model_selection_screen-quick.png").read_bytes()[:8] == PNG
    text = (out / "model_selection_screen-quick.md").read_text()
    assert f"```bash\npython benchmarks/model_selection.py --stage screen --quick --out {out.as_posix()}\n```" in text
    header, *rows = table_rows(text)
    assert header[:6] == ["dataset", "model", "seeds", "mAP50-95 mean ± std", "vs YOLO11 of its scale",
                          "latency, ONNX Runtime"]
    assert [row[1] for row in rows] == ["`yolo11n.yaml`", "`yolo11n-repvit-w0.5.yaml`", "`yolo11n-lcnet_150.yaml`",
                                        "`yolo11n-repvit-cpu.yaml`"]
    assert rows[0][5:7] == ["1.00x", "1.00x"]  # the reference, in both runtimes
    assert {"CPU", "torch", "ultralytics", "timm"} <= set(machine_facts(text))

    # confirming a named candidate trains it and its scale's YOLO11 over the seeds asked for, not the default
    # contenders, on a dataset of the size asked for, and the report says so
    run_script("model_selection.py", "--quick", "--stage", "confirm", "--models", "yolo11n-lcnet_150.yaml", "--seeds",
               "2", "--images", "24", "--work", str(tmp_path / "work"), "--out", str(out), cwd=tmp_path)
    text = (out / "model_selection_confirm-quick.md").read_text()
    assert "--models yolo11n-lcnet_150.yaml --seeds 2 --images 24 --out" in text
    assert "24 training and 6 validation images per dataset" in text
    assert len(list((tmp_path / "work" / "data" / "digits-24" / "train" / "images").iterdir())) == 24
    header, *rows = table_rows(text)
    assert [row[1:3] for row in rows] == [["`yolo11n.yaml`", "2"], ["`yolo11n-lcnet_150.yaml`", "2"]]

    # the subnormals benchmark times the comparison's exports, each with and without flush-to-zero
    run_script("denormals.py", "--work", str(tmp_path / "work"), "--imgsz", "64", "--rounds", "1", "--out",
               str(out / "denormals.md"), cwd=tmp_path)
    text = (out / "denormals.md").read_text()
    assert "```bash\npython benchmarks/denormals.py --imgsz 64\n```" in text
    header, *rows = table_rows(text)
    assert [row[:2] for row in rows] == [["digits", "`yolo11n`"], ["digits", "`yolo11n-repvit-w0.5`"]]
    assert rows[0][5:] == ["1.00x", "1.00x"]
    assert all(float(cell) > 0 for row in rows for cell in row[2:4])


def test_denormals_without_exports_says_what_to_run_first(tmp_path):
    done = subprocess.run([sys.executable, str(BENCHMARKS / "denormals.py"), "--work", str(tmp_path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert f"no seed-0 ONNX exports at 640 px under {tmp_path}: run benchmarks/model_selection.py first" in done.stderr



def test_quick_int8_reports_pytorch_fp32_and_int8_of_both_models(tmp_path):
    # OpenVINO only: LiteRT needs the deploy extra, which CI does not install
    run_script("int8.py", "--quick", "--formats", "openvino", "--work", str(tmp_path / "work"), "--out",
               str(tmp_path / "out"), cwd=tmp_path)
    text = (tmp_path / "out" / "int8-quick.md").read_text()
    assert "```bash\npython benchmarks/int8.py --quick --formats openvino\n```" in text
    header, *rows = table_rows(text)
    assert header == ["dataset", "model", "PyTorch", "OpenVINO FP32", "OpenVINO INT8", "OpenVINO INT8 / FP32"]
    assert [row[:2] for row in rows] == [["digits", "`yolo11n.yaml`"], ["digits", "`yolo11n-repvit.yaml`"]]
    assert all(0 <= float(cell) <= 1 for row in rows for cell in row[2:5])
    assert (tmp_path / "work" / "held-back" / "digits" / "val" / "images").is_dir()
    assert {"CPU", "torch", "ultralytics", "timm", "openvino", "nncf"} <= set(machine_facts(text))


def test_int8_without_the_deploy_extra_names_it_before_training(tmp_path):
    if importlib.util.find_spec("litert_torch"):
        pytest.skip("the deploy extra is installed here")
    done = subprocess.run([sys.executable, str(BENCHMARKS / "int8.py"), "--quick", "--formats", "litert", "--work",
                           str(tmp_path / "work")], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert "pip install '.[deploy]'" in done.stderr
    assert not (tmp_path / "work").exists()  # nothing trained, nothing generated
