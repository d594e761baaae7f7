"""The training loop: in-memory tensors, random permutations sliced into batches, early stopping.

It knows nothing about databases or HTTP; it reports every epoch through a callback whose True
answer stops training (that is how the service cancels a run).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from models.autoencoder import Autoencoder
from models.config import TrainingConfig
from models.errors import TrainingDiverged

EpochCallback = Callable[[int, float, float | None, float], bool]
"""`(epoch, train_loss, val_loss, seconds) -> stop`; epochs count from 1."""

EVAL_CHUNK = 65_536
_ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults, as make_optimizer uses them
_ADAM_EPS = 1e-8
_SGD_MOMENTUM = 0.9
_ALIGN = 64  # bytes, as PyTorch's CPU allocator aligns each tensor


@dataclass
class EpochRecord:
    """One epoch's losses (mean over the members of an ensemble) and wall-clock seconds."""

    epoch: int
    train_loss: float
    val_loss: float | None
    seconds: float


@dataclass
class TrainResult:
    """What a training produced, besides the weights it left in the members."""

    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    stopped: bool = False


@dataclass
class _Member:
    """A member's flat parameters (and optimiser state) and early-stopping state."""

    net: Autoencoder
    flat: FlatParameters
    fast: FastPath | None = None
    best_loss: float = math.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    done: bool = False


def choose_device(requested: str) -> torch.device:
    """`auto` picks CUDA when it is available, else the CPU."""
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def make_optimizer(net: nn.Module, cfg: TrainingConfig) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD (momentum 0.9) with the configured rate and weight decay."""
    params = list(net.parameters())
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.learning_rate, momentum=_SGD_MOMENTUM, weight_decay=cfg.weight_decay
        )
    opt = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return opt(
        params,
        lr=cfg.learning_rate,
        betas=_ADAM_BETAS,
        eps=_ADAM_EPS,
        weight_decay=cfg.weight_decay,
        foreach=True,
    )


def batch_loss(net: Autoencoder, xb: torch.Tensor) -> torch.Tensor:
    """The training objective of the net's variant on one batch (B, F)."""
    arch = net.arch
    inputs = xb + arch.noise_std * torch.randn_like(xb) if arch.variant == "denoising" else xb
    out = net(inputs)
    loss: torch.Tensor = (out.reconstruction - xb).pow(2).mean()
    if arch.variant == "sparse":
        loss = loss + arch.sparsity_weight * out.code.abs().mean()
    if out.kl is not None:
        loss = loss + arch.beta * out.kl.mean() / xb.shape[1]  # KL per feature, like the MSE
    return loss


@torch.inference_mode()
def reconstruction_loss(net: Autoencoder, x: torch.Tensor) -> float:
    """Mean squared reconstruction error over all rows of `x`, in eval mode."""
    was_training = net.training
    net.eval()
    total = torch.zeros((), device=x.device)
    for start in range(0, x.shape[0], EVAL_CHUNK):
        xb = x[start : start + EVAL_CHUNK]
        total += (net(xb).reconstruction - xb).pow(2).sum()
    net.train(was_training)
    return float(total) / (x.shape[0] * x.shape[1])


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
                self.buf1.mul_(_SGD_MOMENTUM).add_(g)
            p.add_(self.buf1, alpha=-lr)
            return
        beta1, beta2 = _ADAM_BETAS
        if wd != 0:
            if cfg.optimizer == "adamw":
                p.mul_(1 - lr * wd)
            else:
                g = torch.add(g, p, alpha=wd, out=self.work)
        self.buf1.lerp_(g, 1 - beta1)
        self.buf2.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        step_size = -(lr / (1 - beta1**self.steps))
        denom = torch.sqrt(self.buf2, out=self.work)
        denom.div_((1 - beta2**self.steps) ** 0.5).add_(_ADAM_EPS)
        p.addcdiv_(self.buf1, denom, value=step_size)

    def release(self) -> None:
        """Give every parameter its own storage again and drop the gradient views."""
        for p in self.params:
            p.data = p.data.clone()
            p.grad = None


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
        h = xb + arch.noise_std * torch.randn_like(xb) if arch.variant == "denoising" else xb
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


_FAST_VARIANTS = ("plain", "denoising", "sparse")


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


def _train_epoch(
    m: _Member, flat: FlatParameters, x: torch.Tensor, cfg: TrainingConfig, gen: torch.Generator
) -> float:
    m.net.train()
    n = x.shape[0]
    perm = torch.randperm(n, generator=gen).to(x.device)
    shuffled = x[perm]  # one gather per epoch; the batches are contiguous slices of it
    single_row_ok = not (n >= 2 and m.net.arch.normalization == "batch")
    losses: list[torch.Tensor] = []
    sizes: list[int] = []
    for start in range(0, n, cfg.batch_size):
        xb = shuffled[start : start + cfg.batch_size]
        if xb.shape[0] < 2 and not single_row_ok:
            continue  # batch norm cannot train on a single row
        if m.fast is not None:
            loss = m.fast.step(xb)  # writes every gradient: no zeroing needed
        else:
            loss = batch_loss(m.net, xb)
            flat.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
        if cfg.gradient_clip is not None:
            flat.clip_grad_norm(cfg.gradient_clip)
        flat.step()
        losses.append(loss.detach())  # no .item(): the CPU never waits on a step
        sizes.append(xb.shape[0])
    if not losses:
        return 0.0
    weights = torch.tensor(sizes, dtype=losses[0].dtype, device=x.device)
    return float(torch.stack(losses) @ weights) / n


def _track_best(m: _Member, loss: float, epoch: int, patience: int) -> None:
    if loss < m.best_loss:
        m.best_loss, m.best_epoch = loss, epoch
        m.best_state = {k: v.detach().clone() for k, v in m.net.state_dict().items()}
    elif patience > 0 and epoch - m.best_epoch >= patience:
        m.done = True


def train(
    nets: Sequence[Autoencoder],
    x_train: torch.Tensor,
    x_val: torch.Tensor | None,
    cfg: TrainingConfig,
    callback: EpochCallback | None = None,
    *,
    fast_path: bool = True,
) -> TrainResult:
    """Train every net in lockstep, one epoch each per reported epoch; restore each best epoch.

    `fast_path=False` trains through autograd even where `FastPath` applies (same weights).
    """
    members = [
        _Member(net, FlatParameters(net, cfg), FastPath.build(net) if fast_path else None)
        for net in nets
    ]
    try:
        return _train(members, x_train, x_val, cfg, callback)
    finally:
        for m in members:
            m.flat.release()


def _train(
    members: list[_Member],
    x_train: torch.Tensor,
    x_val: torch.Tensor | None,
    cfg: TrainingConfig,
    callback: EpochCallback | None,
) -> TrainResult:
    gen = torch.Generator().manual_seed(cfg.seed)
    result = TrainResult()
    for epoch in range(1, cfg.epochs + 1):
        started = time.perf_counter()
        active = [m for m in members if not m.done]
        train_loss = _mean([_train_epoch(m, m.flat, x_train, cfg, gen) for m in active])
        if not math.isfinite(train_loss):
            raise TrainingDiverged(f"the training loss became {train_loss} at epoch {epoch}")
        val_loss = None
        if x_val is not None and x_val.shape[0] > 0:
            val_losses = [reconstruction_loss(m.net, x_val) for m in active]
            for m, loss in zip(active, val_losses, strict=True):
                _track_best(m, loss, epoch, cfg.early_stopping_patience)
            val_loss = _mean(val_losses)
        record = EpochRecord(epoch, train_loss, val_loss, time.perf_counter() - started)
        result.history.append(record)
        if callback is not None and callback(epoch, train_loss, val_loss, record.seconds):
            result.stopped = True
            break
        if all(m.done for m in members):
            break
    result.best_epoch = _restore_best(members, result)
    return result


def _restore_best(members: list[_Member], result: TrainResult) -> int:
    for m in members:
        if m.best_state is not None:
            m.net.load_state_dict(m.best_state)
    best = [m.best_epoch for m in members if m.best_state is not None]
    return max(best) if best else len(result.history)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
