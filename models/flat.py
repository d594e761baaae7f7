"""A net's parameters and gradients in one flat buffer, and the optimiser step on it."""

from __future__ import annotations

import torch
from torch import nn

from models.config import TrainingConfig

ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults
ADAM_EPS = 1e-8
SGD_MOMENTUM = 0.9
_ALIGN = 64  # bytes, as PyTorch's CPU allocator aligns each tensor


def make_optimizer(net: nn.Module, cfg: TrainingConfig) -> torch.optim.Optimizer:
    """The `torch.optim` optimiser whose arithmetic `FlatParameters.step` repeats (DDP uses it)."""
    params = list(net.parameters())
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.learning_rate, momentum=SGD_MOMENTUM, weight_decay=cfg.weight_decay
        )
    opt = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return opt(
        params,
        lr=cfg.learning_rate,
        betas=ADAM_BETAS,
        eps=ADAM_EPS,
        weight_decay=cfg.weight_decay,
        foreach=True,
    )


class FlatParameters:
    """A net's parameters and gradients as views into two flat tensors, stepped as one tensor.

    On a small autoencoder a step is dominated by per-tensor overhead, not arithmetic: Adam over
    a dozen tensors costs more than the forward pass. Here every parameter (and its `.grad`) is a
    view into one flat buffer, so zeroing, clipping and the optimiser update are a handful of
    kernels each. Autograd accumulates into the existing `.grad` views in place. The update is
    element for element the arithmetic of `torch.optim.Adam` / `AdamW` / `SGD(momentum=0.9)`, so
    the weights are the same as with those optimisers. `release()` gives every parameter its own
    storage again (checkpoints must not share memory).
    """

    def __init__(self, net: nn.Module, cfg: TrainingConfig) -> None:
        self.params = [p for p in net.parameters() if p.requires_grad]
        self.cfg = cfg
        # Every view starts on a 64-byte boundary, like a tensor of its own: BLAS results may
        # depend on alignment, and the weights must not depend on where a view happens to start.
        offsets, total = [], 0
        for p in self.params:
            offsets.append(total)
            total += -(-p.numel() * p.element_size() // _ALIGN) * _ALIGN // p.element_size()
        first = self.params[0]
        self.data = torch.zeros(total, dtype=first.dtype, device=first.device)
        self.grad = torch.zeros_like(self.data)
        for p, offset in zip(self.params, offsets, strict=True):
            size = p.numel()
            self.data[offset : offset + size].copy_(p.detach().reshape(-1))
            p.data = self.data[offset : offset + size].view_as(p)
            p.grad = self.grad[offset : offset + size].view_as(p)
        self.grads = [p.grad for p in self.params if p.grad is not None]
        self.buf1 = torch.zeros_like(self.data)  # Adam: first moment; SGD: momentum
        self.buf2 = torch.zeros_like(self.data)  # Adam: second moment
        self.work = torch.empty_like(self.data)
        self.steps = 0

    def zero_grad(self) -> None:
        self.grad.zero_()

    def clip_grad_norm(self, max_norm: float) -> None:
        """`nn.utils.clip_grad_norm_`: total 2-norm of the per-tensor norms, scaled down to max."""
        norms = torch._foreach_norm(self.grads, 2.0)
        total = torch.linalg.vector_norm(torch.stack(norms), 2.0)
        self.grad.mul_(torch.clamp(max_norm / (total + 1e-6), max=1.0))

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        cfg, p, g = self.cfg, self.data, self.grad
        lr, wd = cfg.learning_rate, cfg.weight_decay
        if cfg.optimizer == "sgd":
            if wd != 0:
                g = torch.add(g, p, alpha=wd, out=self.work)
            if self.steps == 1:
                self.buf1.copy_(g)
            else:
                self.buf1.mul_(SGD_MOMENTUM).add_(g)
            p.add_(self.buf1, alpha=-lr)
            return
        beta1, beta2 = ADAM_BETAS
        if wd != 0:
            if cfg.optimizer == "adamw":
                p.mul_(1 - lr * wd)
            else:
                g = torch.add(g, p, alpha=wd, out=self.work)
        self.buf1.lerp_(g, 1 - beta1)
        self.buf2.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        step_size = -(lr / (1 - beta1**self.steps))
        denom = torch.sqrt(self.buf2, out=self.work)
        denom.div_((1 - beta2**self.steps) ** 0.5).add_(ADAM_EPS)
        p.addcdiv_(self.buf1, denom, value=step_size)

    def release(self) -> None:
        """Give every parameter its own storage again and drop the gradient views."""
        for p in self.params:
            p.data = p.data.clone()
            p.grad = None
