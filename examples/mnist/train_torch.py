"""Train a small PyTorch model (``--model mlp`` or ``cnn``) on digits.npz, on the CPU.

Reads ``digits.npz`` from the current directory (the run directory), prints one
progress marker per epoch and writes ``metrics-<model>.json``: accuracy on the test
split, training seconds, epochs. ``--quick`` (or ``HF_QUICK=1`` in the environment)
trains only a few epochs, for tests.
"""

import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn

EPOCHS = {"mlp": 60, "cnn": 40}  # full mode
QUICK_EPOCHS = 5


def progress(percent: int, status: str = "running") -> None:
    """Report progress to the coordinator (cloudmesh marker; needs no hybridflow)."""
    print(f"# cloudmesh status={status} progress={percent}", flush=True)


def build(model: str) -> nn.Module:
    """The network for ``model``; both take N x 1 x 8 x 8 images and give 10 logits."""
    if model == "mlp":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)
        )
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 4 x 4
        nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    with torch.no_grad():
        return (net(x).argmax(dim=1) == y).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(EPOCHS), required=True)
    parser.add_argument("--quick", action="store_true", default=os.environ.get("HF_QUICK") == "1")
    parser.add_argument("--epochs", type=int, help="override the number of epochs")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data", default="digits.npz")
    args = parser.parse_args()
    epochs = args.epochs or (QUICK_EPOCHS if args.quick else EPOCHS[args.model])

    torch.manual_seed(0)
    torch.set_num_threads(1)  # the training jobs run side by side: one core each
    data = np.load(args.data)
    x_train, x_test = (torch.from_numpy(data[k]).unsqueeze(1) for k in ("x_train", "x_test"))
    y_train, y_test = (torch.from_numpy(data[k]).long() for k in ("y_train", "y_test"))

    net = build(args.model)
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    progress(0)
    train_seconds = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        net.train()
        for batch in torch.randperm(len(x_train)).split(args.batch_size):
            optimizer.zero_grad()
            loss = loss_fn(net(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
        train_seconds += time.perf_counter() - start
        acc = accuracy(net, x_test, y_test)
        print(f"epoch {epoch}/{epochs}: loss {loss.item():.4f}, test accuracy {acc:.4f}")
        progress(round(100 * epoch / epochs))

    metrics = {
        "model": args.model,
        "framework": "pytorch",
        "accuracy": round(acc, 4),
        "train_seconds": round(train_seconds, 3),
        "epochs": epochs,
        "parameters": sum(p.numel() for p in net.parameters()),
        "quick": args.quick,
    }
    with open(f"metrics-{args.model}.json", "w") as out:
        json.dump(metrics, out, indent=2)
    print(json.dumps(metrics))
    progress(100, "done")


if __name__ == "__main__":
    main()
