"""A small stack whose class docstring shows it in use.

Used by the atomization tests: the class's examples call its methods, which are atoms of later
waves, so they can only run once the whole class is rebuilt — at the task level. Nothing else
tests ``peek``: only the class's doctest exercises it.
"""

from __future__ import annotations


class Stack:
    """Last in, first out.

    >>> s = Stack()
    >>> s.push(1)
    >>> s.push(2)
    >>> s.peek()
    2
    >>> s.pop()
    2
    >>> len(s)
    1
    """

    def __init__(self) -> None:
        self.items: list[int] = []

    def push(self, item: int) -> None:
        self.items.append(item)

    def pop(self) -> int:
        return self.items.pop()

    def peek(self) -> int:
        return self.items[-1]

    def __len__(self) -> int:
        return len(self.items)
