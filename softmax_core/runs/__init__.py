"""Where runs live and train: the run store, the job runner, the workers and the executors that host them."""
