"""The Chinese front door keeps up with the English one.

* README.zh-CN.md is README.md in Chinese: the same sections in the same
  order, each with the same code blocks (the set-up commands included, byte
  for byte) and the same numbers; the tables of measured numbers are copied
  verbatim, and every other table has the same shape and the same numbers
  cell for cell;
* the two READMEs link to each other just under their titles, and every link
  of README.zh-CN.md reaches a file or heading of the repository;
* docs/glossary.md (术语表) covers the terms the notebooks use: each row names
  the notebook where its term first appears, and every notebook 01-09 links
  to it near its top and ends with its Summary and Exercises in Chinese.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
README_ZH = ROOT / "README.zh-CN.md"
GLOSSARY = ROOT / "docs" / "glossary.md"
NOTEBOOKS = ROOT / "notebooks"
# The notebooks that follow the source texts, by their jupytext .py half.
TAUGHT = sorted(NOTEBOOKS.glob("0[1-9]_*.py"))

FENCE = re.compile(r"^```[^\n]*\n.*?^```$", re.S | re.M)
NUMBER = re.compile(r"\d(?:[\d,.]*\d)?")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CJK = re.compile(r"[\u3400-\u9fff]")
# A bullet or a numbered item of a Markdown list, with its indented lines.
ITEM = re.compile(r"^(\*|\d+\.) (.*(?:\n +\S.*)*)", re.M)
# Sections whose tables are measurements: copied, never translated.
MEASURED = ("Models", "Speed", "Notebooks")
# The terms the glossary must have, by one of their English forms.
REQUIRED = (
    "perplexity",
    "smoothing",
    "Kneser-Ney",
    "maximum likelihood",
    "n-gram",
    "hidden state",
    "gating",
    "vanishing gradient",
    "teacher forcing",
    "beam search",
    "greedy",
    "attention",
    "causal mask",
    "multi-head attention",
    "positional encoding",
    "layer normalisation",
    "residual connection",
    "weight tying",
    "masked language model",
    "tokenizer",
    "vocabulary",
    "embedding",
    "logits",
    "softmax",
    "cross-entropy",
    "learning-rate schedule",
    "warm-up",
    "weight decay",
    "gradient clipping",
    "truncated backpropagation through time",
    "early stopping",
    "XLA",
    "BLEU",
)


# --- reading Markdown ----------------------------------------------------------


def sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) of every second-level section; the preamble first.

    A ``## `` line inside a fenced code block is not a heading.
    """
    parts, heading, lines, fenced = [], "", [], False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        if line.startswith("## ") and not fenced:
            parts.append((heading, "\n".join(lines)))
            heading, lines = line[3:].strip(), []
        else:
            lines.append(line)
    parts.append((heading, "\n".join(lines)))
    return parts


def code_blocks(text: str) -> list[str]:
    return FENCE.findall(text)


def tables(text: str) -> list[list[list[str]]]:
    """Every table outside code blocks, as rows of stripped cells."""
    found, rows = [], []
    for line in FENCE.sub("", text).split("\n") + [""]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            found.append(rows)
            rows = []
    return found


def numbers(text: str) -> list[str]:
    return sorted(NUMBER.findall(text))


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading (Chinese characters are kept)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(text: str) -> set[str]:
    return {
        anchor(m.group(1))
        for m in re.finditer(r"^#{1,6} (.+)$", FENCE.sub("", text), re.M)
    }


def line_under_title(text: str) -> str:
    lines = [line for line in text.split("\n") if line.strip()]
    assert lines[0].startswith("# "), lines[0]
    return lines[1]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pair():
    """The English and Chinese sections, side by side."""
    english, chinese = sections(read(README)), sections(read(README_ZH))
    assert len(chinese) == len(english), (
        f"README.zh-CN.md has {len(chinese) - 1} second-level sections, "
        f"README.md {len(english) - 1}"
    )
    return list(zip(english, chinese, strict=True))


def _english(pair, title):
    for (heading, body), chinese in pair:
        if heading == title:
            return body, chinese
    raise AssertionError(f"README.md has no section {title!r}")


# --- README.zh-CN.md -----------------------------------------------------------


def test_same_number_of_second_level_sections(pair):
    assert len(pair) > 5
    assert all(zh_heading for (_, _), (zh_heading, _) in pair[1:])


def test_set_up_commands_are_the_same():
    english, chinese = sections(read(README)), sections(read(README_ZH))
    index = [heading for heading, _ in english].index("Set up on a fresh machine")
    en_commands = re.findall(r"```bash\n(.*?)```", english[index][1], re.S)
    zh_commands = re.findall(r"```bash\n(.*?)```", chinese[index][1], re.S)
    assert len(en_commands) == 2, en_commands
    assert zh_commands == en_commands


def test_every_code_block_is_in_the_same_section(pair):
    for (heading, body), (zh_heading, zh_body) in pair:
        assert code_blocks(zh_body) == code_blocks(body), (
            f"the code of '## {heading}' differs in '## {zh_heading}'"
        )


def test_every_code_block_of_the_readme_is_in_the_chinese_one():
    chinese = read(README_ZH)
    blocks = code_blocks(read(README))
    assert len(blocks) >= 2
    missing = [block.split("\n")[1] for block in blocks if block not in chinese]
    assert not missing, f"code blocks missing from README.zh-CN.md: {missing}"


def test_every_number_is_kept(pair):
    """A translation keeps every figure: the same numbers in each section."""
    for (heading, body), (zh_heading, zh_body) in pair:
        en, zh = numbers(FENCE.sub("", body)), numbers(FENCE.sub("", zh_body))
        assert zh == en, (
            f"'## {zh_heading}' lacks {sorted(set(en) - set(zh))} "
            f"and adds {sorted(set(zh) - set(en))} ('## {heading}')"
        )


def test_tables_have_the_same_shape_and_numbers(pair):
    for (heading, body), (_, zh_body) in pair:
        en_tables, zh_tables = tables(body), tables(zh_body)
        assert len(zh_tables) == len(en_tables), heading
        for en_table, zh_table in zip(en_tables, zh_tables, strict=True):
            assert [len(row) for row in zh_table] == [len(row) for row in en_table]
            for en_row, zh_row in zip(en_table, zh_table, strict=True):
                for en_cell, zh_cell in zip(en_row, zh_row, strict=True):
                    assert numbers(zh_cell) == numbers(en_cell), (en_cell, zh_cell)


@pytest.mark.parametrize("title", MEASURED)
def test_measured_tables_are_copied_verbatim(pair, title):
    body, (_, zh_body) = _english(pair, title)
    assert tables(body), title
    assert tables(zh_body) == tables(body)


def test_the_readmes_link_to_each_other_under_their_titles():
    assert "(README.zh-CN.md)" in line_under_title(read(README))
    assert "(README.md)" in line_under_title(read(README_ZH))


def test_every_link_of_the_chinese_readme_resolves():
    text = read(README_ZH)
    links = LINK.findall(FENCE.sub("", text))
    assert "README.md" in links and "docs/glossary.md" in links
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue  # a web address
        path, _, fragment = link.partition("#")
        target = (ROOT / path).resolve() if path else README_ZH
        assert target.is_relative_to(ROOT), f"{link} points outside the repository"
        assert target.exists(), f"README.zh-CN.md links to a missing file: {link}"
        if fragment:
            assert fragment in headings(read(target)), f"no heading for {link}"


def test_anchor_follows_github():
    assert anchor("Set up on a fresh machine") == "set-up-on-a-fresh-machine"
    assert anchor("在多个设备或集群上训练") == "在多个设备或集群上训练"
    assert anchor("zoo 防范的问题") == "zoo-防范的问题"


# --- the glossary and the notebooks --------------------------------------------


def glossary_rows() -> list[list[str]]:
    (table,) = tables(read(GLOSSARY))
    assert table[0][:2] == ["English", "中文"], table[0]
    return table[2:]


def english_forms(row) -> list[str]:
    return [form.strip().strip("`") for form in row[0].split(" / ")]


def chinese_forms(row) -> list[str]:
    """The Chinese names of a row, of two characters or more (one character,
    such as 值 or 门, is part of too many other words)."""
    plain = re.sub(r"（[^）]*）|\([^)]*\)", "", row[1])
    forms = [form.strip() for form in plain.split(" / ")]
    return [form for form in forms if len(CJK.findall(form)) >= 2]


def markdown(path: Path) -> str:
    """A notebook's Markdown cells, read from its jupytext .py half."""
    cells = jupytext.read(path).cells
    return "\n".join(c.source for c in cells if c.cell_type == "markdown")


def prose(path: Path) -> str:
    """A notebook's Markdown as one line, without emphasis marks."""
    return re.sub(r"\s+", " ", markdown(path).replace("*", ""))


def mentions(text: str, form: str) -> bool:
    """Whether `text` uses a term: a Chinese one anywhere; an English one as a
    word of its own (a plural too), not inside an identifier or a compound."""
    if CJK.search(form):
        return form in text
    word = rf"(?<![\w-]){re.escape(form)}(?:s|es)?(?![\w-])"
    return re.search(word, text, re.IGNORECASE) is not None


def first_notebook(row, texts: dict[str, str]) -> str | None:
    """The first notebook that uses a row's term: its headword (the first
    English form; the others are spellings beside it) or a Chinese name."""
    forms = english_forms(row)[:1] + chinese_forms(row)
    for stem, text in texts.items():  # in notebook order
        if any(mentions(text, form) for form in forms):
            return stem
    return None


def named_notebook(row) -> str:
    links = LINK.findall(row[-1])
    assert len(links) == 1, f"{row[0]}: name one notebook, as a link"
    return links[0]


def test_mentions_reads_words_not_identifiers():
    assert mentions("next-token **logits** here", "logit")
    assert not mentions("calls `next_token_logits`", "logit")
    assert mentions("masked (causal) self-attention", "self-attention")
    assert not mentions("masked (causal) self-attention", "attention")
    assert mentions("LSTM使用门控机制", "门控")


def test_glossary_covers_the_required_terms():
    forms = {form.lower() for row in glossary_rows() for form in english_forms(row)}
    missing = [term for term in REQUIRED if term.lower() not in forms]
    assert not missing, f"docs/glossary.md lacks {missing}"


def test_every_glossary_row_is_complete():
    rows = glossary_rows()
    assert len(rows) >= len(REQUIRED)
    english = [row[0].lower() for row in rows]
    assert len(set(english)) == len(english), "a term is in the glossary twice"
    for row in rows:
        assert len(row) == 4 and all(row), row
        assert CJK.search(row[1]) and CJK.search(row[2]), row[0]


def test_every_glossary_row_names_the_notebook_where_its_term_first_appears():
    notebooks = sorted(NOTEBOOKS.glob("*.py"))
    texts = {path.stem: prose(path) for path in notebooks}
    wrong = []
    for row in glossary_rows():
        link = named_notebook(row)
        target = (GLOSSARY.parent / link).resolve()
        assert target.exists(), f"{row[0]}: {link} does not exist"
        assert target.with_suffix(".py").exists(), f"{row[0]}: {link} has no .py"
        first = first_notebook(row, texts)
        if first != target.stem:
            wrong.append(f"{row[0]}: {target.stem}, but first in {first}")
    assert not wrong, wrong


@pytest.mark.parametrize("path", TAUGHT, ids=lambda p: p.stem)
def test_notebook_links_to_the_glossary_near_its_top(path):
    cells = jupytext.read(path).cells
    top = next(c for c in cells if c.cell_type == "markdown")
    assert "](../docs/glossary.md)" in top.source, f"{path.name}: no glossary link"
    assert (path.parent / "../docs/glossary.md").resolve() == GLOSSARY


def _section_of(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : None if end == -1 else end]


@pytest.mark.parametrize("path", TAUGHT, ids=lambda p: p.stem)
def test_notebook_ends_with_summary_and_exercises_in_chinese(path):
    """After the English Summary and Exercises come 小结 and 练习: the same
    bullets and the same numbered exercises, each in Chinese."""
    text = markdown(path)
    for english, chinese in (("Summary", "小结"), ("Exercises", "练习")):
        en, zh = _section_of(text, english), _section_of(text, chinese)
        assert text.index(zh) > text.index(en), path.name
        en_items, zh_items = (ITEM.findall(section) for section in (en, zh))
        assert [m for m, _ in zh_items] == [m for m, _ in en_items] != [], path.name
        assert all(CJK.search(item) for _, item in zh_items), path.name
