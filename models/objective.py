"""What training minimises and how a net's reconstruction loss is measured."""

from __future__ import annotations

import torch

from models.autoencoder import Autoencoder

EVAL_CHUNK = 65_536  # rows per forward pass when evaluating: bounded memory on any set


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
