#!/usr/bin/env python3
"""Reads every table `rct export csv` wrote with pandas' defaults and checks
that the data dictionary describes each column.

    python3 tools/interop/check_csv.py DIR
"""
import pathlib
import sys

import pandas as pd


def main(folder: str) -> int:
    d = pathlib.Path(folder)
    dictionary = pd.read_csv(d / "dictionary.csv")
    problems = 0
    for f in sorted(d.glob("*.csv")):
        table = pd.read_csv(f)  # no options: must read as is
        print(f"{f.name}: {len(table)} rows x {len(table.columns)} columns")
        if f.name == "dictionary.csv":
            continue
        described = set(dictionary.loc[dictionary["table"] == f.name, "column"])
        missing = [c for c in table.columns if c not in described]
        if missing:
            problems += 1
            print(f"  columns missing from dictionary.csv: {missing}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
