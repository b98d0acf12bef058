"""Imports merged by syntax: one statement per module and name, identical bindings once,
conflicting bindings kept (so the compiler and the task level still see them)."""

from __future__ import annotations

from mge_pipeline.domain import Language
from mge_pipeline.execution.assembly import split_imports
from mge_pipeline.execution.imports import merge_python_imports, merge_script_imports


def test_typescript_imports_merge_per_module_and_name() -> None:
    merged = merge_script_imports(
        [
            "import { a, b } from './x';",
            "import { a } from './x';\nimport type { T } from './t';",
            "import { T, U as V } from './t';",
            "import D from 'd';\nimport * as ns from 'd';",
            "import D from 'd';",
            "import './side';",
        ],
        Language.TYPESCRIPT,
    )
    assert merged.splitlines() == [
        'import { a, b } from "./x";',
        'import { T, U as V } from "./t";',
        'import D from "d";',
        'import * as ns from "d";',
        'import "./side";',
    ]


def test_type_only_imports_stay_type_only() -> None:
    merged = merge_script_imports(
        ["import type { A } from './a';", "import { type B } from './a';"], Language.TYPESCRIPT
    )
    assert merged == 'import type { A, B } from "./a";'


def test_commonjs_requires_merge_and_conflicts_stay_visible() -> None:
    merged = merge_script_imports(
        [
            "const { x, y: z } = require('m');",
            "const { x } = require('m');",
            "const fs = require('fs');\nconst fs = require('fs');",
            "import { value } from './one';",
            "import { value } from './two';",
        ],
        Language.JAVASCRIPT,
    )
    assert merged.splitlines() == [
        'const { x, y: z } = require("m");',
        'const fs = require("fs");',
        'import { value } from "./one";',
        'import { value } from "./two";',
    ]


def test_python_from_imports_merge_future_first() -> None:
    merged = merge_python_imports(
        [
            "from a import b",
            "import os",
            "from a import b, c",
            "from __future__ import annotations",
            "import os",
            "from json import loads",
            "from pickle import loads",
        ]
    )
    assert merged.splitlines() == [
        "from __future__ import annotations",
        "from a import b, c",
        "import os",
        "from json import loads",
        "from pickle import loads",
    ]


def test_script_imports_are_hoisted_by_syntax() -> None:
    code = (
        "import { a } from './a';\nconst b = require('b');\n\nfunction f() {\n  return a(b);\n}\n"
    )
    hoisted, body = split_imports(code, Language.TYPESCRIPT)
    assert hoisted == ["import { a } from './a';", "const b = require('b');"]
    assert body == "function f() {\n  return a(b);\n}"
