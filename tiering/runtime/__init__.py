"""The worker: the Faust app (``app``), its agents as declarations (``agents``), the batch cycle
that orders every batch's effects (``checkpoint``), and what they run on: the producer, the
state tables, the services, the pages, and Faust's internals behind one door."""
