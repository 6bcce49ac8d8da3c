"""Parameter sweeps: expansion, naming, placeholders, edges and every bad input (no runs)."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from hybridflow import load as loading, spec as specs, sweeps
from hybridflow.errors import SpecError
from hybridflow.render import sweeps as sweep_rows


def load(text: str, tmp_path=None, **files: str) -> specs.WorkflowSpec:
    base = "."
    if tmp_path is not None:
        base = str(tmp_path)
        for name, content in files.items():
            (tmp_path / name.replace("__", ".")).write_text(textwrap.dedent(content))
    return loading.loads(textwrap.dedent(text), name="wf", base_dir=base, file="wf.yaml")


SWEEP = """
    cluster: {account: abc, nodes: [n1, n2]}
    workflow:
      nodes:
        prep: {exec: 'true'}
        train:
          experiments: {epochs: "1,2", gpu: [a100, v100, h100]}
          constants: {dataset: mnist}
          max_parallel: 2
          exec: python train.py --epochs {epochs} --gpu {gpu} --data {dataset} --acct {cluster.account}
          label: '{name}\\n{gpu} {progress} {tstart.%H--%M} {dt.} {os.HOME} {{literal}}'
          partition: debug
          gres: "gpu:{gpu}:1"
          job_name: "{node}-{epochs}-{gpu}"
          sbatch: ["--comment={cluster.nodes.1}"]
          env: {EPOCHS: "{epochs}", OUT: "{output_dir}"}
        gather: {exec: 'cat train/*/*/out.txt'}
      dependencies: ['prep,train,gather']
"""


def test_two_by_three_names_order_and_edges() -> None:
    wf = load(SWEEP)
    names = [n for n in wf.jobs if n.startswith("train")]
    assert names == [
        "train-epochs_1-gpu_a100", "train-epochs_1-gpu_v100", "train-epochs_1-gpu_h100",
        "train-epochs_2-gpu_a100", "train-epochs_2-gpu_v100", "train-epochs_2-gpu_h100",
    ]
    assert next(iter(wf.jobs)) == "prep" and list(wf.jobs)[-1] == "gather"
    assert "train" not in wf.jobs
    assert set(wf.edges) == {("prep", n) for n in names} | {(n, "gather") for n in names}
    assert len(wf.edges) == 12


def test_substitution_everywhere_and_engine_args() -> None:
    job = load(SWEEP).jobs["train-epochs_2-gpu_v100"]
    assert job.exec.splitlines() == [
        sweeps.MKDIR, "python train.py --epochs 2 --gpu v100 --data mnist --acct abc"]
    assert job.args["gres"] == "gpu:v100:1"
    assert job.args["job_name"] == "train-2-v100"
    assert job.args["partition"] == "debug"
    assert job.args["sbatch"] == ["--comment=n2"]
    assert job.env == {"EPOCHS": "2", "OUT": "train/epochs=2/gpu=v100",
                       "HF_OUTPUT_DIR": "train/epochs=2/gpu=v100", "HF_SWEEP": "train"}
    assert job.sweep == "train"
    assert job.max_parallel == 2
    assert job.sweep_params == {"epochs": "2", "gpu": "v100"}
    for consumed in ("experiments", "constants", "env", "sweep", "sweep_params", "max_parallel"):
        assert consumed not in job.args
    # runtime label fields and escaped braces are left for the label renderer
    assert job.label == "{name}\\nv100 {progress} {tstart.%H--%M} {dt.} {os.HOME} {{literal}}"


def test_values_as_bracket_strings_scalars_and_booleans() -> None:
    wf = load("""
        workflow:
          nodes:
            s:
              experiments: {n: "x[1-3]", flag: [true, false], lr: 0.5}
              exec: echo {n} {flag} {lr}
    """)
    assert list(wf.jobs) == [
        "s-n_x1-flag_true-lr_0.5", "s-n_x1-flag_false-lr_0.5", "s-n_x2-flag_true-lr_0.5",
        "s-n_x2-flag_false-lr_0.5", "s-n_x3-flag_true-lr_0.5", "s-n_x3-flag_false-lr_0.5",
    ]
    assert wf.jobs["s-n_x2-flag_false-lr_0.5"].exec.endswith("echo x2 false 0.5")


def test_unsafe_values_are_sanitised_in_names_and_directories() -> None:
    wf = load("""
        workflow:
          nodes:
            s:
              experiments: {path: ["/data/a b.csv", "1e-3"]}
              exec: echo "{path}"
    """)
    assert list(wf.jobs) == ["s-path__data_a_b.csv", "s-path_1e-3"]
    job = wf.jobs["s-path__data_a_b.csv"]
    assert job.env["HF_OUTPUT_DIR"] == "s/path=_data_a_b.csv"
    assert job.exec.endswith('echo "/data/a b.csv"')  # the value itself is not altered


def test_shell_braces_are_left_alone() -> None:
    job = load("""
        workflow:
          nodes:
            s:
              experiments: {k: "1,2"}
              exec: "echo ${HOME} {k} {a,b} {1..3} {{k}}; awk '{ print $1 }' f"
    """).jobs["s-k_1"]
    assert job.exec.splitlines()[1] == "echo ${HOME} 1 {a,b} {1..3} {k}; awk '{ print $1 }' f"


def test_sweep_to_sweep_edges_link_every_pair() -> None:
    wf = load("""
        workflow:
          nodes:
            a: {experiments: {i: "1,2"}, exec: 'true'}
            b: {experiments: {j: "x,y,z"}, exec: 'true'}
          dependencies: ['a,b']
    """)
    assert len(wf.edges) == 6
    assert ("a-i_2", "b-j_z") in wf.edges


def test_bracket_node_keys_each_become_a_sweep() -> None:
    wf = load("""
        workflow:
          nodes:
            m[1-2]: {experiments: {k: "a,b"}, exec: 'echo {node} {k}'}
    """)
    assert list(wf.jobs) == ["m1-k_a", "m1-k_b", "m2-k_a", "m2-k_b"]
    assert wf.jobs["m2-k_b"].exec.endswith("echo m2 b")


def test_templated_script_is_embedded_and_written_into_the_output_dir(tmp_path) -> None:
    wf = load(
        """
        workflow:
          nodes:
            t:
              experiments: {lr: "0.1,0.2"}
              script: "train.in.sh --lr {lr} --name '{name}'"
            p:
              experiments: {lr: "0.1"}
              script: "model.in.py"
              venv: env
        """,
        tmp_path,
        train__in__sh="echo lr={lr} dir={output_dir} ${HOME} {{x}}\n",
        model__in__py="print(f'{{lr}}', {lr})\n",
    )
    job = wf.jobs["t-lr_0.2"]
    assert job.script is None
    lines = job.exec.splitlines()
    assert lines[0] == sweeps.MKDIR
    assert lines[1] == "cat > \"$HF_OUTPUT_DIR\"/train.sh <<'HF_SWEEP_SCRIPT'"
    assert lines[2] == "echo lr=0.2 dir=t/lr=0.2 ${HOME} {x}"
    assert lines[3] == "HF_SWEEP_SCRIPT"
    assert lines[4] == 'bash "$HF_OUTPUT_DIR"/train.sh --lr 0.2 --name t-lr_0.2'
    py = wf.jobs["p-lr_0.1"].exec.splitlines()
    assert py[2] == "print(f'{lr}', 0.1)"
    assert py[-1] == 'python "$HF_OUTPUT_DIR"/model.py'
    assert sweep_rows.command(job) == 'bash "$HF_OUTPUT_DIR"/train.sh --lr 0.2 --name t-lr_0.2  (rendered script)'


def test_plain_script_arguments_are_substituted(tmp_path) -> None:
    wf = load(
        """
        workflow:
          nodes:
            t: {experiments: {lr: "0.1,0.2"}, script: "train.py --lr {lr} --out {output_dir}"}
        """,
        tmp_path,
        train__py="print('hi')\n",
    )
    assert wf.jobs["t-lr_0.1"].script == "train.py --lr 0.1 --out t/lr=0.1"
    assert wf.jobs["t-lr_0.1"].exec is None


def test_expanded_workflow_round_trips_through_yaml(tmp_path) -> None:
    wf = load(SWEEP)
    text = specs.dump_yaml(wf)
    again = loading.loads(text, name="wf", file="again.yaml")
    assert list(again.jobs) == list(wf.jobs)
    assert again.edges == wf.edges
    assert again.jobs["train-epochs_1-gpu_a100"] == wf.jobs["train-epochs_1-gpu_a100"]


def test_expansion_rows_and_grouped_status_rows() -> None:
    wf = load(SWEEP)
    rows = sweep_rows.expansion_rows(wf.jobs)
    row = rows[1]
    assert row["job"] == "train-epochs_1-gpu_a100" and row["sweep"] == "train"
    assert row["parameters"] == "epochs=1 gpu=a100"
    assert row["output_dir"] == "train/epochs=1/gpu=a100"
    assert row["command"].startswith("python train.py --epochs 1")
    status = [
        {"job": name, "state": state, "progress": p, "kind": "local", "host": "localhost", "attempt": 1,
         "start": None, "duration": None, "message": None, "exit_code": None, "end": None}
        for name, state, p in [("prep", "done", 100)]
        + [(n, s, p) for n, s, p in zip([n for n in wf.jobs if n.startswith("train")],
                                          ["done", "done", "failed", "running", "ready", "done"],
                                          [100, 100, 40, 50, 0, 100])]
        + [("gather", "ready", 0)]
    ]
    sweeps_of = {n: "train" for n in wf.jobs if n.startswith("train")}
    grouped = sweep_rows.group_rows(status, sweeps_of)
    assert [r["job"] for r in grouped] == ["prep", "train", "gather"]
    train = grouped[1]
    assert train["jobs"] == 6
    assert train["counts"] == {"failed": 1, "running": 1, "ready": 1, "done": 3}
    assert train["state"] == "failed 1, running 1, ready 1, done 3"
    assert train["progress"] == 65
    assert train["message"] == "failed: train-epochs_1-gpu_h100"


def one_line(exc: pytest.ExceptionInfo[SpecError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_undefined_placeholder_names_node_field_and_placeholder() -> None:
    with pytest.raises(SpecError) as exc:
        load("""
            workflow:
              nodes:
                train: {experiments: {epochs: "1,2"}, exec: "run --epochs {epochs} --lr {lrate}"}
        """)
    message = one_line(exc)
    assert message.startswith("wf.yaml: job 'train': field 'exec': undefined placeholder '{lrate}'")
    assert "epochs" in message


@pytest.mark.parametrize(
    ("node", "field", "problem"),
    [
        ("{experiments: {k: '1'}, exec: 'x', label: '{nope}'}", "label", "undefined placeholder '{nope}'"),
        ("{experiments: {k: '1'}, exec: 'x', gres: 'gpu:{gpux}:1'}", "gres", "'{gpux}'"),
        ("{experiments: {k: '1'}, exec: 'x', env: {A: '{cluster.nope}'}}", "env.A", "'{cluster.nope}'"),
        ("{experiments: {k: '1'}, exec: 'x', sbatch: ['--x={y}']}", "sbatch[0]", "'{y}'"),
        ("{experiments: {k: []}, exec: 'x'}", "experiments.k", "has no values"),
        ("{experiments: {k: {a: 1}}, exec: 'x'}", "experiments.k", "must be a list of values"),
        ("{experiments: [1, 2], exec: 'x'}", "experiments", "must be a mapping"),
        ("{experiments: {name: '1,2'}, exec: 'x'}", "experiments.name", "reserved"),
        ("{experiments: {'bad-key': '1,2'}, exec: 'x'}", "experiments.bad-key", "not a valid placeholder"),
        ("{experiments: {k: '1,1'}, exec: 'x'}", "experiments.k", "values repeat"),
        ("{experiments: {k: ['a/b', 'a_b']}, exec: 'x'}", "experiments", "both give job name 's-k_a_b'"),
        ("{experiments: {k: '1'}, constants: {k: 2}, exec: 'x'}", "constants", "both a parameter and a constant"),
        ("{experiments: {k: '1'}, max_parallel: 0, exec: 'x'}", "max_parallel", "whole number"),
        ("{experiments: {k: '1'}, script: 'missing.in.sh'}", "script", "'missing.in.sh' does not exist"),
        ("{experiments: {k: '1'}, script: 'nb.in.ipynb'}", "script", "templated notebooks"),
        ("{experiments: {k: '1'}, exec: 'x {cluster}'}", "exec", "'{cluster}' is a mapping, not a value"),
    ],
)
def test_bad_sweeps_are_one_line_errors(node: str, field: str, problem: str) -> None:
    with pytest.raises(SpecError) as exc:
        load(f"cluster: {{account: abc}}\nworkflow:\n  nodes:\n    s: {node}\n")
    message = one_line(exc)
    assert f"job 's': field '{field}'" in message, message
    assert problem in message, message


def test_generated_name_clash_with_another_job() -> None:
    with pytest.raises(SpecError, match="job 's-k_1': defined twice"):
        load("""
            workflow:
              nodes:
                s-k_1: {exec: 'true'}
                s: {experiments: {k: '1'}, exec: 'true'}
        """)


def test_expand_yaml_document_is_plain_jobs() -> None:
    doc = yaml.safe_load(specs.dump_yaml(load(SWEEP)))
    assert all("experiments" not in node for node in doc["workflow"]["nodes"].values())


def test_slurm_template_directives_become_sbatch_arguments(tmp_path) -> None:
    wf = load(
        """
        workflow:
          nodes:
            t:
              kind: slurm
              experiments: {gpu: "a100,v100"}
              gres: "gpu:{gpu}:1"
              sbatch: "--comment=node"
              script: job.in.slurm
        """,
        tmp_path,
        job__in__slurm="#!/bin/bash\n#SBATCH --time=00:05:00 --job-name x  # note\n#SBATCH -c 2\necho {gpu}\n#SBATCH --ignored\n",
    )
    job = wf.jobs["t-gpu_v100"]
    assert job.args["sbatch"] == ["--time=00:05:00", "--job-name", "x", "-c", "2", "--comment=node"]
    assert job.args["gres"] == "gpu:v100:1"
    assert job.exec.splitlines()[-1] == 'bash "$HF_OUTPUT_DIR"/job.slurm'
    assert sweeps.sbatch_directives("echo hi\n#SBATCH -N 1\n") == []
