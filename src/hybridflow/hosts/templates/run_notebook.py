"""Execute a notebook with nbclient, streaming cell output to stdout (hybridflow helper).

Usage: python run_notebook.py IN.ipynb OUT.ipynb
The executed notebook is written to OUT even when a cell fails; the exit status is 1 then.
Needs only nbclient, nbformat and ipykernel on the host that runs it.
"""

from __future__ import annotations

import sys
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def echo_outputs(cell: Any, cell_index: int, execute_reply: Any = None) -> None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            stream = sys.stdout if output.get("name") == "stdout" else sys.stderr
            stream.write(output.get("text", ""))
            stream.flush()


def main(source: str, target: str) -> int:
    notebook = nbformat.read(source, as_version=4)
    kernel = notebook.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(
        notebook,
        kernel_name=kernel,
        resources={"metadata": {"path": "."}},
        on_cell_executed=echo_outputs,
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        sys.stderr.write(str(exc) + "\n")
        return 1
    finally:
        nbformat.write(notebook, target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
