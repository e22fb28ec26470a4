"""The heads of the shipped model configs: everything of a config but its backbone row.

Data for ``tools/generate.py``, which puts every shipped backbone under the heads it ships with.
Each head reads the backbone row's layers 1-4 (the stride 4/8/16/32 maps) as upstream's own
configs read their backbone's P2-P5 layers.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Head:
    """Everything of a config but its backbone row: the params above ``backbone:`` and the rows after it."""

    version: str  # yolo11, yolov8, yolo26: the name's family, before the scale letter
    suffix: str  # the name's task part: "", -seg, -pose, -obb, -cls, -p2
    title: str
    params: str
    rows: str


def _scales(family, table):
    rows = "".join(f"  {scale}: {values}\n" for scale, values in zip("nsmlx", table))
    return f"scales: # {family} head scaling [depth, width, max_channels]; the first row sets the backbone\n{rows}"


YOLO11_SCALES = _scales("YOLO11", ("[0.50, 0.25, 1024]", "[0.50, 0.50, 1024]", "[0.50, 1.00, 512]",
                                   "[1.00, 1.00, 512]", "[1.00, 1.50, 512]"))
NC = "nc: 80 # number of classes\n"
YOLO11_NECK = """\
  - [-1, 1, SPPF, [1024, 5]] # 5
  - [-1, 2, C2PSA, [1024]] # 6

head:
  # top-down: upsample and merge with the stride 16 and stride 8 backbone maps
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 7
  - [[-1, 3], 1, Concat, [1]] # 8  + layer 3 (stride 16)
  - [-1, 2, C3k2, [512, False]] # 9
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 10
  - [[-1, 2], 1, Concat, [1]] # 11 + layer 2 (stride 8)
  - [-1, 2, C3k2, [256, False]] # 12 output at stride 8
  # bottom-up: downsample and merge back
  - [-1, 1, Conv, [256, 3, 2]] # 13
  - [[-1, 9], 1, Concat, [1]] # 14 + layer 9
  - [-1, 2, C3k2, [512, False]] # 15 output at stride 16
  - [-1, 1, Conv, [512, 3, 2]] # 16
  - [[-1, 6], 1, Concat, [1]] # 17 + layer 6
  - [-1, 2, C3k2, [1024, True]] # 18 output at stride 32
"""

HEADS = {
    "detect": Head("yolo11", "", "YOLO11 detector", NC + YOLO11_SCALES, YOLO11_NECK + """\
  - [[12, 15, 18], 1, Detect, [nc]] # 19 boxes and classes from strides 8/16/32
"""),
    "segment": Head("yolo11", "-seg", "YOLO11 instance segmentation (boxes, classes and masks)", NC + YOLO11_SCALES,
                    YOLO11_NECK + """\
  - [[12, 15, 18], 1, Segment, [nc, 32, 256]] # 19 boxes, classes and 32 mask coefficients; prototype branch 256 \
wide before scaling
"""),
    "pose": Head("yolo11", "-pose", "YOLO11 keypoint (pose) estimation",
                 NC + "kpt_shape: [17, 3] # keypoints per object, values per keypoint (x, y, visibility); a dataset's "
                      "kpt_shape overrides it\n" + YOLO11_SCALES, YOLO11_NECK + """\
  - [[12, 15, 18], 1, Pose, [nc, kpt_shape]] # 19 boxes, classes and keypoints from strides 8/16/32
"""),
    "obb": Head("yolo11", "-obb", "YOLO11 oriented (rotated) box detection", NC + YOLO11_SCALES, YOLO11_NECK + """\
  - [[12, 15, 18], 1, OBB, [nc, 1]] # 19 rotated boxes (one angle each) and classes from strides 8/16/32
"""),
    "classify": Head("yolo11", "-cls", "image classifier (YOLO11's Classify head straight on the stride 32 map)",
                     "# No scales block: the head has no layer the depth/width multipliers act on, so the scale "
                     "letter\n# only picks the backbone.\n\n"
                     "nc: 1000 # number of classes; a dataset with another class count replaces it\n", """
head:
  - [-1, 1, Classify, [nc]] # 5 pooled stride 32 map (layer 4) -> class probabilities
"""),
    "p2": Head("yolo11", "-p2", "YOLO11 detector with a fourth, stride 4 output (P2-P5) for small objects, reading "
                                "the stride 4 map (layer 1),", NC + YOLO11_SCALES, """\
  - [-1, 1, SPPF, [1024, 5]] # 5
  - [-1, 2, C2PSA, [1024]] # 6

head:
  # top-down: upsample and merge with the stride 16, 8 and 4 backbone maps
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 7
  - [[-1, 3], 1, Concat, [1]] # 8  + layer 3 (stride 16)
  - [-1, 2, C3k2, [512, False]] # 9
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 10
  - [[-1, 2], 1, Concat, [1]] # 11 + layer 2 (stride 8)
  - [-1, 2, C3k2, [256, False]] # 12
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 13
  - [[-1, 1], 1, Concat, [1]] # 14 + layer 1 (stride 4)
  - [-1, 2, C3k2, [128, False]] # 15 output at stride 4
  # bottom-up: downsample and merge back
  - [-1, 1, Conv, [128, 3, 2]] # 16
  - [[-1, 12], 1, Concat, [1]] # 17 + layer 12
  - [-1, 2, C3k2, [256, False]] # 18 output at stride 8
  - [-1, 1, Conv, [256, 3, 2]] # 19
  - [[-1, 9], 1, Concat, [1]] # 20 + layer 9
  - [-1, 2, C3k2, [512, False]] # 21 output at stride 16
  - [-1, 1, Conv, [512, 3, 2]] # 22
  - [[-1, 6], 1, Concat, [1]] # 23 + layer 6
  - [-1, 2, C3k2, [1024, True]] # 24 output at stride 32
  - [[15, 18, 21, 24], 1, Detect, [nc]] # 25 boxes and classes from strides 4/8/16/32
"""),
    "v8": Head("yolov8", "", "YOLOv8 detector (C2f neck, v8 head)", NC + _scales(
        "YOLOv8", ("[0.33, 0.25, 1024]", "[0.33, 0.50, 1024]", "[0.67, 0.75, 768]", "[1.00, 1.00, 512]",
                   "[1.00, 1.25, 512]")), """\
  - [-1, 1, SPPF, [1024, 5]] # 5

head:
  # top-down: upsample and merge with the stride 16 and stride 8 backbone maps
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 6
  - [[-1, 3], 1, Concat, [1]] # 7  + layer 3 (stride 16)
  - [-1, 3, C2f, [512]] # 8
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 9
  - [[-1, 2], 1, Concat, [1]] # 10 + layer 2 (stride 8)
  - [-1, 3, C2f, [256]] # 11 output at stride 8
  # bottom-up: downsample and merge back
  - [-1, 1, Conv, [256, 3, 2]] # 12
  - [[-1, 8], 1, Concat, [1]] # 13 + layer 8
  - [-1, 3, C2f, [512]] # 14 output at stride 16
  - [-1, 1, Conv, [512, 3, 2]] # 15
  - [[-1, 5], 1, Concat, [1]] # 16 + layer 5
  - [-1, 3, C2f, [1024]] # 17 output at stride 32
  - [[11, 14, 17], 1, Detect, [nc]] # 18 boxes and classes from strides 8/16/32
"""),
    "yolo26": Head("yolo26", "", "YOLO26 detector (end-to-end, no NMS)",
                   'min_ultralytics: "8.4.0" # first release with YOLO26\'s layers; older ones fail with a clear '
                   "message\n" + NC + "end2end: True # one-to-one head: final boxes straight from the model\n"
                   "reg_max: 1 # plain box regression, no distribution bins\n" + _scales(
                       "YOLO26", ("[0.50, 0.25, 1024]", "[0.50, 0.50, 1024]", "[0.50, 1.00, 512]",
                                  "[1.00, 1.00, 512]", "[1.00, 1.50, 512]")), """\
  - [-1, 1, SPPF, [1024, 5, 3, True]] # 5 YOLO26 pooling: 3 poolings, residual where input and output widths match
  - [-1, 2, C2PSA, [1024]] # 6

head:
  # top-down: upsample and merge with the stride 16 and stride 8 backbone maps
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 7
  - [[-1, 3], 1, Concat, [1]] # 8  + layer 3 (stride 16)
  - [-1, 2, C3k2, [512, True]] # 9
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]] # 10
  - [[-1, 2], 1, Concat, [1]] # 11 + layer 2 (stride 8)
  - [-1, 2, C3k2, [256, True]] # 12 output at stride 8
  # bottom-up: downsample and merge back
  - [-1, 1, Conv, [256, 3, 2]] # 13
  - [[-1, 9], 1, Concat, [1]] # 14 + layer 9
  - [-1, 2, C3k2, [512, True]] # 15 output at stride 16
  - [-1, 1, Conv, [512, 3, 2]] # 16
  - [[-1, 6], 1, Concat, [1]] # 17 + layer 6
  - [-1, 1, C3k2, [1024, True, 0.5, True]] # 18 output at stride 32, with attention blocks
  - [[12, 15, 18], 1, Detect, [nc]] # 19 boxes and classes from strides 8/16/32
"""),
}
