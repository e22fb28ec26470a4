"""The recipe's training script, on yolo-repvit.

    python examples/train.py --data dataset/ --model yolo11-RepViT.yaml --device 0

``--data`` takes a data YAML, or a folder in the recipe's layout
(``{train,val}/{images,labels}`` with ``train/labels/classes.txt``), for which a ``data.yaml``
is written next to it.  ``--model`` takes a shipped config name or your own YAML.
"""

import argparse
from pathlib import Path

from ultralytics import YOLO

import yolo_repvit  # noqa: F401  activates RepViT rows before the model is built
from yolo_repvit import write_data_yaml

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="data YAML, or dataset folder in the recipe's layout")
    parser.add_argument("--model", default="yolo11n-repvit.yaml")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--device", default=None, help="0, 0,1,2,3 or cpu; default: first GPU if any")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cfg", default="repvit-scratch.yaml",
                        help="training arguments the options above override; the default suits from-scratch backbones")
    parser.add_argument("--resume", action="store_true", help="continue the last run of this model")
    args = parser.parse_args()

    data = write_data_yaml(args.data) if Path(args.data).is_dir() else args.data
    model = YOLO(args.model)
    model.train(cfg=args.cfg, data=str(data), epochs=args.epochs, imgsz=args.imgsz, batch=args.batch,
                device=args.device, workers=args.workers, save=True, resume=args.resume)
