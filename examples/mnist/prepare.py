"""Prepare the data once: scikit-learn's 8x8 digits, split and scaled, saved as digits.npz.

Writes ``digits.npz`` (x_train, y_train, x_test, y_test; images float32 in [0, 1] of
shape N x 8 x 8) to the current directory, the run directory shared by all jobs.
Nothing is downloaded: the digits ship inside scikit-learn.
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def progress(percent: int, status: str = "running") -> None:
    """Report progress to the coordinator (cloudmesh marker; needs no hybridflow)."""
    print(f"# cloudmesh status={status} progress={percent}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="digits.npz")
    parser.add_argument("--test-size", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    progress(0)
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)  # pixel values 0..16
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=args.test_size, random_state=args.seed, stratify=digits.target
    )
    np.savez_compressed(args.out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    print(f"wrote {args.out}: {len(x_train)} training and {len(x_test)} test images of 8x8 pixels")
    progress(100, "done")


if __name__ == "__main__":
    main()
