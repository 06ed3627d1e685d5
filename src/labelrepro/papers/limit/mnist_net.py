"""The MNIST classifier of the LIMIT supplement (Harutyunyan et al. 2020, Table 3).

Table 3: four conv layers with batch norm + ReLU, then FC 128 (ReLU) and FC 10 (linear):

    conv 32, 4x4, stride 2, pad 1   28 -> 14
    conv 32, 4x4, stride 2, pad 1   14 -> 7
    conv 64, 3x3, stride 2, pad 0    7 -> 3
    conv 256, 3x3, stride 1, pad 0   3 -> 1
    FC 128, ReLU                    (256 inputs)
    FC num_classes, linear

The gradient predictor q of LIMIT uses the same architecture with batch norm also on its FC-128 layer
(official code, see shared/OFFICIAL_CODE_FACTS.md), hence ``bn_on_fc``. The soft-regularisation baseline
(Eq. 11) needs the penultimate features z (the FC-128 output) and, in the official code, a bias-free last
layer, hence ``forward_features`` and ``last_layer_bias``.
"""

from __future__ import annotations

import torch
from torch import nn

# (out_channels, kernel, stride, padding) per conv layer, Table 3 of the supplement.
CONV_SPECS: tuple[tuple[int, int, int, int], ...] = (
    (32, 4, 2, 1),
    (32, 4, 2, 1),
    (64, 3, 2, 0),
    (256, 3, 1, 0),
)
FC_HIDDEN = 128


class MnistConvNet(nn.Module):
    """Table 3 classifier for 1x28x28 inputs; ``bn_on_fc=True`` gives LIMIT's gradient-predictor variant."""

    def __init__(
        self,
        num_classes: int = 10,
        bn_on_fc: bool = False,
        in_channels: int = 1,
        last_layer_bias: bool = True,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_channels
        for c_out, k, s, p in CONV_SPECS:
            layers += [
                nn.Conv2d(c_in, c_out, k, stride=s, padding=p),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        fc: list[nn.Module] = [nn.Flatten(), nn.Linear(c_in, FC_HIDDEN)]
        if bn_on_fc:
            fc.append(nn.BatchNorm1d(FC_HIDDEN))
        fc.append(nn.ReLU(inplace=True))
        self.fc_hidden = nn.Sequential(*fc)
        self.head = nn.Linear(FC_HIDDEN, num_classes, bias=last_layer_bias)
        self.num_classes = num_classes

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (logits, z) where z is the FC-128 activation fed to the last layer (Eq. 11 needs it)."""
        z = self.fc_hidden(self.features(x))
        return self.head(z), z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]
