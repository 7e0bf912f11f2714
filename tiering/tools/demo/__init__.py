"""``tiering demo``: a synthetic bank (``bank``), fed into the topics and shown live (``run``,
``screen``)."""

from tiering.tools.demo.run import DemoRun, run_demo

__all__ = ["DemoRun", "run_demo"]
