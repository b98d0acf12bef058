"""Getting code out of model answers: one block, several, prose around it, none at all."""

from __future__ import annotations

import pytest

from mge_pipeline.generation import extract_code
from mge_pipeline_tests.factories import make_atom

ATOM = make_atom(id="add")
CODE = "def add(a: int, b: int) -> int:\n    return a + b"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(f"```python\n{CODE}\n```", CODE, id="one-fenced-block"),
        pytest.param(
            f"Here you go:\n\n```py\n{CODE}\n```\nHope it helps!", CODE, id="prose-around"
        ),
        pytest.param(CODE, CODE, id="bare-code"),
        pytest.param(
            f"```bash\npip install nothing\n```\n```python\n{CODE}\n```",
            CODE,
            id="other-language-block",
        ),
        pytest.param(
            f"```python\nadd(1, 2)\n```\nThe function:\n```python\n{CODE}\n```",
            CODE,
            id="picks-the-defining-block",
        ),
        pytest.param(f"```python\n{CODE}\n", CODE, id="unterminated-fence"),
    ],
)
def test_extracts_the_right_block(answer: str, expected: str) -> None:
    result = extract_code(answer, ATOM)
    assert result.problem is None
    assert result.code == expected + "\n"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        pytest.param("", "the answer is empty", id="empty"),
        pytest.param("I think you should add the numbers.", "no code block", id="prose-only"),
        pytest.param(
            "```python\nx = 1\n```\n```python\ny = 2\n```",
            "2 code blocks and none defines `add`",
            id="several-blocks-none-defining",
        ),
    ],
)
def test_reports_why_no_code(answer: str, problem: str) -> None:
    result = extract_code(answer, ATOM)
    assert result.code is None
    assert problem in (result.problem or "")
