"""What training minimises and how a net's reconstruction loss is measured."""

from __future__ import annotations

import torch

from models.autoencoder import Autoencoder
from models.config import ArchitectureConfig
from models.masking import keep_mask

EVAL_CHUNK = 65_536  # rows per forward pass when evaluating: bounded memory on any set


def corrupted(xb: torch.Tensor, arch: ArchitectureConfig) -> torch.Tensor:
    """What the net sees of a training batch: noisy (denoising), partly hidden (masked), or as is."""
    if arch.variant == "denoising":
        return xb + arch.noise_std * torch.randn_like(xb)
    if arch.variant == "masked":
        return xb * keep_mask(xb, arch.mask_ratio)
    return xb


def batch_loss(net: Autoencoder, xb: torch.Tensor) -> torch.Tensor:
    """The training objective of the net's variant on one batch (B, F): rebuild every cell."""
    arch = net.arch
    out = net(corrupted(xb, arch))
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
