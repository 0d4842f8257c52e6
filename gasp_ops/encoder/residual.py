"""The encoder's residual block, in plain torch (no torchvision import: that costs ~2 s of CPU start-up because
``torchvision.ops`` pulls in ``torch._dynamo``, which ``gasp enroll --mode instant`` never uses; issue 17).

``ResidualBlock(c_in, c_out, stride, downsample, norm_layer)``: x [B, c_in, H, W] -> [B, c_out, H / stride,
W / stride] = relu(norm(conv3x3(relu(norm(conv3x3 / stride(x))))) + skip(x)), skip = ``downsample`` or identity.
Its submodule names (conv1, bn1, conv2, bn2, downsample) are the state-dict keys of the encoder files written so
far with torchvision's ``BasicBlock``, so those files load unchanged and give the same features.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions (no bias) each followed by ``norm_layer(channels)``, a skip connection, ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, downsample: nn.Module | None = None,
                 norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = norm_layer(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = norm_layer(c_out)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = x if self.downsample is None else self.downsample(x)
        return self.relu(y + skip)
