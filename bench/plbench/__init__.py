"""The pieces of bench/run (see its docstring)."""
