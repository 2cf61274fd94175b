import csv
import io

import pytest

from web.csv_export import safe_cell, to_csv


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://127.0.0.1/x","click")', "@SUM(1+1)", "+1", "-2+3"]
)
def test_formula_text_is_written_as_text(text: str) -> None:
    rows = list(csv.reader(io.StringIO(to_csv(["comment"], [[text]]))))

    assert rows == [["comment"], ["'" + text]]


def test_numbers_and_plain_text_are_unchanged() -> None:
    assert safe_cell(-3) == -3
    assert safe_cell("Helped a lot") == "Helped a lot"
    assert safe_cell(None) == ""
