"""A corpus of hostile workflow inputs, generated (bombs, NUL bytes and links do not belong in git).

Each :class:`Case` is a workflow folder: ``wf.yaml`` plus optional files and symbolic links
(a target ``{outside}/...`` points into a folder beside it, outside the workflow folder),
and optionally a ``hosts.yaml`` for ``$HYBRIDFLOW_HOME``. ``refused`` cases must be refused
with a one-line error containing ``phrase`` (for the Python API); the others must be handled
safely: loaded, and when ``run`` is set, run without touching anything outside the run
directory (no ``PWN`` file anywhere).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

MIB = 1 << 20
EVIL = b"#!/bin/bash\ntouch PWN\n"


@dataclass(frozen=True)
class Case:
    name: str
    workflow: bytes
    refused: bool = True
    phrase: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    hosts: bytes | None = None
    run: bool = False

    @property
    def missing(self) -> bool:
        """A script that does not exist: stored with a warning (as cloudmesh-cc does), refused
        by the run before any job starts."""
        return self.phrase == "does not exist"

    def materialize(self, root: Path) -> Path:
        """Write the case under ``root``; returns the workflow file."""
        folder = root / "wf"
        outside = root / "outside"
        folder.mkdir(parents=True)
        outside.mkdir()
        (outside / "evil.sh").write_bytes(EVIL)
        (outside / "secret.txt").write_text("secret\n")
        (outside / "tmpl.in.sh").write_text("echo {a}\n")
        for name, data in self.files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        for name, target in self.links.items():
            os.symlink(target.replace("{outside}", str(outside)), folder / name)
        path = folder / "wf.yaml"
        path.write_bytes(self.workflow)
        return path


def wf(nodes: str, extra: str = "") -> bytes:
    """A workflow document: ``nodes`` are the lines under ``nodes:`` (indented 4)."""
    body = "".join(f"    {line}\n" for line in nodes.splitlines())
    return f"{extra}workflow:\n  nodes:\n{body}".encode()


def laughs(levels: int, where: str = "top") -> bytes:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    anchors = "\n".join(lines) + "\n"
    last = f"*a{levels - 1}"
    if where == "env":
        return (anchors + f"workflow:\n  nodes:\n    a: {{exec: x, env: {{X: {last}}}}}\n").encode()
    if where == "arg":
        return (anchors + f"workflow:\n  nodes:\n    a: {{exec: x, extra: {last}}}\n").encode()
    return (anchors + f"bomb: {last}\nworkflow:\n  nodes:\n    a: {{exec: x}}\n").encode()


def nested(levels: int, flow: bool = True) -> str:
    if flow:
        return "[" * levels + "]" * levels
    return "\n".join("  " * (i + 3) + f"k{i}:" for i in range(levels)) + " x"


LONG = "n" * 300
CASES: list[Case] = [
    # -- bombs: aliases, brackets, sweeps ------------------------------------------------
    Case("laughs-9-top", laughs(9), phrase="values"),
    Case("laughs-9-env", laughs(9, "env"), phrase="values"),
    Case("laughs-9-arg", laughs(9, "arg"), phrase="values"),
    Case("laughs-7-top", laughs(7), phrase="values"),
    Case("laughs-merge-keys", b"a: &a {x: 1, y: 2}\nb: &b {<<: *a, z: [*a, *a, *a, *a, *a, *a, *a, *a]}\n"
         + b"".join(b"c%d: &c%d [" % (i, i) + b", ".join([b"*b" if i == 0 else b"*c%d" % (i - 1)] * 10) + b"]\n"
                    for i in range(6)) + b"workflow: {nodes: {a: {exec: x}}}\n", phrase="values"),
    Case("recursive-alias", b"a: &a [1, *a]\nworkflow: {nodes: {b: {exec: x}}}\n", phrase="recursive"),
    Case("recursive-mapping", b"workflow: &w {nodes: {a: {exec: x, me: *w}}}\n", phrase="recursive"),
    Case("bracket-billion", wf("'x[1-1000000000]': {exec: x}"), phrase="jobs"),
    Case("bracket-product", wf("'n[1-100][1-100][1-100]': {exec: x}"), phrase="jobs"),
    Case("bracket-10001", wf("'n[1-10001]': {exec: x}"), phrase="jobs"),
    Case("bracket-huge-number", wf("? 'x[1-" + "9" * 5000 + "]'\n: {exec: x}"), phrase="name"),
    Case("chain-bomb", wf("a: {exec: x}", "") + b"  dependencies: ['a,b[1-99999999]']\n", phrase="expands to"),
    Case("sweep-216000", wf("t: {exec: 'x {a}{b}{c}', experiments: {a: 'v[0-59]', b: 'v[0-59]', c: 'v[0-59]'}}"),
         phrase="216000 jobs"),
    Case("sweep-2-pow-20", wf("t: {exec: x, experiments: {"
                              + ", ".join(f"p{i}: [0, 1]" for i in range(20)) + "}}"), phrase="1048576 jobs"),
    Case("sweep-edges-1e6", wf("t: {exec: 'x {a}', experiments: {a: 'v[1-1000]'}}\n"
                               "u: {exec: 'x {b}', experiments: {b: 'v[1-1000]'}}")
         + b"  dependencies: ['t,u']\n", phrase="1000000 edges"),
    Case("sweep-value-bracket", wf("t: {exec: 'x {a}', experiments: {a: 'v[1-1000000000]'}}"), phrase="expands to"),
    Case("sweep-long-names", wf("t: {exec: 'x {a}', experiments: {a: ['" + "v" * 120 + "']}}"), phrase="characters"),
    Case("many-values", ("big: [" + ", ".join(["1"] * 1_100_000) + "]\nworkflow: {nodes: {a: {exec: x}}}\n").encode(),
         phrase="values"),
    # -- encodings ------------------------------------------------------------------------
    Case("latin-1", wf("a: {exec: 'echo caf\xe9'}").decode().encode("latin-1"), phrase="not UTF-8"),
    Case("utf-16", wf("a: {exec: x}").decode().encode("utf-16"), phrase="not UTF-8"),
    Case("utf-8-bom", b"\xef\xbb\xbf" + wf("a: {exec: 'echo bom'}"), refused=False, run=True),
    Case("nul-byte", wf("a: {exec: 'echo \x00'}"), phrase="NUL"),
    Case("nul-at-start", b"\x00" + wf("a: {exec: x}"), phrase="NUL"),
    Case("overlong-utf8", wf("a: {exec: x}") + b"# \xc0\xaf\n", phrase="not UTF-8"),
    Case("surrogate-utf8", wf("a: {exec: x}") + b"# \xed\xa0\x80\n", phrase="not UTF-8"),
    Case("truncated-utf8", wf("a: {exec: x}") + b"# \xe2\x82", phrase="not UTF-8"),
    Case("control-char", wf("a: {exec: 'echo \x07'}"), phrase="not allowed"),
    Case("binary-garbage", bytes(range(256)) * 4, phrase="UTF-8"),
    Case("empty-file", b"", phrase="workflow:"),
    Case("only-comment", b"# nothing\n", phrase="workflow:"),
    Case("top-level-list", b"- a\n- b\n", phrase="workflow:"),
    # -- YAML oddities ----------------------------------------------------------------------
    Case("syntax-error", b"workflow:\n  nodes:\n    a: {exec: 'x'\n", phrase="YAML syntax error"),
    Case("python-tag", b"workflow: {nodes: {a: !!python/object/apply:os.system ['touch PWN']}}\n", phrase="constructor"),
    Case("unknown-tag", b"workflow: {nodes: {a: !evil {exec: x}}}\n", phrase="constructor"),
    Case("two-documents", b"workflow: {nodes: {a: {exec: x}}}\n---\nworkflow: {nodes: {b: {exec: x}}}\n",
         phrase="single document"),
    Case("unhashable-key", b"workflow:\n  nodes:\n    ? [a, b]\n    : {exec: x}\n", phrase="unhashable"),
    Case("int-5000-digits", wf("a: {exec: x, retries: " + "9" * 5000 + "}"), phrase="digits"),
    Case("nodes-a-list", b"workflow: {nodes: [a, b]}\n", phrase="mapping"),
    Case("node-a-scalar", wf("a: 42"), phrase="mapping"),
    Case("bracket-node-a-list", wf("'a[1-2]': [1, 2]"), phrase="mapping"),
    Case("dependencies-mapping", wf("a: {exec: x}") + b"  dependencies: {a: b}\n", phrase="'source' and 'destination'"),
    Case("timestamp-option", wf("a: {exec: x}", "deadline: 2001-12-14\n"), phrase="deadline"),
    Case("binary-arg", wf("a: {exec: x, blob: !!binary aGVsbG8=}"), phrase="bytes"),
    Case("retries-inf", wf("a: {exec: x, retries: .inf}"), phrase="retries"),
    # -- nesting --------------------------------------------------------------------------
    Case("flow-nesting-10000", wf("a: {exec: x, deep: " + nested(10_000) + "}"), phrase="nested deeper"),
    Case("flow-nesting-101", wf("a: {exec: x, deep: " + nested(101) + "}"), phrase="nested deeper"),
    Case("mapping-nesting-10000", wf("a: {exec: x, deep: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "}"),
         phrase="nested deeper"),
    Case("block-nesting-300", b"workflow:\n  nodes:\n    a:\n      exec: x\n      deep:\n" + nested(300, flow=False).encode()
         + b"\n", phrase="nested deeper"),
    Case("env-nesting", wf("a: {exec: x, env: {X: " + nested(200) + "}}"), phrase="nested deeper"),
    # -- limits ---------------------------------------------------------------------------
    Case("file-5-mib", wf("a: {exec: x}") + b"#" + b"x" * (5 * MIB) + b"\n", phrase="too large"),
    Case("line-3-mib", wf("a: {exec: 'echo " + "y" * (3 * MIB) + "'}"), refused=False),
    # -- names ----------------------------------------------------------------------------
    Case("job-trailing-newline", wf('"a\\n": {exec: x}'), phrase="invalid job name"),
    Case("job-nul", wf('"a\\0": {exec: x}'), phrase="invalid job name"),
    Case("job-inner-newline", wf('"a\\nb": {exec: x}'), phrase="invalid job name"),
    Case("job-101-chars", wf("n" * 101 + ": {exec: x}"), phrase="characters"),
    Case("job-300-chars", wf(LONG + ": {exec: x}"), phrase="characters"),
    Case("job-dash", wf("'-a': {exec: x}"), phrase="invalid job name"),
    Case("job-dotdot", wf("'..': {exec: x}"), phrase="invalid job name"),
    Case("job-slash", wf("'a/b': {exec: x}"), phrase="invalid job name"),
    Case("job-traversal", wf("'../../x': {exec: x}"), phrase="invalid job name"),
    Case("job-unicode", wf("'caf\u00e9': {exec: x}"), phrase="invalid job name"),
    Case("job-space", wf("'a b': {exec: x}"), phrase="invalid job name"),
    Case("job-name-field", wf("a: {name: 'b\\n', exec: x}"), phrase="invalid job name"),
    Case("bracket-long-result", wf("'" + "n" * 99 + "[10-11]': {exec: x}"), phrase="characters"),
    Case("workflow-300-chars", wf("a: {exec: x}", f"name: {LONG}\n"), phrase="characters"),
    Case("workflow-newline", wf("a: {exec: x}", 'name: "wf\\n"\n'), phrase="invalid workflow name"),
    Case("workflow-nul", wf("a: {exec: x}", 'name: "wf\\0"\n'), phrase="invalid workflow name"),
    Case("workflow-traversal", wf("a: {exec: x}", "name: ../../etc\n"), phrase="invalid workflow name"),
    Case("workflow-dotdot", wf("a: {exec: x}", "name: '..'\n"), phrase="invalid workflow name"),
    Case("host-newline", wf('a: {exec: x, kind: ssh, host: "h\\n"}'), phrase="invalid host name"),
    Case("host-nul", wf('a: {exec: x, kind: slurm, host: "h\\0"}'), phrase="invalid host name"),
    Case("host-300-chars", wf("a: {exec: x, kind: ssh, host: " + "h" * 300 + "}"), phrase="host name"),
    Case("inline-host-newline", wf("a: {exec: x}", 'hosts: {"h\\n": {address: x}}\n'), phrase="invalid host name"),
    Case("user-newline", wf('a: {exec: x, kind: ssh, host: h, user: "u\\n"}', "hosts: {h: {address: x}}\n"),
         phrase="control character"),
    Case("stage-in-newline", wf('a: {exec: x, stage_in: ["a\\nb"]}'), phrase="control character"),
    Case("stage-in-nul", wf('a: {exec: x, stage_in: ["a\\0"]}'), phrase="control character"),
    Case("stage-out-absolute", wf("a: {exec: x, stage_out: [/etc/passwd]}"), phrase="relative"),
    Case("stage-in-traversal", wf("a: {exec: x, stage_in: [../../etc/passwd]}"), phrase="relative"),
    Case("stage-in-long-part", wf("a: {exec: x, stage_in: [" + "p" * 300 + "]}"), phrase="bytes"),
    Case("stage-in-mapping", wf("a: {exec: x, stage_in: {a: b}}"), phrase="path"),
    # -- env ------------------------------------------------------------------------------
    Case("env-key-injection", wf("a: {exec: x, env: {'X=1; touch PWN; Y': v}}"), phrase="not a variable name"),
    Case("env-key-newline", wf('a: {exec: x, env: {"X\\nY": v}}'), phrase="not a variable name"),
    Case("env-key-digit", wf("a: {exec: x, env: {1X: v}}"), phrase="not a variable name"),
    Case("env-key-empty", wf("a: {exec: x, env: {'': v}}"), phrase="not a variable name"),
    Case("env-value-mapping", wf("a: {exec: x, env: {X: {a: 1}}}"), phrase="env.X"),
    Case("env-value-list", wf("a: {exec: x, env: {X: [1]}}"), phrase="env.X"),
    Case("env-value-null", wf("a: {exec: x, env: {X: null}}"), phrase="env.X"),
    Case("env-a-list", wf("a: {exec: x, env: [X]}"), phrase="mapping"),
    Case("env-value-shell", wf("a: {exec: 'echo \"$X\"', env: {X: '$(touch PWN); `touch PWN`'}}"),
         refused=False, run=True),
    # -- symlinks and traversal -------------------------------------------------------------
    Case("script-link-outside", wf("a: {script: link.sh}"), links={"link.sh": "{outside}/evil.sh"}, phrase="outside"),
    Case("script-link-passwd", wf("a: {script: passwd.sh}"), links={"passwd.sh": "/etc/passwd"}, phrase="outside"),
    Case("script-dir-link", wf("a: {script: lib/evil.sh}"), links={"lib": "{outside}"}, phrase="outside"),
    Case("default-script-link", wf("a: {}"), links={"a.sh": "{outside}/evil.sh"}, phrase="outside"),
    Case("template-link-outside", wf("t: {script: tmpl.in.sh, experiments: {a: [1]}}"),
         links={"tmpl.in.sh": "{outside}/tmpl.in.sh"}, phrase="outside"),
    Case("script-link-loop", wf("a: {script: loop.sh}"), links={"loop.sh": "loop.sh"}, phrase="does not exist"),
    Case("script-dangling-link", wf("a: {script: gone.sh}"), links={"gone.sh": "{outside}/nothing.sh"},
         phrase="does not exist"),
    Case("script-is-directory", wf("a: {script: sub}"), files={"sub/x": b""}, phrase="does not exist"),
    Case("script-nul", wf('a: {script: "a\\0.sh"}'), phrase="control character"),
    Case("script-5000-chars", wf("a: {script: " + "s" * 5000 + ".sh}"), phrase="does not exist"),
    Case("script-unclosed-quote", wf("a: {script: \"run.sh 'x\"}"), files={"run.sh": b"echo\n"}, phrase="split"),
    Case("stage-in-link-local", wf("a: {exec: 'true', stage_in: [data.txt]}"),
         links={"data.txt": "{outside}/secret.txt"}, refused=False),
    Case("inside-link-allowed", wf("a: {script: alias.sh}"), files={"real.sh": b"echo inside\n"},
         links={"alias.sh": "real.sh"}, refused=False, run=True),
    # -- the hosts file -------------------------------------------------------------------
    Case("hosts-latin-1", wf("a: {exec: x, kind: ssh, host: h}"), hosts="h: {address: caf\xe9}\n".encode("latin-1"),
         phrase="not UTF-8"),
    Case("hosts-nul", wf("a: {exec: x, kind: ssh, host: h}"), hosts=b"h: {address: x\x00}\n", phrase="NUL"),
    Case("hosts-laughs", wf("a: {exec: x, kind: ssh, host: h}"), hosts=laughs(9).replace(b"workflow:", b"h:"),
         phrase="values"),
    Case("hosts-nesting", wf("a: {exec: x, kind: ssh, host: h}"),
         hosts=b"h: {address: x, deep: " + nested(10_000).encode() + b"}\n", phrase="nested deeper"),
    Case("hosts-huge", wf("a: {exec: x, kind: ssh, host: h}"), hosts=b"h: {address: x}\n#" + b"x" * (5 * MIB),
         phrase="too large"),
    Case("hosts-name-newline", wf("a: {exec: x, kind: ssh, host: h}"), hosts=b'"h\\n": {address: x}\n',
         phrase="invalid host name"),
]
