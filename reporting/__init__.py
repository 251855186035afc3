"""Run reports: one self-contained HTML page (and PNG figures) that says how every model of a run
did, where it goes wrong and whether it learned more than the majority class.

    python report.py --run-dir runs/demo        ->  runs/demo/report/index.html
"""
from reporting.build import build_report

__all__ = ["build_report"]
