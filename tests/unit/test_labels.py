"""Label templates: every cloudmesh-cc field, N/A before a time is known, bad templates."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import pytest

from hybridflow import load as loading
from hybridflow.labels import default_label, format_duration, label_for, render_label
from hybridflow.snapshot import JobView, WorkflowView
from hybridflow.states import JobState, WorkflowState

COMPAT = Path(__file__).resolve().parents[3] / "shared" / "compat"
T0 = 1_700_000_000.0  # workflow start
NOW = T0 + 125.0


def local(when: float, fmt: str) -> str:
    return datetime.fromtimestamp(when).strftime(fmt)


@pytest.fixture
def workflow() -> WorkflowView:
    wf = loading.load(COMPAT / "workflow-example.yaml")
    return WorkflowView(spec=wf, jobs={name: JobView(spec=job) for name, job in wf.jobs.items()})


def job_of(view: WorkflowView, name: str = "compute", **changes: object) -> JobView:
    return dataclasses.replace(view.jobs[name], **changes)


def test_time_fields_are_na_before_start(workflow: WorkflowView) -> None:
    job = workflow.jobs["fetch-data"]
    text = label_for(job, workflow, now=NOW)
    assert text.split("\n") == [
        "fetch-data", "Progress=0", "Start=N/A", "End=N/A", "Modified=N/A", "Job Time=N/A",
    ]
    start = label_for(workflow.jobs["start"], workflow, now=NOW).split("\n")
    assert start[1:3] == ["Created=N/A", "Workflow Started=N/A"]
    assert start[3] == "Now=" + local(NOW, "%Y/%m/%d, %H:%M:%S")
    assert start[4] == "Elapsed=N/A"
    assert label_for(workflow.jobs["end"], workflow, now=NOW).split("\n")[1:] == [
        "Workflow Ended=N/A", "Total Time=N/A seconds",
    ]


def test_time_fields_after_start(workflow: WorkflowView) -> None:
    running = dataclasses.replace(workflow, t0=T0, state=WorkflowState.RUNNING)
    job = job_of(running, "fetch-data", state=JobState.RUNNING, progress=40,
                 tstart=T0 + 5, modified=T0 + 60, created=T0 - 10)
    lines = label_for(job, running, now=NOW).split("\n")
    fmt = "%Y/%m/%d, %H:%M:%S"
    assert lines == [
        "fetch-data", "Progress=40", "Start=" + local(T0 + 5, fmt), "End=N/A",
        "Modified=" + local(T0 + 60, fmt), "Job Time=00:02:00",  # still running: now - tstart
    ]
    assert label_for(running.jobs["start"], running, now=NOW).split("\n")[4] == "Elapsed=02:05"


def test_durations_once_ended(workflow: WorkflowView) -> None:
    ended = dataclasses.replace(workflow, t0=T0, t1=T0 + 42, state=WorkflowState.DONE)
    job = job_of(ended, tstart=T0 + 1, tend=T0 + 3661)
    assert render_label("{dt0.%M--%S}|{dt1.%S}|{dt.}", job, ended, now=NOW + 999) == "00:42|42|01:01:00"
    assert render_label("{t1.%H--%M}", job, ended, now=NOW) == local(T0 + 42, "%H:%M")
    # an empty format is cloudmesh-cc's: 12/02/2026, 01:19:39 and 00:00:00
    assert render_label("{t0.}", job, ended) == local(T0, "%m/%d/%Y, %H:%M:%S")
    assert render_label("{tend.}", job, ended) == local(T0 + 3661, "%m/%d/%Y, %H:%M:%S")
    assert render_label("{dt1.}", job, ended) == "00:00:42"
    assert render_label("{cm.debug}|{cm.}", job, ended) == "None|{cm.}"  # unset cloudmesh variable


def test_plain_fields(workflow: WorkflowView) -> None:
    job = job_of(workflow, state=JobState.FAILED, progress=75)
    assert render_label("{name}:{status}:{progress}%", job, workflow) == "compute:failed:75%"
    assert render_label("{now.%Y}", job, workflow, now=NOW) == local(NOW, "%Y")


def test_environment_variables(workflow: WorkflowView, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_LABEL_TEST", "cluster-7")
    monkeypatch.delenv("HF_LABEL_MISSING", raising=False)
    job = workflow.jobs["compute"]
    text = render_label("{os.HF_LABEL_TEST}/{os.HF_LABEL_MISSING}", job, workflow)
    assert text == "cluster-7/N/A"


@pytest.mark.parametrize(
    "template",
    ["{unknown}", "{name", "name}", "{}", "{ name }", "{t0.%Y", "{os.}", "{name.x}",
     "{progress.%H}", "{a{b}c}", "}{"],
)
def test_malformed_templates_are_left_as_written(workflow: WorkflowView, template: str) -> None:
    assert render_label(template, workflow.jobs["compute"], workflow) == template


def test_bad_time_values_do_not_raise(workflow: WorkflowView) -> None:
    job = job_of(workflow, tstart=1e20)
    assert render_label("x {tstart.%Y} y", job, workflow) == "x {tstart.%Y} y"


def test_doubled_braces_and_line_breaks(workflow: WorkflowView) -> None:
    job = workflow.jobs["compute"]
    assert render_label("{{name}}\\n{name}", job, workflow) == "{name}\ncompute"
    assert render_label("a\nb", job, workflow) == "a\nb"


def test_default_label_is_the_name(workflow: WorkflowView) -> None:
    job = job_of(workflow, spec=dataclasses.replace(workflow.jobs["compute"].spec, label=None))
    assert default_label(job) == "compute"
    assert default_label(job.spec) == "compute"
    assert label_for(job, workflow) == "compute"


def test_format_duration() -> None:
    assert format_duration(65) == "0:01:05"
    assert format_duration(90061) == "25:01:01"
    assert format_duration(-3) == "0:00:00"
    assert format_duration(None) == "N/A"
    assert format_duration(3725, "%H--%M--%S") == "01:02:05"
