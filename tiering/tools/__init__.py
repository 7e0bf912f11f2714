"""What people run besides the worker: the demo bank, the KPI report, the opening-balance
import."""
