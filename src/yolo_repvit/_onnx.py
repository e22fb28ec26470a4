"""ONNX export of the antialiased bicubic resize timm uses to fit a ViT's position embedding to the input size.

A plain ViT with learned absolute position embeddings (DINOv2, DeiT) resizes them to the
input's patch grid with ``F.interpolate(mode="bicubic", antialias=True)``, for which torch's ONNX
exporter has no translation.  ONNX's own ``Resize`` does the same filter from opset 18 on (cubic
coefficient -0.5, taps outside the image left out and the rest renormalized); registered here, on
the first export of such a model, it reproduces PyTorch's result to float precision.
"""

import functools

import torch

OPSET = 18  # the first ONNX opset whose Resize has antialias


@functools.cache
def support_antialiased_resize():
    """Teach torch's ONNX exporter ``aten::_upsample_bicubic2d_aa`` (once per process)."""
    torch.onnx.register_custom_op_symbolic("aten::_upsample_bicubic2d_aa", _resize, OPSET)


def _resize(g, x, output_size, align_corners, scale_factors):
    nothing = g.op("Constant", value_t=torch.tensor([], dtype=torch.float32))
    batch_and_channels = g.op("Slice", g.op("Shape", x), g.op("Constant", value_t=torch.tensor([0])),
                              g.op("Constant", value_t=torch.tensor([2])))
    sizes = g.op("Concat", batch_and_channels, g.op("Cast", output_size, to_i=7), axis_i=0)  # 7: int64
    return g.op("Resize", x, nothing, nothing, sizes, mode_s="cubic", antialias_i=1, cubic_coeff_a_f=-0.5,
                exclude_outside_i=1, coordinate_transformation_mode_s="half_pixel")
