"""The Python API in one script: build a workflow, run it, look at it, export it.

    python examples/api.py

Uses $HYBRIDFLOW_HOME (default ~/.hybridflow) for its state and run directory; its jobs
run in a new temporary folder, where their outputs land.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console

from hybridflow import Workflow, WorkflowState


def main() -> None:
    console = Console()
    folder = Path(tempfile.mkdtemp(prefix="hflow-api-"))
    Workflow("api-demo").delete()  # start from a clean slate when run twice
    wf = Workflow("api-demo", folder=folder)
    wf.add_job("fetch", exec="seq 1 100 > numbers.txt", label="{name}\\n{tstart.%H--%M--%S}")
    for i in (1, 2):
        wf.add_job(
            f"half{i}",
            exec=f"awk 'NR % 2 == {i % 2} {{s += $1}} END {{print s}}' numbers.txt > half{i}.txt",
            after=["fetch"],
        )
    wf.add_job("total", exec="echo $(( $(cat half1.txt) + $(cat half2.txt) )) > total.txt")
    wf.add_dependencies("half1,total", "half2,total")  # each string is a chain: a,b means a -> b

    state = wf.run()
    console.print(wf.table())
    view = wf.status()
    console.print(f"state: {state.value}, counts: {view.counts()}")
    console.print("total:", (Path(wf.spec.base_dir) / "total.txt").read_text().strip())

    out = folder
    wf.graph(out / "api-demo.svg")
    wf.save(out / "api-demo.yaml")
    console.print(f"graph and YAML with state in {out}")
    raise SystemExit(0 if state is WorkflowState.DONE else 1)


if __name__ == "__main__":
    main()
