"""The line every benchmark prints per figure, for `Scripts/bench all` to collect:

    BENCH-RESULT<TAB>name<TAB>figure<TAB>baseline<TAB>ratio<TAB>target<TAB>status

`status` is `pass` or `fail` against the target, or `info` for a figure that has no target.
Fields hold no tab or newline; `-` stands for none.
"""

PREFIX = "BENCH-RESULT"
FIELDS = ("name", "figure", "baseline", "ratio", "target", "status")


def result_line(name, figure, baseline, ratio, target, passed):
    """One result line; `passed` is True, False, or None for a figure without a target."""
    status = "info" if passed is None else ("pass" if passed else "fail")
    cells = [str(cell).replace("\t", " ").replace("\n", " ") or "-" for cell in (name, figure, baseline, ratio, target)]
    return "\t".join([PREFIX, *cells, status])


def parse(line):
    """The fields of a result line as a dict, or None when `line` is not one."""
    cells = line.rstrip("\n").split("\t")
    if len(cells) != len(FIELDS) + 1 or cells[0] != PREFIX or cells[-1] not in ("pass", "fail", "info"):
        return None
    return dict(zip(FIELDS, cells[1:]))
