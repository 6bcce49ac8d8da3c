"""``/api/v1/workflows/{name}/dependencies``: add edges, also while the workflow runs."""

from __future__ import annotations

from fastapi import APIRouter

from ...names import chain_edges
from ...validate import validate
from ..deps import StateDep
from ..limits import check_names
from ..schemas import DependenciesIn, DependenciesOut
from .common import API, RESPONSES, WorkflowName

router = APIRouter(prefix=f"{API}/workflows", tags=["dependencies"], responses=RESPONSES)


@router.post("/{name}/dependencies", status_code=201, response_model=DependenciesOut,
             summary="Add dependencies")
def add_dependencies(name: WorkflowName, body: DependenciesIn, hf: StateDep) -> DependenciesOut:
    """Add chains such as ``a,b,c`` (a→b→c); all or nothing.

    422 for an unknown job, a cycle or a malformed chain: nothing is added then.
    """
    store = hf.stores.get()
    edges: list[tuple[str, str]] = []
    for chain in body.chains:
        check_names(chain, hf.settings.max_jobs, "dependency chain")
        edges.extend(chain_edges(chain))
    with hf.name_lock(name):
        current = store.spec(name)
        validate(current.with_edges(edges), limits=hf.settings.limits())
        new = [edge for edge in dict.fromkeys(edges) if edge not in set(current.edges)]
        store.add_jobs(name, [], new)
    hf.cache.forget(name)
    return DependenciesOut(name=name, added=new)
