"""Build a RepViT YOLO11n, train it briefly on generated shapes, reload best.pt and predict.

    python examples/quickstart.py        # CPU, about a minute, no downloads
"""

from ultralytics import YOLO

from yolo_repvit import make_dataset  # importing the plugin activates its backbone rows

data = make_dataset("detect", "quickstart-data", train=32, val=8, imgsz=96)
model = YOLO("yolo11n-repvit.yaml")  # shipped config: RepViT m0_6 backbone, YOLO11n head
model.info()
# the shipped from-scratch training arguments; the ones given here take precedence
model.train(cfg="repvit-scratch.yaml", data=str(data), epochs=3, imgsz=96, batch=8, workers=0, device="cpu",
            project="quickstart-runs")

best = YOLO(model.trainer.best)  # a RepViT checkpoint loads like any other
result = best.predict("quickstart-data/val/images/val_0000.jpg", imgsz=96, device="cpu")[0]
print(f"{len(result.boxes)} boxes; weights in {model.trainer.best}")
