"""A page's elements as a flat list in document order, each knowing its ancestors: enough to ask what is where."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    ancestors: tuple[Element, ...]
    text: list[str] = field(default_factory=list)  # the text directly inside it and in its descendants

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def within(self, other: Element) -> bool:
        return any(a is other for a in self.ancestors)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, tuple(self.open))
        self.elements.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}, tuple(self.open)))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, -1, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        for element in self.open:
            element.text.append(data)


@dataclass
class Dom:
    elements: list[Element]

    @classmethod
    def parse(cls, text: str) -> Dom:
        parser = _Parser()
        parser.feed(text)
        parser.close()
        return cls(parser.elements)

    def select(
        self, tag: str | None = None, *classes: str, inside: Element | None = None, **attrs: str
    ) -> list[Element]:
        return [
            e
            for e in self.elements
            if (tag is None or e.tag == tag)
            and set(classes) <= e.classes
            and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
            and (inside is None or e.within(inside))
        ]

    def one(self, tag: str | None = None, *classes: str, **attrs: str) -> Element:
        found = self.select(tag, *classes, **attrs)
        assert len(found) == 1, f"{len(found)} elements {tag} {classes} {attrs}"
        return found[0]

    def position(self, element: Element) -> int:
        return next(i for i, e in enumerate(self.elements) if e is element)

    def text(self) -> str:
        body = self.select("body")
        return "".join(body[0].text) if body else ""
