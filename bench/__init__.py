"""Benchmarks: figures for a busy community, each beside a baseline measured in the same run.

`laurels bench` or `python -m bench`; `--smoke` runs tiny sizes in seconds. Benchmarks
report: nothing here passes or fails on a timing.
"""
