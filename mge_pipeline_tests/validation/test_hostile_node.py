"""Hostile JavaScript and TypeScript, through the Node validator (check script, TypeScript
compiler, Node) in the sandbox: each attack runs at module load or in a ``node:test`` test
that asserts it failed, so a passing verdict means every attempt was stopped. The atom's
description asks for the dangerous calls, so the lexical checks only warn and let the code run.
Afterwards the host's canaries are checked, as in ``test_hostile.py``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from mge_pipeline.domain import ValidationVerdict
from mge_pipeline.validation import PythonSandbox
from mge_pipeline.validation.dispatch import LanguageDispatchValidator
from mge_pipeline_tests.factories import make_atom
from mge_pipeline_tests.validation.conftest import Canaries, Listeners
from mge_pipeline_tests.validation.test_sandbox import _gone_within

LANGUAGES = [
    pytest.param({"language": "javascript", "file_path": "pkg/core.js"}, id="javascript"),
    pytest.param({"language": "typescript", "file_path": "pkg/core.ts"}, id="typescript"),
]
PERMISSIVE = "runs a shell command, deletes files, uses the network with http fetch, eval"
# One helper both languages accept: did this throw?
THROWS = (
    "const cp = require('child_process'), fs = require('fs'), net = require('net');\n"
    "function throws(attempt) { try { attempt(); return false; } catch (e) { return true; } }\n"
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[PythonSandbox]:
    shared = PythonSandbox(timeout_seconds=20.0)
    yield shared
    shared.close()


def validate(
    sandbox: PythonSandbox, language: dict[str, str], body: str, tests: str
) -> ValidationVerdict:
    atom = make_atom(
        **language,
        description=PERMISSIVE,
        signature="function add(a, b)",
        tests=tests,
        estimated_loc=200,
    )
    code = THROWS + body + "\nfunction add(a, b) {\n  return a + b;\n}\n"
    validator = LanguageDispatchValidator(sandbox, timeout_seconds=20.0)
    return asyncio.run(validator.validate(atom, code, {atom.file_path: code}))


@pytest.mark.parametrize("language", LANGUAGES)
def test_files_mounts_and_shells(
    sandbox: PythonSandbox, language: dict[str, str], canaries: Canaries
) -> None:
    body = (
        f"const bound = {str(canaries.bound)!r}, hidden = {str(canaries.store)!r};\n"
        "const shell = (command) => () => cp.execSync(command, { stdio: 'pipe' });\n"
        "const escapes = [\n"
        "  () => fs.writeFileSync(bound, 'gone'),\n"
        "  () => fs.unlinkSync(bound),\n"
        "  () => fs.readFileSync(hidden),\n"
        "  () => fs.readFileSync('/etc/shadow'),\n"
        "  shell('mount -o remount,rw /'),\n"
        "  shell('umount -l /proc'),\n"
        "  shell('unshare -Ur true'),\n"
        "  shell(`sh -c 'echo gone > ${bound}'`),\n"
        "  shell(`python3 -c \"open('${bound}', 'w')\"`),\n"
        "];\n"
        "const escaped = escapes.map((attempt, index) => throws(attempt) ? -1 : index)\n"
        "  .filter((index) => index >= 0);\n"
    )
    controls = (
        "assert.equal(throws(() => fs.writeFileSync('own.txt', 'mine')), false);\n"
        "assert.equal(throws(shell('echo mine > own-shell.txt')), false);\n"
    )
    tests = controls + "assert.deepEqual(escaped, []);\n"
    verdict = validate(sandbox, language, body, tests)
    assert verdict.passed, verdict.issues
    assert canaries.intact()


@pytest.mark.parametrize("language", LANGUAGES)
def test_network_and_host_sockets(
    sandbox: PythonSandbox, language: dict[str, str], listeners: Listeners
) -> None:
    body = (
        "const dgram = require('dgram');\n"
        "function reach(options) {\n"
        "  return new Promise((resolve) => {\n"
        "    const socket = net.connect(options);\n"
        "    socket.on('connect', () => { socket.destroy(); resolve(true); });\n"
        "    socket.on('error', () => resolve(false));\n"
        "  });\n"
        "}\n"
        "function datagram(port) {\n"
        "  return new Promise((resolve) => {\n"
        "    const socket = dgram.createSocket('udp4');\n"
        "    socket.send('leak', port, '127.0.0.1', (error) => {\n"
        "      socket.close();\n      resolve(!error);\n    });\n"
        "  });\n"
        "}\n"
    )
    tests = (
        "test('nothing is reachable', async () => {\n"
        "  const own = net.createServer((c) => c.destroy()).listen('own.sock');\n"
        "  assert.equal(await reach({ path: 'own.sock' }), true);\n"
        "  own.close();\n"
        f"  const tcp = {{ host: '127.0.0.1', port: {listeners.tcp_port} }};\n"
        "  assert.equal(await reach(tcp), false);\n"
        f"  assert.equal(await reach({{ path: {listeners.unix_path!r} }}), false);\n"
        f"  assert.equal(await reach({{ path: '\\0{listeners.abstract_name}' }}), false);\n"
        "  assert.equal(await reach({ host: '1.1.1.1', port: 53 }), false);\n"
        f"  assert.equal(await datagram({listeners.udp_port}), false);\n"
        "});\n"
    )
    verdict = validate(sandbox, language, body, tests)
    assert verdict.passed, verdict.issues
    assert listeners.drain() == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_other_processes_are_invisible(
    sandbox: PythonSandbox, language: dict[str, str], host_secret_process: str
) -> None:
    body = (
        "const pids = fs.readdirSync('/proc').filter((name) => /^\\d+$/.test(name));\n"
        "const leaks = pids.filter((pid) => ['environ', 'cmdline'].some((name) => {\n"
        "  try { return fs.readFileSync(`/proc/${pid}/${name}`, 'latin1')\n"
        f"    .includes({host_secret_process!r}); }} catch (e) {{ return false; }}\n"
        "}));\n"
    )
    tests = "assert.deepEqual(leaks, []);\nassert.ok(0 < pids.length && pids.length < 12);\n"
    verdict = validate(sandbox, language, body, tests)
    assert verdict.passed, verdict.issues


@pytest.mark.parametrize("language", LANGUAGES)
def test_process_storms_hit_the_limit_and_leave_nothing(
    sandbox: PythonSandbox, language: dict[str, str]
) -> None:
    marker = f"mge-node-storm-{uuid.uuid4().hex}"
    body = (
        "let started = 0, refused = 0;\n"
        "for (let i = 0; i < 400; i++) {\n"
        f"  const child = cp.spawn('sh', ['-c', 'sleep 60; :', {marker!r}],\n"
        "    { detached: true, stdio: 'ignore' });\n"
        "  if (child.pid) { started++; child.unref(); } else { refused++; }\n"
        "  child.on('error', () => {});\n"
        "}\n"
    )
    tests = "assert.ok(refused > 0 && started < 400, `${started} started`);\n"
    verdict = validate(sandbox, language, body, tests)
    assert verdict.passed, verdict.issues
    assert _gone_within(marker, seconds=2)  # killed as the verdict arrives


@pytest.mark.parametrize("language", LANGUAGES)
def test_memory_and_output_bombs_fail_the_atom(
    sandbox: PythonSandbox, language: dict[str, str]
) -> None:
    body = (
        "const hoard: any[] = [];\n"
        if language["language"] == "typescript"
        else "const hoard = [];\n"
    )
    body += "while (hoard.length < 1e6) { hoard.push(new Array(1e6).fill(hoard.length)); }\n"
    verdict = validate(sandbox, language, body, "assert.ok(true);\n")
    assert not verdict.passed
    output = validate(sandbox, language, "while (true) { console.log('x'.repeat(4096)); }\n", "")
    assert not output.passed
