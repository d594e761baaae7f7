"""Training forward and backward of a dense Autoencoder without autograd (the fast path)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from models.autoencoder import Autoencoder
from models.objective import corrupted

_ATEN = torch.ops.aten
_Saved = tuple[torch.Tensor, ...]
_Forward = Callable[[torch.Tensor], tuple[torch.Tensor, _Saved]]
_Backward = Callable[[torch.Tensor, _Saved], torch.Tensor]


class FastPath:
    """Training forward and backward of a dense Autoencoder without autograd.

    At batch sizes like 32 a step costs per-operation overhead, not arithmetic, and autograd's graph
    bookkeeping is a good part of it. For the layer types the Autoencoder is built from (Linear,
    BatchNorm1d, LayerNorm, its activations, Dropout) this runs the same ATen operations autograd
    would, in the same order, and writes the gradients straight into the parameters' `.grad`
    (which must exist, as `FlatParameters` makes them), so the weights come out bit for bit as
    with `batch_loss(...).backward()` (tests/models/test_trainer.py checks it). `build` returns
    None for anything else (the variational variant, unknown modules): the trainer then uses
    autograd.
    """

    def __init__(self, net: Autoencoder, layers: list[tuple[_Forward, _Backward]], code: int):
        self.arch = net.arch
        self.layers = layers
        self.code_index = code  # the output of layers[code_index] is the code

    @classmethod
    def build(cls, net: Autoencoder) -> FastPath | None:
        if type(net) is not Autoencoder or net.arch.variant not in _FAST_VARIANTS:
            return None
        modules: list[nn.Module] = []
        for block in net.encoder:
            modules.extend(block.children() if isinstance(block, nn.Sequential) else [block])
        modules.append(net.to_code)
        code = len(modules) - 1
        for block in net.decoder:
            modules.extend(block.children() if isinstance(block, nn.Sequential) else [block])
        modules.append(net.to_output)
        layers = [_layer(m, first=i == 0) for i, m in enumerate(modules)]
        if any(layer is None for layer in layers):
            return None
        return cls(net, [layer for layer in layers if layer is not None], code)

    @torch.no_grad()
    def step(self, xb: torch.Tensor) -> torch.Tensor:
        """`batch_loss(net, xb)` and its backward: the loss, with every `.grad` written."""
        arch = self.arch
        h = corrupted(xb, arch)
        code = h
        saved: list[_Saved] = []
        for i, (forward, _) in enumerate(self.layers):
            h, keep = forward(h)
            saved.append(keep)
            if i == self.code_index:
                code = h
        diff = h - xb
        loss = diff.pow(2).mean()
        # MeanBackward then PowBackward, as autograd computes them: (1 / numel) * (2 * diff).
        g = (torch.ones((), dtype=h.dtype, device=h.device) / diff.numel()) * (2.0 * diff)
        sparse = arch.variant == "sparse"
        if sparse:
            loss = loss + arch.sparsity_weight * code.abs().mean()
            weight = torch.ones((), dtype=h.dtype, device=h.device) * arch.sparsity_weight
            g_code = (weight / code.numel()) * code.sgn()
        for i in range(len(self.layers) - 1, -1, -1):
            if sparse and i == self.code_index:
                g = g + g_code
            g = self.layers[i][1](g, saved[i])
        return loss


_FAST_VARIANTS = ("masked", "plain", "denoising", "sparse")


def _layer(m: nn.Module, *, first: bool) -> tuple[_Forward, _Backward] | None:
    """Forward and backward closures of one supported module, or None."""
    kind = type(m)
    if kind is nn.Linear:
        assert isinstance(m, nn.Linear)
        return _linear(m, first) if m.bias is not None and m.weight.grad is not None else None
    if kind is nn.BatchNorm1d:
        assert isinstance(m, nn.BatchNorm1d)
        ok = m.affine and m.track_running_stats and m.momentum is not None
        return _batch_norm(m) if ok else None
    if kind is nn.LayerNorm:
        assert isinstance(m, nn.LayerNorm)
        return _layer_norm(m) if m.elementwise_affine and m.bias is not None else None
    if kind is nn.Dropout:
        assert isinstance(m, nn.Dropout)
        return _dropout(m.p) if not m.inplace and 0.0 < m.p < 1.0 else None
    return _activation(m)


def _linear(m: nn.Linear, first: bool) -> tuple[_Forward, _Backward]:
    weight, bias = m.weight, m.bias
    grad_w, grad_b = weight.grad, bias.grad
    assert grad_w is not None and grad_b is not None
    with torch.no_grad():
        weight_t = weight.t()  # a view: it follows the in-place updates of the weights

    def forward(h: torch.Tensor) -> tuple[torch.Tensor, _Saved]:
        return torch.addmm(bias, h, weight_t), (h,)  # = F.linear on a 2-D batch

    def backward(g: torch.Tensor, saved: _Saved) -> torch.Tensor:
        torch.mm(g.t(), saved[0], out=grad_w)
        torch.sum(g, dim=0, out=grad_b)
        return g if first else g.mm(weight)  # the data itself needs no gradient

    return forward, backward


def _batch_norm(m: nn.BatchNorm1d) -> tuple[_Forward, _Backward] | None:
    weight, bias, mean, var = m.weight, m.bias, m.running_mean, m.running_var
    tracked, momentum, eps = m.num_batches_tracked, m.momentum, m.eps
    if weight.grad is None or bias.grad is None or tracked is None or momentum is None:
        return None
    grad_w, grad_b = weight.grad, bias.grad

    def forward(h: torch.Tensor) -> tuple[torch.Tensor, _Saved]:
        tracked.add_(1)  # as nn.BatchNorm1d.forward does in training
        out, save_mean, save_invstd = _ATEN.native_batch_norm(
            h, weight, bias, mean, var, True, momentum, eps
        )
        return out, (h, save_mean, save_invstd)

    def backward(g: torch.Tensor, saved: _Saved) -> torch.Tensor:
        h, save_mean, save_invstd = saved
        gi, gw, gb = _ATEN.native_batch_norm_backward(
            g, h, weight, mean, var, save_mean, save_invstd, True, eps, [True, True, True]
        )
        grad_w.copy_(gw)
        grad_b.copy_(gb)
        return gi  # type: ignore[no-any-return]

    return forward, backward


def _layer_norm(m: nn.LayerNorm) -> tuple[_Forward, _Backward] | None:
    weight, bias, shape, eps = m.weight, m.bias, m.normalized_shape, m.eps
    if weight.grad is None or bias is None or bias.grad is None:
        return None
    grad_w, grad_b = weight.grad, bias.grad

    def forward(h: torch.Tensor) -> tuple[torch.Tensor, _Saved]:
        out, mean, rstd = _ATEN.native_layer_norm(h, shape, weight, bias, eps)
        return out, (h, mean, rstd)

    def backward(g: torch.Tensor, saved: _Saved) -> torch.Tensor:
        h, mean, rstd = saved
        gi, gw, gb = _ATEN.native_layer_norm_backward(
            g, h, shape, mean, rstd, weight, bias, [True, True, True]
        )
        grad_w.copy_(gw)
        grad_b.copy_(gb)
        return gi  # type: ignore[no-any-return]

    return forward, backward


def _dropout(p: float) -> tuple[_Forward, _Backward]:
    def forward(h: torch.Tensor) -> tuple[torch.Tensor, _Saved]:
        noise = torch.empty_like(h).bernoulli_(1 - p).div_(1 - p)  # torch.dropout's CPU path
        return h * noise, (noise,)

    def backward(g: torch.Tensor, saved: _Saved) -> torch.Tensor:
        return g * saved[0]

    return forward, backward


def _activation(m: nn.Module) -> tuple[_Forward, _Backward] | None:
    """The module's own forward and the ATen backward autograd uses for it."""
    kind = type(m)
    if getattr(m, "inplace", False):
        return None
    backward: _Backward
    if kind is nn.ReLU:
        backward = lambda g, s: _ATEN.threshold_backward(g, s[0], 0)  # noqa: E731
    elif kind is nn.Tanh:
        backward = lambda g, s: _ATEN.tanh_backward(g, s[0])  # noqa: E731
    elif kind is nn.Sigmoid:
        backward = lambda g, s: _ATEN.sigmoid_backward(g, s[0])  # noqa: E731
    elif kind is nn.LeakyReLU:
        slope = getattr(m, "negative_slope", 0.01)
        backward = lambda g, s: _ATEN.leaky_relu_backward(g, s[0], slope, False)  # noqa: E731
    elif kind is nn.ELU:
        alpha = getattr(m, "alpha", 1.0)
        backward = lambda g, s: _ATEN.elu_backward(g, alpha, 1, 1, False, s[0])  # noqa: E731
    elif kind is nn.GELU:
        approximate = getattr(m, "approximate", "none")
        backward = lambda g, s: _ATEN.gelu_backward(g, s[0], approximate=approximate)  # noqa: E731
    elif kind is nn.SiLU:
        backward = lambda g, s: _ATEN.silu_backward(g, s[0])  # noqa: E731
    else:
        return None
    module_forward = m.forward
    keep_output = kind in (nn.ReLU, nn.Tanh, nn.Sigmoid)  # their backward reads the output

    def forward(h: torch.Tensor) -> tuple[torch.Tensor, _Saved]:
        out: torch.Tensor = module_forward(h)
        return out, ((out,) if keep_output else (h,))

    return forward, backward
