"""Parameter sweeps: a node with ``experiments:`` becomes one job per permutation.

In the workflow file::

    cluster: {account: abc}                # any top-level key is a workflow variable
    workflow:
      nodes:
        train:
          experiments: {epochs: "1,2", gpu: [a100, v100, h100]}   # or "a[1-3]"
          constants: {dataset: mnist}
          max_parallel: 2                  # at most 2 of these jobs active at once
          exec: python train.py --epochs {epochs} --gpu {gpu} --out $HF_OUTPUT_DIR
          partition: debug
          gres: "gpu:{gpu}:1"              # every string of the node is templated
          account: "{cluster.account}"
        gather: {exec: cat train/*/*/result.txt}
      dependencies: [train,gather]         # gather after *all* train jobs

Contract of :func:`expand_sweeps`:

- **Permutations** are the product of the parameters in the order written, values in the
  order written (a value list, a scalar, or a ``"1,2,3"`` / ``"a[1-3]"`` string).
- **Job names** are ``NODE-k_v-k_v...`` (``train-epochs_1-gpu_a100``): each parameter adds
  ``-``, its name, ``_``, its value, where every character of the value outside
  ``[A-Za-z0-9._-]`` becomes ``_``. Two permutations giving one name is a :class:`SpecError`.
- **Output directory** of a job: ``NODE/k=v/k=v...`` (``train/epochs=1/gpu=a100``),
  relative to the job's working directory (the workflow's folder for local jobs, the run
  directory elsewhere), values sanitised the same way. It is exported as
  ``$HF_OUTPUT_DIR`` (also ``$HF_SWEEP=NODE``); the working directory stays the one
  shared by all jobs. ``exec`` and templated-script jobs create the directory
  before their payload runs; a plain script must ``mkdir -p "$HF_OUTPUT_DIR"`` itself.
- **Placeholders** ``{param}``, ``{constant}``, ``{var.key.sub}`` (dotted lookups into
  the workflow variables: top-level keys and extra ``workflow:`` keys), and the built-ins
  ``{name}`` (the job's name), ``{node}``, ``{output_dir}`` and ``{workflow_dir}`` (the
  workflow file's folder on the coordinator, absolute) are substituted in
  ``exec``, ``script`` (file and arguments), ``label``, ``venv``, ``host``, ``user`` and
  every string inside the node's other keys (``env`` values, Slurm options...).
  ``{{``/``}}`` are literal braces; ``${VAR}`` is left to the shell. In labels the
  runtime fields (``{name}``, ``{progress}``, ``{status}``, ``{tstart.FMT}``, ``{now.}``,
  ``{os.VAR}``...) are left for the label renderer. Any other undefined placeholder is a
  :class:`SpecError` naming the file, node, field and placeholder.
- **Templated script files** (``train.in.sh``, ``train.in.py``: ``.in`` before the
  suffix) are rendered per job and embedded in the job's ``exec``, which writes them into
  the job's output directory *on the host that runs it* (``$HF_OUTPUT_DIR/train.sh``) and
  runs them from there (``bash``; ``.py`` with the venv's ``python``, the coordinator's
  interpreter for kind ``local``, else ``python3``). Nothing is written at expansion time,
  so ``hflow workflow expand`` is a pure dry run and any host kind gets the file. For
  kind ``slurm`` the template's ``#SBATCH`` header lines become the first
  ``args["sbatch"]`` arguments (so they come after the node's ``partition``/``gres``...
  keys and before its own ``sbatch`` extras). Plain scripts keep ``script:`` (arguments
  substituted) and run as any job does.
- **Dependencies** naming a sweep node are rewritten to all of its jobs (an edge between
  two sweeps links every pair).
- **Limits** (``hybridflow.limits``): a node's permutations are counted *before* any is
  built, so a node of 216,000 permutations, or all nodes together over ``max_jobs``, is a
  :class:`~hybridflow.errors.LimitError` naming the node and the count; the edges that
  rewriting would give are counted before they are made (``max_edges``).
- Every job carries ``sweep = NODE`` and ``sweep_params`` (the values), typed
  :class:`JobSpec` fields, and keeps the node's ``max_parallel``; the engine limits how
  many jobs of one sweep are active at once. ``experiments``/``constants`` are consumed,
  so an expanded workflow written back to YAML loads as the same jobs. The node's other
  typed fields are copied; the strings of ``env`` values and ``stage_in``/``stage_out``
  are templated, the policy values (``retries``, ``timeout``...) are not: they were
  parsed when the node was read.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import LimitError, SpecError
from .files import escaping_link, is_file, read_text
from .limits import Limits
from .names import check_name, split_list
from .spec import JobSpec
from .templating import RUNTIME_DOTTED, RUNTIME_PLAIN, Namespace, scalar, substitute, substitute_tree

#: node keys (kept in ``args`` until expanded) consumed by the expansion
SWEEP_KEYS = ("experiments", "constants")
#: JobSpec fields that are templated (``label`` in label mode)
TEMPLATED_FIELDS = ("exec", "script", "label", "venv", "host", "user")
BUILTINS = frozenset({"name", "node", "output_dir", "workflow_dir"})
#: ``{workflow_dir}`` in a node that is not a sweep (whose strings are not templated)
_WORKFLOW_DIR = re.compile(r"(?<!\{)\{workflow_dir\}(?!\})")
RESERVED = RUNTIME_PLAIN | RUNTIME_DOTTED | BUILTINS
#: first line of the exec of every sweep job that creates its output directory
MKDIR = 'mkdir -p "$HF_OUTPUT_DIR" || exit 1'
HEREDOC = "HF_SWEEP_SCRIPT"

_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_TEMPLATE = re.compile(r"^(?P<stem>.+)\.in(?P<suffix>\.[A-Za-z0-9]+)?$")


def is_sweep(job: JobSpec) -> bool:
    """Whether the node declares ``experiments:`` or ``constants:`` (is expanded)."""
    return "experiments" in job.args or "constants" in job.args


def safe(value: str) -> str:
    """``value`` with every character outside ``[A-Za-z0-9._-]`` replaced by ``_``."""
    return _UNSAFE.sub("_", value)


def job_name(node: str, params: Mapping[str, str]) -> str:
    """``NODE-k_v-...``: the name of the permutation ``params`` of ``node``."""
    return node + "".join(f"-{key}_{safe(value)}" for key, value in params.items())


def output_dir(node: str, params: Mapping[str, str]) -> str:
    """``NODE/k=v/...``: the job's output directory, relative to the run directory."""
    return "/".join([node, *(f"{key}={safe(value)}" for key, value in params.items())])


# -- reading a node ------------------------------------------------------------------------


def parameters(node: JobSpec, file: str | None) -> dict[str, list[str]]:
    """The node's ``experiments`` as parameter → values (in the order written)."""
    raw = node.args.get("experiments")
    if raw in (None, {}):
        return {}
    if not isinstance(raw, Mapping):
        raise SpecError("must be a mapping of parameter to values", file=file, job=node.name, field="experiments")
    params: dict[str, list[str]] = {}
    for key, values in raw.items():
        key = str(key)
        field = f"experiments.{key}"
        _check_param(key, node, file, field)
        if isinstance(values, str):
            try:
                items = split_list(values)
            except SpecError as exc:
                raise SpecError(exc.problem, file=file, job=node.name, field=field) from None
        elif isinstance(values, list):
            if not all(v is not None and not isinstance(v, (Mapping, list)) for v in values):
                raise SpecError("values must be scalars", file=file, job=node.name, field=field)
            items = [scalar(v) for v in values]
        elif values is None or isinstance(values, Mapping):
            raise SpecError("must be a list of values or a string such as '1,2,3' or 'a[1-3]'",
                            file=file, job=node.name, field=field)
        else:
            items = [scalar(values)]
        if not items:
            raise SpecError("has no values", file=file, job=node.name, field=field)
        if len(set(items)) != len(items):
            raise SpecError(f"values repeat: {', '.join(items)}", file=file, job=node.name, field=field)
        params[key] = items
    return params


def _constants(node: JobSpec, params: Mapping[str, Any], file: str | None) -> dict[str, Any]:
    raw = node.args.get("constants")
    if raw in (None, {}):
        return {}
    if not isinstance(raw, Mapping):
        raise SpecError("must be a mapping of name to value", file=file, job=node.name, field="constants")
    for key in raw:
        _check_param(str(key), node, file, f"constants.{key}")
        if key in params:
            raise SpecError(f"'{key}' is both a parameter and a constant", file=file, job=node.name, field="constants")
    return {str(k): v for k, v in raw.items()}


def _check_param(key: str, node: JobSpec, file: str | None, field: str) -> None:
    if not _PARAM.match(key):
        raise SpecError(f"'{key}' is not a valid placeholder name (letters, digits, '_')",
                        file=file, job=node.name, field=field)
    if key in RESERVED:
        raise SpecError(f"'{key}' is reserved (built-in or label field)", file=file, job=node.name, field=field)


def permutations(params: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    """Every combination of ``params`` (one empty combination when there are none)."""
    keys = list(params)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(params[k] for k in keys))]


# -- expansion -----------------------------------------------------------------------------


def expand_sweeps(
    jobs: Mapping[str, JobSpec],
    edges: Iterable[tuple[str, str]],
    variables: Mapping[str, Any],
    *,
    base_dir: str = ".",
    file: str | None = None,
    limits: Limits | None = None,
) -> tuple[dict[str, JobSpec], list[tuple[str, str]]]:
    """Expand every sweep node of ``jobs`` and rewrite ``edges``; see the module docstring.

    Jobs keep their declaration order, a node's jobs taking its place. Raises
    :class:`SpecError` for a malformed sweep, an undefined placeholder, a missing template
    or a job name given twice, :class:`LimitError` before building more jobs or edges than
    ``limits`` (default: ``Limits.from_env()``) allow.
    """
    limits = limits or Limits.from_env()
    edges = list(edges)
    expanded: dict[str, JobSpec] = {}
    members: dict[str, list[str]] = {}
    total = len(jobs)
    for name, job in jobs.items():
        if not is_sweep(job):
            _add(expanded, with_workflow_dir(job, base_dir), file)
            continue
        total += permutation_count(job, file) - 1
        if total > limits.max_jobs:
            raise LimitError(f"expands to {permutation_count(job, file)} jobs, {total} in the workflow "
                             f"{limits.hint('max_jobs')}", file=file, job=name, field="experiments")
        members[name] = []
        for item in expand_node(job, variables, base_dir=base_dir, file=file):
            _add(expanded, item, file)
            members[name].append(item.name)
    _check_edges(edges, members, limits, file)
    rewritten: dict[tuple[str, str], None] = {}
    for parent, child in edges:
        for a in members.get(parent, [parent]):
            for b in members.get(child, [child]):
                rewritten[(a, b)] = None
    return expanded, list(rewritten)


def with_workflow_dir(job: JobSpec, base_dir: str) -> JobSpec:
    """A plain node with ``{workflow_dir}`` replaced in its ``exec``, ``script`` and ``env``
    values (the one placeholder such a node has; its other braces are left alone)."""
    texts = [job.exec, job.script, *job.env.values()]
    if not any(text and "{workflow_dir}" in text for text in texts):
        return job
    folder = str(Path(base_dir).resolve())

    def put(text: str | None) -> str | None:
        return None if text is None else _WORKFLOW_DIR.sub(lambda _: folder, text)

    env = {key: put(value) or "" for key, value in job.env.items()}
    return dataclasses.replace(job, exec=put(job.exec), script=put(job.script), env=env)


def permutation_count(node: JobSpec, file: str | None = None) -> int:
    """How many jobs ``node`` expands to, without building them."""
    return math.prod(len(values) for values in parameters(node, file).values())


def _check_edges(edges: Sequence[tuple[str, str]], members: Mapping[str, Sequence[str]], limits: Limits,
                 file: str | None) -> None:
    """Refuse, before building them, more rewritten edges than ``limits.max_edges``."""
    total = 0
    for parent, child in edges:
        count = len(members.get(parent, "x")) * len(members.get(child, "x"))
        total += count
        if total > limits.max_edges:
            raise LimitError(f"dependency '{parent},{child}' gives {count} edges, {total} in the workflow "
                             f"{limits.hint('max_edges')}", file=file, field="dependencies")


def _add(jobs: dict[str, JobSpec], job: JobSpec, file: str | None) -> None:
    if job.name in jobs:
        raise SpecError("defined twice", file=file, job=job.name)
    jobs[job.name] = job


def expand_node(node: JobSpec, variables: Mapping[str, Any], *, base_dir: str = ".",
                file: str | None = None) -> list[JobSpec]:
    """The jobs of one sweep node, in permutation order."""
    params = parameters(node, file)
    constants = _constants(node, params, file)
    combos = permutations(params)
    seen: dict[str, dict[str, str]] = {}
    for combo in combos:
        name = job_name(node.name, combo)
        try:
            check_name(name)
        except SpecError as exc:
            raise SpecError(f"permutation {_show(combo)}: {exc.problem}", file=file, job=node.name,
                            field="experiments") from None
        if name in seen:
            raise SpecError(
                f"permutations {_show(seen[name])} and {_show(combo)} both give job name '{name}' "
                "(values differ only in characters outside [A-Za-z0-9._-])",
                file=file, job=node.name, field="experiments",
            )
        seen[name] = combo
    return [_one(node, combo, constants, variables, base_dir, file) for combo in combos]


def _show(combo: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in combo.items()) or "(none)"


def _one(node: JobSpec, combo: dict[str, str], constants: Mapping[str, Any], variables: Mapping[str, Any],
         base_dir: str, file: str | None) -> JobSpec:
    name = job_name(node.name, combo)
    out = output_dir(node.name, combo)
    builtins = {"name": name, "node": node.name, "output_dir": out, "workflow_dir": str(Path(base_dir).resolve())}
    ns = Namespace(builtins, combo, constants, variables)

    def where(field: str) -> Callable[[str], SpecError]:
        return lambda problem: SpecError(problem, file=file, job=node.name, field=field)

    values: dict[str, Any] = {key: getattr(node, key) for key in ("kind", "shape", "style")}
    for key in TEMPLATED_FIELDS:
        text = getattr(node, key)
        values[key] = None if text is None else substitute(text, ns, where=where(key), label=key == "label")
    args = {k: substitute_tree(v, ns, where, k) for k, v in node.args.items() if k not in SWEEP_KEYS}
    env = {k: substitute(v, ns, where=where(f"env.{k}")) for k, v in node.env.items()}
    values["env"] = {**env, "HF_OUTPUT_DIR": out, "HF_SWEEP": node.name}
    for key in ("stage_in", "stage_out"):
        values[key] = tuple(substitute(v, ns, where=where(f"{key}[{i}]")) for i, v in enumerate(getattr(node, key)))
    values = _payload(node, values, args, ns, where, base_dir)
    return dataclasses.replace(node, name=name, args=args, sweep=node.name, sweep_params=dict(combo), **values)


def _payload(node: JobSpec, values: dict[str, Any], args: dict[str, Any], ns: Namespace,
             where: Callable[[str], Callable[[str], SpecError]], base_dir: str) -> dict[str, Any]:
    """Make the exec create the output directory; render a templated script into it.

    A Slurm job's template keeps its ``#SBATCH`` header lines: they are embedded in the
    exec, where sbatch cannot see them, so they go first into ``args["sbatch"]``.
    """
    script = values["script"]
    if not script and not values["exec"]:
        script = _default_script(node.name, base_dir)
        if script is None:
            return values  # validation reports the missing payload
    if not script:
        values["exec"] = f"{MKDIR}\n{values['exec']}"
        return values
    try:
        path, *script_args = shlex.split(script)
    except ValueError as exc:
        raise where("script")(f"cannot split: {exc}") from None
    match = _TEMPLATE.match(Path(path).name)
    if not match:
        values["script"] = script
        return values
    suffix = match.group("suffix") or ""
    if suffix == ".ipynb":
        raise where("script")("templated notebooks are not supported (use a .in.py or .in.sh template)")
    source = Path(path).expanduser()
    source = source if source.is_absolute() else Path(base_dir) / source
    if not is_file(source):
        raise where("script")(f"file '{path}' does not exist")
    outside = escaping_link(base_dir, path)
    if outside is not None:
        raise where("script")(f"'{path}' is a link to '{outside}', outside the workflow folder")
    try:
        template = read_text(source, limits=Limits.from_env())
    except SpecError as exc:
        raise where("script")(f"template '{path}': {exc.problem}") from None
    text = substitute(template, ns, where=where(f"script ({path})"))
    target = f'"$HF_OUTPUT_DIR"/{shlex.quote(match.group("stem") + suffix)}'
    if suffix == ".py":
        python = "python" if values["venv"] else shlex.quote(sys.executable) if values["kind"] == "local" else "python3"
        run = f"{python} {target}"
    else:
        run = f"bash {target}"
    if script_args:
        run += " " + shlex.join(script_args)
    delimiter = HEREDOC
    lines = text.splitlines()
    while delimiter in lines:
        delimiter += "_"
    body = text if text.endswith("\n") else text + "\n"
    values["exec"] = f"{MKDIR}\ncat > {target} <<'{delimiter}'\n{body}{delimiter}\n{run}"
    values["script"] = None
    if values["kind"] == "slurm":
        directives = sbatch_directives(text)
        if directives:
            extra = args.get("sbatch") or []
            extra = shlex.split(extra) if isinstance(extra, str) else [str(a) for a in extra]
            args["sbatch"] = [*directives, *extra]
    return values


def sbatch_directives(text: str) -> list[str]:
    """The arguments of a script's ``#SBATCH`` header lines (read as sbatch does)."""
    found: list[str] = []
    for number, line in enumerate(text.splitlines()):
        stripped = line.strip()
        if number == 0 and stripped.startswith("#!"):
            continue
        if stripped.startswith("#SBATCH"):
            found.extend(shlex.split(stripped[len("#SBATCH"):], comments=True))
        elif stripped and not stripped.startswith("#"):
            break
    return found


def _default_script(node: str, base_dir: str) -> str | None:
    """``NODE.in.sh`` or ``NODE.sh`` beside the workflow, the default payload of a node."""
    for candidate in (f"{node}.in.sh", f"{node}.sh"):
        if is_file(Path(base_dir) / candidate):
            return candidate
    return None


def sweep_limited(chosen: Sequence[str], active: Iterable[str], jobs: Mapping[str, JobSpec],
                  exempt: Callable[[str], bool] | None = None) -> list[str]:
    """``chosen`` without the jobs beyond their sweep's ``max_parallel``, counting the
    ``active`` ones (job fields ``sweep``/``max_parallel``); ``exempt`` jobs are kept (their
    host keeps the limit itself: a Slurm array's ``%N``)."""
    running: dict[str, int] = {}
    for job in active:
        sweep = jobs[job].sweep
        if sweep:
            running[sweep] = running.get(sweep, 0) + 1
    kept: list[str] = []
    for job in chosen:
        spec = jobs[job]
        if spec.sweep and spec.max_parallel and not (exempt is not None and exempt(job)):
            if running.get(spec.sweep, 0) >= spec.max_parallel:
                continue
            running[spec.sweep] = running.get(spec.sweep, 0) + 1
        kept.append(job)
    return kept
