"""The synthetic demo data set (a development tool, not part of the pipeline package): national
files in the exact DfE formats and the demo LA's local extracts, deterministic from a seed."""
