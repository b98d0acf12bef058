"""JavaScript and TypeScript checked as a project: every staged file compiled together.

A check of one atom used to transpile only its check script, so a value imported from another
file of the plan was never there (`Cannot find module './types'`), ES modules met `require`, and
Node's built-ins had no types. Here the TypeScript compiler builds one program of all the staged
files (the atom, its dependencies' files, the plan's ``tsconfig.json`` when there is one), reports
its diagnostics, emits CommonJS for every file into a private folder, and runs the entry under
Node with module resolution that follows the program's (``paths`` aliases included).

The same driver, without an entry, is what the task, milestone and masterplan levels run over
the assembled output: the whole program type-checked and every module loaded once.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from pathlib import Path

DRIVER = "__mge_project__.js"
ENVIRONMENT = "__mge_env__.d.ts"
OUT_DIR = "__mge_out__"
SOURCE_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
NODE_BUILTINS = [
    "assert",
    "buffer",
    "child_process",
    "crypto",
    "dgram",
    "dns",
    "events",
    "fs",
    "http",
    "https",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "querystring",
    "readline",
    "stream",
    "string_decoder",
    "timers",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "worker_threads",
    "zlib",
]
_USES_NODE = re.compile(
    r"""(?:\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*|^\s*import\s+)["'](?:node:[\w/]+|(?:"""
    + "|".join(NODE_BUILTINS)
    + r""")(?:/[\w/]+)?)["']|\b(?:Buffer|process|__dirname|__filename|NodeJS|setImmediate)\b""",
    re.MULTILINE,
)
# Without @types/node the program still needs the few globals every Node script uses.
ENVIRONMENT_DECLARATIONS = (
    "declare function require(name: string): any;\n"
    "declare var module: any;\ndeclare var exports: any;\n"
    "declare var console: any;\ndeclare var process: any;\n"
    "declare function setTimeout(f: (...args: any[]) => void, ms?: number): any;\n"
    "declare function clearTimeout(handle: any): void;\n"
)

_DRIVER_SOURCE = r"""
const fs = require("fs"), path = require("path"), Module = require("module");
const [tsPath, typesRoot, entryArg] = process.argv.slice(2);
const ts = require(tsPath);
const root = process.cwd();
const out = path.join(root, "__OUT__");
const skip = new Set(["node_modules", "__OUT__", ".git"]);
const suffixes = __SUFFIXES__;
function walk(dir, found) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(entry.name) || entry.name === "__DRIVER__") continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, found);
    else if (suffixes.some((s) => entry.name.endsWith(s))) found.push(full);
  }
  return found;
}
let options = {};
const configPath = path.join(root, "tsconfig.json");
if (fs.existsSync(configPath)) {
  const read = ts.readConfigFile(configPath, ts.sys.readFile);
  if (read.error) {
    console.log(`tsconfig.json error TS${read.error.code}: ${
      ts.flattenDiagnosticMessageText(read.error.messageText, " ")}`);
    process.exit(2);
  }
  options = ts.parseJsonConfigFileContent(read.config, ts.sys, root).options;
}
const types = new Set(options.types || []);
if (typesRoot) types.add("node");
options = { target: ts.ScriptTarget.ES2022, lib: ["lib.es2022.d.ts"], strict: false,
  esModuleInterop: true, ...options,
  types: [...types], typeRoots: typesRoot ? [typesRoot] : [],
  module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
  moduleDetection: ts.ModuleDetectionKind.Force, allowJs: true, noEmit: false,
  outDir: out, rootDir: root, skipLibCheck: true, declaration: false, composite: false,
  incremental: false, sourceMap: false, noEmitOnError: false, emitDeclarationOnly: false,
  verbatimModuleSyntax: false, isolatedModules: false, allowImportingTsExtensions: false };
delete options.tsBuildInfoFile; delete options.outFile; delete options.out;
const files = walk(root, []);
const program = ts.createProgram(files, options);
let failed = false;
for (const d of ts.getPreEmitDiagnostics(program)) {
  if (d.category !== ts.DiagnosticCategory.Error) continue;
  failed = true;
  const where = d.file ? `${path.relative(root, d.file.fileName)}:${
    d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : "";
  console.log(`${where} error TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
}
if (failed) process.exit(2);
program.emit();
fs.writeFileSync(path.join(out, "package.json"), '{"type": "commonjs"}\n');
const emitted = (source) => {
  const relative = path.relative(root, source).replace(/\.(c|m)?(t|j)sx?$/, "");
  for (const suffix of [".js", ".cjs", ".mjs"]) {
    const candidate = path.join(out, relative + suffix);
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
};
const sourceOf = (emittedFile) => {
  const relative = path.relative(out, emittedFile).replace(/\.(c|m)?js$/, "");
  return files.find((f) => path.relative(root, f).replace(/\.(c|m)?(t|j)sx?$/, "") === relative);
};
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  try {
    return resolve.call(this, request, parent, ...rest);
  } catch (error) {
    const from = parent && parent.filename && sourceOf(parent.filename);
    const found = from && ts.resolveModuleName(request, from, options, ts.sys).resolvedModule;
    const target = found && !found.isExternalLibraryImport && emitted(found.resolvedFileName);
    if (target) return target;
    throw error;
  }
};
const load = (source) => {
  const target = emitted(source);
  if (target) require(target);
};
if (entryArg) {
  load(path.join(root, entryArg));
} else {
  const problems = [];
  for (const source of files) {
    if (source.endsWith(".d.ts") || path.basename(source).startsWith("__mge")) continue;
    try { load(source); } catch (error) {
      problems.push(`${path.relative(root, source)}: ${error && error.name || "Error"}: ${
        String(error && error.message).split("\n")[0]}`);
    }
  }
  for (const problem of problems) console.log(`module ${problem}`);
  if (problems.length) process.exit(3);
}
"""
DRIVER_SOURCE = (
    _DRIVER_SOURCE.replace("__OUT__", OUT_DIR)
    .replace("__DRIVER__", DRIVER)
    .replace("__SUFFIXES__", json.dumps(list(SOURCE_SUFFIXES)))
)


def node_types_root(typescript: Path) -> Path | None:
    """``@types`` beside the compiler, when ``@types/node`` was installed with it."""
    types = typescript.parents[2] / "@types"
    return types if (types / "node" / "index.d.ts").is_file() else None


def uses_node(files: Mapping[str, str]) -> bool:
    """Node's types are loaded only for programs that use Node (they cost a second a check)."""
    for path, text in files.items():
        if posixpath.basename(path) == "package.json" and "@types/node" in text:
            return True
        if path.endswith(SOURCE_SUFFIXES) and _USES_NODE.search(text):
            return True
    return False


def project_argv(
    node: str,
    heap_mb: int,
    typescript: Path,
    files: Mapping[str, str],
    entry: str | None,
    *,
    sources: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """The staged files and the command that checks them (and runs ``entry`` when given).

    ``sources`` are what decides whether the program uses Node (default: ``files``); a check
    script's own ``require("node:assert/strict")`` must not pull Node's types into every check.
    """
    types = (
        node_types_root(typescript) if uses_node(files if sources is None else sources) else None
    )
    staged = {**files, DRIVER: DRIVER_SOURCE}
    if types is None:
        staged[ENVIRONMENT] = ENVIRONMENT_DECLARATIONS
    argv = [node, f"--max-old-space-size={heap_mb}", DRIVER, str(typescript), str(types or "")]
    return staged, argv + ([entry] if entry else [])


def has_project_sources(files: Mapping[str, str]) -> bool:
    return any(
        path.endswith(SOURCE_SUFFIXES) and not posixpath.basename(path).startswith("__mge")
        for path in files
    )
