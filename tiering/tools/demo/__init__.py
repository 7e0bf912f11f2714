"""``tiering demo``: a synthetic bank (``bank``, ``rhythm``) with its managers (``directory``),
fed into the topics and shown live (``run``, ``screen``)."""

from tiering.tools.demo.run import DemoNotReadyError, DemoRun, run_demo

__all__ = ["DemoNotReadyError", "DemoRun", "run_demo"]
