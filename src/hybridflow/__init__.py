"""hybridflow: run workflows of jobs across local, SSH and Slurm hosts, watched live."""

from __future__ import annotations

__version__ = "0.1.0"
