"""Train the scikit-learn baseline, logistic regression by averaged SGD, on digits.npz.

One pass over the shuffled training set per epoch (``partial_fit``), with a progress
marker each; writes ``metrics-logreg.json`` like the PyTorch jobs. ``--quick`` (or
``HF_QUICK=1``) trains only a few epochs.
"""

import argparse
import json
import os
import time

import numpy as np
from sklearn.linear_model import SGDClassifier

EPOCHS = 30
QUICK_EPOCHS = 5


def progress(percent: int, status: str = "running") -> None:
    """Report progress to the coordinator (cloudmesh marker; needs no hybridflow)."""
    print(f"# cloudmesh status={status} progress={percent}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("HF_QUICK") == "1")
    parser.add_argument("--epochs", type=int, help="override the number of epochs")
    parser.add_argument("--data", default="digits.npz")
    args = parser.parse_args()
    epochs = args.epochs or (QUICK_EPOCHS if args.quick else EPOCHS)

    data = np.load(args.data)
    x_train, x_test = (data[k].reshape(len(data[k]), -1) for k in ("x_train", "x_test"))
    y_train, y_test = data["y_train"], data["y_test"]
    classes = np.unique(y_train)
    rng = np.random.default_rng(0)
    model = SGDClassifier(loss="log_loss", alpha=1e-4, average=True, random_state=0)

    progress(0)
    train_seconds = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(x_train))
        model.partial_fit(x_train[order], y_train[order], classes=classes)
        train_seconds += time.perf_counter() - start
        acc = model.score(x_test, y_test)
        print(f"epoch {epoch}/{epochs}: test accuracy {acc:.4f}")
        progress(round(100 * epoch / epochs))

    metrics = {
        "model": "logreg",
        "framework": "scikit-learn",
        "accuracy": round(acc, 4),
        "train_seconds": round(train_seconds, 3),
        "epochs": epochs,
        "parameters": int(model.coef_.size + model.intercept_.size),
        "quick": args.quick,
    }
    with open("metrics-logreg.json", "w") as out:
        json.dump(metrics, out, indent=2)
    print(json.dumps(metrics))
    progress(100, "done")


if __name__ == "__main__":
    main()
