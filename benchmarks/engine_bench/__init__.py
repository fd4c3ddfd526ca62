"""The parts of benchmarks/engine.py (the scene-engine benchmark; its docstring says what it measures)."""
